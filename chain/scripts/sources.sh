#!/usr/bin/env bash
# The chain sources the runtime artifacts are built from, one path a line relative to the repo
# root, sorted. Test-only files (tests.rs, mock.rs) are left out: they do not change the wasm.
# Sourced by build-runtime.sh and check-artifacts.sh.
dml_chain_sources() {
  local root=$1
  (cd "$root" && {
    ls chain/Cargo.toml chain/Cargo.lock
    find chain/pallets chain/runtime -type f \( -name Cargo.toml -o -name '*.rs' \) \
      ! -name tests.rs ! -name mock.rs ! -path '*/target/*'
    ls chain/scripts/build-wasm.sh chain/scripts/build-runtime.sh chain/scripts/sources.sh \
      chain/node/build-spec.mjs
  } | LC_ALL=C sort)
}
DML_ARTIFACTS=(chain/artifacts/decentralml_runtime.wasm chain/artifacts/chain-spec.raw.json chain/artifacts/chain-spec.plain.json)
