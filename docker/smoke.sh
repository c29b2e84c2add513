#!/usr/bin/env bash
# Check the compose stack end to end on this machine, then take it down (volumes too):
#   chain, ipfs and dashboard healthy; the dashboard connected to the node and read-only;
#   a creator container makes a key, gets dev tokens from //Alice (host CLI) and creates the
#   digits task; the dashboard lists it.
# Needs a running Docker daemon and the three images (bash docker/build-images.sh node kubo
# client). Ports 9944, 5001, 8000, 30333 and 4001 on 127.0.0.1 must be free (no devnet up).
# The keystore password is a throwaway file, readable by the containers' user only.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
export COMPOSE_HTTP_TIMEOUT=${COMPOSE_HTTP_TIMEOUT:-600}  # vfs copies the image per container
export COMPOSE_PROJECT_NAME=decentralml-smoke
secret=$(mktemp /tmp/dml-smoke-password.XXXXXX)
export KEYSTORE_PASSWORD_FILE=$secret
compose=(docker-compose -f "$root/docker/docker-compose.yml" --profile roles)
cleanup() {
  "${compose[@]}" down -v >/dev/null 2>&1 || true
  rm -f "$secret"
}
trap cleanup EXIT

artifacts=$(cat "$root"/chain/artifacts/*.json | sha256sum | cut -c1-16)
for image in node kubo client; do
  docker image inspect "decentralml/$image:local" >/dev/null 2>&1 \
    || { echo "no image decentralml/$image:local: run bash docker/build-images.sh $image" >&2; exit 1; }
  [ "$image" = kubo ] && continue  # holds no chain artifacts
  built=$(docker image inspect -f '{{index .Config.Labels "org.decentralml.artifacts"}}' \
            "decentralml/$image:local")
  [ "$built" = "$artifacts" ] || {
    echo "decentralml/$image:local was built from other chain artifacts (runtime, chain specs):" \
         "run bash docker/build-images.sh $image" >&2; exit 1; }
done
head -c 24 /dev/urandom | base64 >"$secret"
chown 10001 "$secret" 2>/dev/null || chmod 644 "$secret"  # not root: readable, then removed

start=$SECONDS
say "up -d: chain, ipfs, dashboard"
"${compose[@]}" up -d chain ipfs dashboard >/dev/null
dashboard=$("${compose[@]}" ps -q dashboard)
for _ in $(seq 120); do
  [ "$(docker inspect -f '{{.State.Health.Status}}' "$dashboard")" = healthy ] && break
  sleep 2
done
[ "$(docker inspect -f '{{.State.Health.Status}}' "$dashboard")" = healthy ] \
  || { echo "the dashboard did not become healthy" >&2; "${compose[@]}" logs --tail 30 >&2; exit 1; }
echo "    healthy after $((SECONDS - start)) s"

health() { curl -sf http://127.0.0.1:8000/api/health; }
for _ in $(seq 60); do health | grep -q '"connected":true' && break; sleep 1; done
health | grep -q '"connected":true' || { echo "the dashboard is not connected: $(health)" >&2; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:8000/api/tasks)
[ "$code" = 405 ] || { echo "POST /api/tasks answered $code, not 405 (read-only)" >&2; exit 1; }
echo "    connected to the node; read-only (POST -> 405)"

say "creator: key, dev tokens, task"
"${compose[@]}" run --rm creator keys new creator >/dev/null
address=$("${compose[@]}" run --rm creator --json keys list \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["ss58_address"])')
(cd "$root" && DML_NODE_URL=ws://127.0.0.1:9944 uv run --frozen decentralml account faucet "$address")
"${compose[@]}" run --rm creator
tasks=$(curl -sf http://127.0.0.1:8000/api/tasks)
python3 -c 'import json, sys; t = json.loads(sys.argv[1]); assert t["total"] >= 1, t; print("    the dashboard lists task", t["tasks"][0]["id"], "by", t["tasks"][0]["creator"])' "$tasks"
say "Done in $((SECONDS - start)) s (the stack is taken down with its volumes)"
