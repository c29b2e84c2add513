#!/usr/bin/env bash
# The chain sources the artifacts are built from, one path a line relative to the repo root,
# sorted: the runtime's (the wasm) and the node's (it writes the dev and local chain specs).
# Test-only files (tests.rs, mock.rs, a pallet's src/tests/) are left out: they do not change
# the artifacts.
# Sourced by build-runtime.sh and check-artifacts.sh.
dml_chain_sources() {
  local root=$1
  (cd "$root" && {
    ls chain/Cargo.toml chain/Cargo.lock
    find chain/pallets chain/runtime chain/node -type f \( -name Cargo.toml -o -name '*.rs' \) \
      ! -name tests.rs ! -name mock.rs ! -path '*/src/tests/*' ! -path '*/target/*' ! -path '*/node_modules/*'
    ls chain/scripts/build-wasm.sh chain/scripts/build-runtime.sh chain/scripts/sources.sh \
      chain/scripts/build-node.sh chain/node/build-spec.mjs decentralml_client/services/chainspec.py
  } | LC_ALL=C sort)
}
DML_ARTIFACTS=(chain/artifacts/decentralml_runtime.wasm chain/artifacts/chain-spec.raw.json
  chain/artifacts/chain-spec.plain.json chain/artifacts/chain-spec-dev.raw.json
  chain/artifacts/chain-spec-local.raw.json)
