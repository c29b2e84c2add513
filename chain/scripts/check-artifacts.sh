#!/usr/bin/env bash
# Fail when the committed runtime artifacts do not match the chain sources (CI; never rebuilds).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/chain/scripts/sources.sh"
cd "$root"
recorded=chain/artifacts/SOURCES.sha256
fix="rebuild them with 'make runtime' and commit chain/artifacts/"
if [ ! -f "$recorded" ]; then
  echo "check-artifacts: $recorded is missing: $fix" >&2; exit 1
fi
expected=$(grep -v '^#' "$recorded" | grep -v '  chain/artifacts/' | awk '{print $2}')
actual=$(dml_chain_sources "$root")
if [ "$expected" != "$actual" ]; then
  echo "check-artifacts: the set of chain source files changed since the artifacts were built:" >&2
  diff <(echo "$expected") <(echo "$actual") >&2 || true
  echo "$fix" >&2; exit 1
fi
if ! out=$(grep -v '^#' "$recorded" | sha256sum -c --quiet 2>&1); then
  echo "check-artifacts: the runtime artifacts are stale or were edited:" >&2
  echo "$out" | sed 's/^/  /' >&2
  echo "$fix" >&2; exit 1
fi
echo "check-artifacts: chain/artifacts match the chain sources"
