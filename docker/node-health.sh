#!/bin/bash
# Healthy when the node answers `system_health` over JSON-RPC (HTTP) on 127.0.0.1:${1:-9944}.
# Plain bash (/dev/tcp): the image needs no curl.
set -eu
port=${1:-9944}
body='{"id":1,"jsonrpc":"2.0","method":"system_health","params":[]}'
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
  "${#body}" "$body" >&3
reply=$(timeout 5 cat <&3)
case "$reply" in
  *'"isSyncing"'*) exit 0 ;;
  *) echo "no system_health reply on port $port: ${reply:0:200}" >&2; exit 1 ;;
esac
