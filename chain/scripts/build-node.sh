#!/usr/bin/env bash
# Build the DecentralML node (chain/node) with rustup's cargo and its `node` profile
# (chain/Cargo.toml), and cache the binary as ~/.cache/decentralml/bin/decentralml-node.
# Idempotent: skips the build when the cached binary was built from the current node sources.
# (The node does not embed the runtime: a new wasm needs no rebuild.)
#   DML_NODE_FORCE=1    rebuild even when fresh
# A cold build compiles ~900 crates (see README: tens of minutes on 2 cores); later ones reuse
# the target dir ($CARGO_TARGET_DIR, default ~/.cache/decentralml/target-native).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin_dir=${DML_BIN_DIR:-$HOME/.cache/decentralml/bin}
bin=$bin_dir/decentralml-node
stamp=$bin_dir/decentralml-node.sources
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/decentralml/target-native}

node_sources() {
  (cd "$root" && {
    ls chain/Cargo.toml chain/Cargo.lock chain/node/Cargo.toml
    find chain/node/src -type f -name '*.rs'
  } | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)
}

want=$(node_sources)
if [ -z "${DML_NODE_FORCE:-}" ] && [ -x "$bin" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "build-node: $bin is up to date"
  exit 0
fi
command -v protoc >/dev/null || {
  echo "build-node: protoc not found (sc-network compiles .proto files): apt-get install protobuf-compiler, or run make setup" >&2
  exit 1
}
# rustup's cargo (native), not Debian's cargo-web that build-wasm.sh uses.
cargo=${DML_NATIVE_CARGO:-$HOME/.cargo/bin/cargo}
[ -x "$cargo" ] || cargo=cargo
start=$(date +%s)
echo "build-node: building chain/node (profile node; a cold build takes tens of minutes)"
(cd "$root/chain" && "$cargo" build --profile node --locked -p decentralml-node)
mkdir -p "$bin_dir"
install -m 0755 "$CARGO_TARGET_DIR/node/decentralml-node" "$bin.tmp"
mv -f "$bin.tmp" "$bin"
echo "$want" > "$stamp"
echo "build-node: $bin built in $(( $(date +%s) - start ))s"
