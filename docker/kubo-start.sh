#!/bin/bash
# Start Kubo as the Python launcher (decentralml_client/services/kubo.py) does: a repo made with
# `ipfs init --profile $IPFS_PROFILE` (default `test`), no boot nodes, no mDNS, no AutoConf, no
# telemetry, no delegated routers, no NAT port mapping, then `ipfs daemon "$@"` (the compose
# file passes --offline). The API listens on $IPFS_API_ADDR (default 127.0.0.1:5001).
set -euo pipefail
export IPFS_PATH=${IPFS_PATH:-/data/ipfs}
if [ ! -f "$IPFS_PATH/config" ]; then
  ipfs init --profile "${IPFS_PROFILE:-test}" --empty-repo
fi
ipfs config Addresses.API "${IPFS_API_ADDR:-/ip4/127.0.0.1/tcp/5001}"
ipfs config --json Addresses.Gateway '[]'
ipfs config --json Addresses.Swarm "${IPFS_SWARM_ADDRS:-[]}"
ipfs config --json Addresses.Announce '[]'
ipfs config --json Addresses.AppendAnnounce '[]'
ipfs config --json Bootstrap '[]'
ipfs config --json Discovery.MDNS.Enabled false
ipfs config --json AutoConf.Enabled false
ipfs config --json Plugins.Plugins.telemetry.Config.Mode '"off"'
ipfs config --json Routing.DelegatedRouters '[]'
ipfs config --json Ipns.DelegatedPublishers '[]'
ipfs config --json Swarm.DisableNatPortMap true
ipfs config --json Swarm.RelayClient.Enabled false
ipfs config --json Swarm.RelayService.Enabled false
args=()
for a in "$@"; do if [ -n "$a" ]; then args+=("$a"); fi; done  # IPFS_OFFLINE="" gives ""
exec ipfs daemon "${args[@]}"
