#!/usr/bin/env bash
# Build the images the compose stack runs, without pulling anything from an image registry:
#   base    debian:bookworm, made locally with debootstrap (minbase) and `docker import`,
#           unless an image of that name is already present;
#   node    decentralml/node:local   — docker/node.Dockerfile: our node binary
#           (~/.cache/decentralml/bin/decentralml-node, or $DML_NODE_BINARY) and the chain specs;
#   kubo    decentralml/kubo:local   — docker/kubo.Dockerfile: the cached Kubo binary;
#   client  decentralml/client:local — docker/Dockerfile (Python 3.11 from Debian, the locked
#           environment installed with uv).
# The binaries live outside the repository, so they are staged with the Dockerfile and the
# sources the images need into a temporary build context. Usage:
#   bash docker/build-images.sh              # base, node and kubo (what `chain` and `ipfs` run)
#   bash docker/build-images.sh client       # the client image too (large: TensorFlow)
#   bash docker/build-images.sh node         # only what is named (base is made when missing)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
targets=("$@")
((${#targets[@]})) || targets=(node kubo)
bin_dir="$HOME/.cache/decentralml/bin"
node_bin=${DML_NODE_BINARY:-$bin_dir/decentralml-node}
ipfs_bin=${DML_IPFS_BINARY:-$bin_dir/ipfs}

command -v docker >/dev/null || { echo "docker not found: run scripts/setup.sh" >&2; exit 1; }
docker info >/dev/null 2>&1 || {
  echo "the Docker daemon is not running; as root, e.g.:" >&2
  echo "  dockerd --storage-driver vfs --iptables=false --bridge=none &" >&2
  exit 1
}

# The Debian mirror apt already uses (deb822 `URIs:` or a one-line `deb` entry).
debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local m
  m=$(awk '/^URIs:/ {u=$2} /^Suites:/ && u && / bookworm( |$)/ {print u; exit}' \
        /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$m" ] || m=$(awk '$1=="deb" && $3=="bookworm" {print $2; exit}' \
                       /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
  [ -n "$m" ] || { echo "no Debian bookworm mirror in apt's sources; set DEBIAN_MIRROR" >&2; exit 1; }
  echo "$m"
}

if ! docker image inspect debian:bookworm >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || { echo "debootstrap not found: apt-get install debootstrap" >&2; exit 1; }
  rootfs=$(mktemp -d /tmp/dml-rootfs.XXXXXX)
  chmod 0755 "$rootfs"  # it becomes the image's /: mktemp's 0700 would lock out non-root users
  trap 'rm -rf "$rootfs"' EXIT
  say "Base image debian:bookworm (debootstrap minbase)"
  debootstrap --variant=minbase bookworm "$rootfs" "$(debian_mirror)" >/dev/null
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - debian:bookworm >/dev/null
  rm -rf "$rootfs"; trap - EXIT
fi

ctx=$(mktemp -d /tmp/dml-docker-ctx.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/docker" "$ctx/bin" "$ctx/chain/artifacts"
cp "$root"/docker/*Dockerfile "$root"/docker/*.sh "$ctx/docker/"
cp "$root"/chain/artifacts/*.json "$ctx/chain/artifacts/"

for t in "${targets[@]}"; do
  case "$t" in
    node)
      [ -x "$node_bin" ] || { echo "no node binary at $node_bin: run chain/scripts/build-node.sh" >&2; exit 1; }
      cp "$node_bin" "$ctx/bin/decentralml-node" ;;
    kubo)
      [ -x "$ipfs_bin" ] || { echo "no Kubo binary at $ipfs_bin: run scripts/setup.sh" >&2; exit 1; }
      cp "$ipfs_bin" "$ctx/bin/ipfs" ;;
    client)
      cp "$root"/{pyproject.toml,uv.lock,README.md} "$ctx/"
      cp -r "$root/decentralml_client" "$root/pallet-abi" "$ctx/"
      cp -r "$root/chain/artifacts/." "$ctx/chain/artifacts/"
      # The extra CA certificates this host trusts, so the build's pip and uv trust them too.
      mkdir -p "$ctx/docker/ca"
      for crt in "${DML_EXTRA_CA_DIR:-/usr/local/share/ca-certificates}"/*.crt; do
        if [ -f "$crt" ]; then cp "$crt" "$ctx/docker/ca/"; fi
      done
      find "$ctx/decentralml_client" -name __pycache__ -prune -exec rm -rf {} + ;;
    *) echo "unknown image '$t' (node, kubo, client)" >&2; exit 2 ;;
  esac
done

for t in "${targets[@]}"; do
  say "decentralml/$t:local"
  start=$SECONDS
  file=docker/$t.Dockerfile; [ "$t" = client ] && file=docker/Dockerfile
  # The chain artifacts it was built from, so a stale image is found without running it.
  label="org.decentralml.artifacts=$(cat "$root"/chain/artifacts/*.json | sha256sum | cut -c1-16)"
  if ! docker build --network host --label "$label" -f "$ctx/$file" -t "decentralml/$t:local" "$ctx" \
       >"$ctx/build-$t.log" 2>&1; then
    tail -n 40 "$ctx/build-$t.log" >&2
    echo "building decentralml/$t:local failed (the log's end is above)" >&2
    exit 1
  fi
  echo "    built in $((SECONDS - start)) s"
done
