#!/usr/bin/env bash
# `make runtime`: build the runtime wasm, write the chain specs from it (Chopsticks' and our
# node's), and record the digest of the sources they came from. Output in chain/artifacts/:
#   decentralml_runtime.wasm   the runtime
#   chain-spec.raw.json        raw genesis (with :code) for Chopsticks --genesis
#   chain-spec.plain.json      runtimeGenesis {code, patch} for polkadot-omni-node --chain ... --dev
#   chain-spec-dev.raw.json    our node's `dev` spec (authority Alice), `build-spec --raw`
#   chain-spec-local.raw.json  our node's `local` spec (authorities Alice, Bob, Charlie)
#   SOURCES.sha256             sha256 of every source file and artifact (check-artifacts.sh)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/chain/scripts/sources.sh"
target=${DML_WASM_TARGET_DIR:-$HOME/.cache/decentralml/target-wasm}
start=$(date +%s)
bash "$root/chain/scripts/build-wasm.sh"
mkdir -p "$root/chain/artifacts"
cp "$target/wasm32v1-none/release/decentralml_runtime.wasm" "$root/chain/artifacts/decentralml_runtime.wasm"
if [ ! -d "$root/chain/node/node_modules/@acala-network/chopsticks-core" ]; then
  (cd "$root/chain/node" && npm ci --no-audit --no-fund --ignore-scripts)
fi
(cd "$root/chain/node" && node build-spec.mjs ../artifacts/decentralml_runtime.wasm \
  ../artifacts/chain-spec.raw.json ../artifacts/chain-spec.plain.json development 2>&1 \
  | grep -v -e 'has multiple versions' -e 'conflicting packages' -e '^\s*\(esm\|cjs\) ' -e 'Either remove' || true)
test -s "$root/chain/artifacts/chain-spec.raw.json"
# The node (built if missing or stale; it does not embed the runtime) writes its specs from the
# wasm just copied.
bash "$root/chain/scripts/build-node.sh"
node_bin=${DML_BIN_DIR:-$HOME/.cache/decentralml/bin}/decentralml-node
for spec in dev local; do
  DML_RUNTIME_WASM="$root/chain/artifacts/decentralml_runtime.wasm" "$node_bin" build-spec --chain "$spec" --raw --disable-default-bootnode 2>/dev/null \
    > "$root/chain/artifacts/chain-spec-$spec.raw.json.tmp"
  mv "$root/chain/artifacts/chain-spec-$spec.raw.json.tmp" "$root/chain/artifacts/chain-spec-$spec.raw.json"
done
# The local network's authorities share a machine or a data centre: 2 s slots (the runtime's
# default, 6 s, is for authorities across the internet). docs/chain.md, "Slots".
PYTHONPATH="$root" python3 -m decentralml_client.services.chainspec set-slot \
  "$root/chain/artifacts/chain-spec-local.raw.json" 2000
cd "$root"
{
  echo "# Sources the runtime artifacts were built from, then the artifacts (sha256sum format)."
  echo "# Written by chain/scripts/build-runtime.sh; checked by chain/scripts/check-artifacts.sh."
  dml_chain_sources "$root" | xargs sha256sum
  sha256sum "${DML_ARTIFACTS[@]}"
} > chain/artifacts/SOURCES.sha256
echo "runtime artifacts written to chain/artifacts/ in $(( $(date +%s) - start ))s"
