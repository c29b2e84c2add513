#!/usr/bin/env bash
# Build the runtime to WebAssembly with Debian's rustc-web (it ships the wasm32 std sources that
# rustup cannot download here). Output: $CARGO_TARGET_DIR/wasm32v1-none/release/decentralml_runtime.wasm
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${DML_WASM_TARGET_DIR:-$HOME/.cache/decentralml/target-wasm}
export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
# What substrate-wasm-builder would pass: the runtime cfg, an exported heap base and table,
# and memory imported from the executor. (Changing these flags rebuilds every dependency.)
export RUSTFLAGS="--cfg substrate_runtime -C link-arg=--export-table -C link-arg=--export=__heap_base -C link-arg=--import-memory"
cd "$here"
# The host functions (sp-io) stay undefined in the runtime and become imports of "env": that
# link flag is given to the final crate only (`cargo rustc`), so the dependencies' cache holds.
/usr/bin/cargo rustc --release --target wasm32v1-none -Z build-std=core,alloc \
  -p decentralml-runtime --no-default-features --crate-type cdylib "$@" -- -C link-arg=--allow-undefined
