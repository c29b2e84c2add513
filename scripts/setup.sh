#!/usr/bin/env bash
# Install everything DecentralML needs on a fresh Debian 12 machine, idempotently:
# system packages (Rust-to-wasm toolchain, lld, protoc, Chromium), uv and the Python environment,
# the chain's Node.js tools (Chopsticks), Kubo, and our node. A second run takes seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# 1. System packages. rustc-web/cargo-web/rust-web-src give a rustc that builds wasm32
#    (rustup cannot download a wasm std here); lld-22 is its linker; protobuf-compiler gives
#    the node's networking crates protoc; chromium drives the browser tests; docker.io,
#    docker-compose and debootstrap build and run the compose stack's images locally
#    (docker/build-images.sh; the tests run `docker-compose config`).
apt_pkgs=(rustc-web cargo-web rust-web-src lld-22 protobuf-compiler chromium
          docker.io docker-compose debootstrap)
missing=()
for p in "${apt_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  say "Installing system packages: ${missing[*]}"
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq "${missing[@]}"
fi

# 2. Native Rust (pallet tests) comes from rustup, which the machine has.
command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup first" >&2; exit 1; }

# 3. uv and the Python environment (Python 3.11, TensorFlow 2.14, TFF 0.87, ...).
if ! command -v uv >/dev/null; then
  say "Installing uv"
  python3 -m pip install --quiet uv || python3 -m pip install --quiet --user uv
  export PATH="$HOME/.local/bin:$PATH"
fi
say "Python environment (uv sync)"
uv sync --frozen --quiet

# 4. Node.js tools of the chain: Chopsticks and its executor.
say "Chain tools (npm ci in chain/node)"
(cd chain/node && npm ci --no-fund --no-audit --loglevel=error)

# 5. Kubo (IPFS), built from its Go module and cached under ~/.cache/decentralml/bin.
say "Kubo"
bash scripts/install-kubo.sh

# 6. Our node (chain/node), built in release from crates.io and cached under
#    ~/.cache/decentralml/bin. The cold build is the long step of set-up (see README).
say "DecentralML node"
bash chain/scripts/build-node.sh

say "Done. Run the tests with: make test    Run the demo with: uv run decentralml demo"
