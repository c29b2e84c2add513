#!/usr/bin/env bash
# Install a pinned Kubo (go-ipfs) binary for DecentralML's tests and dev network.
#
# Kubo is not packaged by Debian; it is a Go module, so it is built from the Go module
# proxy with `go install`. The binary lands in $DML_BIN_DIR (default
# $HOME/.cache/decentralml/bin) and the Go build/module caches live next to it, so a
# second run is instant: nothing is done when the binary already reports the pinned
# version.
#
# Usage: scripts/install-kubo.sh            # install (or confirm) the pinned version
#        KUBO_VERSION=v0.42.0 scripts/install-kubo.sh
# Prints the path of the binary on its last line.
set -euo pipefail

KUBO_VERSION="${KUBO_VERSION:-v0.42.0}"
CACHE_ROOT="${DML_CACHE_DIR:-$HOME/.cache/decentralml}"
BIN_DIR="${DML_BIN_DIR:-$CACHE_ROOT/bin}"
BIN="$BIN_DIR/ipfs"
WANT="${KUBO_VERSION#v}"

log() { echo "install-kubo: $*" >&2; }

if [[ -x "$BIN" ]]; then
    HAVE="$("$BIN" version --number 2>/dev/null || true)"
    if [[ "$HAVE" == "$WANT" ]]; then
        log "Kubo $WANT already installed at $BIN"
        echo "$BIN"
        exit 0
    fi
    log "found Kubo '${HAVE:-unknown}' at $BIN, want $WANT: rebuilding"
fi

if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
    export PATH="/usr/local/go/bin:$PATH"
fi
if ! command -v go >/dev/null 2>&1; then
    log "error: 'go' is not on PATH. Kubo is built from source with Go >= 1.26.4;"
    log "install Go (e.g. the Debian/upstream toolchain) and re-run this script."
    exit 1
fi

mkdir -p "$BIN_DIR" "$CACHE_ROOT/go-build" "$CACHE_ROOT/go-mod"
export GOBIN="$BIN_DIR"
export GOCACHE="${GOCACHE:-$CACHE_ROOT/go-build}"
export GOMODCACHE="${GOMODCACHE:-$CACHE_ROOT/go-mod}"
# Only the module proxy is reachable: never try to download another Go toolchain,
# never fall back to fetching from VCS hosts directly.
export GOTOOLCHAIN=local
export GOPROXY="${GOPROXY:-https://proxy.golang.org}"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false -trimpath -modcacherw"
export CGO_ENABLED="${CGO_ENABLED:-0}"

log "building Kubo $KUBO_VERSION with $(go version) (takes several minutes on a cold cache)"
start=$(date +%s)
# `go install pkg@version` asks the proxy for the module's version list (to check for a
# deprecation notice), and some proxies/mirrors refuse list requests. Build from a tiny
# wrapper module that requires the pinned version instead: it needs only the .info/.mod/.zip
# of each exact version, and it pins the whole dependency graph to Kubo's own go.mod.
WRAP="$(mktemp -d "$CACHE_ROOT/kubo-build.XXXXXX")"
trap 'rm -rf "$WRAP"' EXIT
cat > "$WRAP/go.mod" <<GOMOD
module decentralml.local/kubo-build

go $(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+(\.[0-9]+)?).*/\1/')

require github.com/ipfs/kubo $KUBO_VERSION
GOMOD
(
    cd "$WRAP"
    nice -n 10 go get "github.com/ipfs/kubo/cmd/ipfs@$KUBO_VERSION"
    nice -n 10 go install github.com/ipfs/kubo/cmd/ipfs
)
log "built in $(( $(date +%s) - start ))s"

HAVE="$("$BIN" version --number)"
if [[ "$HAVE" != "$WANT" ]]; then
    log "error: built binary reports version '$HAVE', expected '$WANT'"
    exit 1
fi
log "Kubo $HAVE installed at $BIN"
echo "$BIN"
