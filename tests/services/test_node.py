"""Our node (chain/node) on loopback: a dev node that keeps its database through a crash, a
network of three authorities that makes and finalises the same blocks and takes a crashed
authority back, and one Kubo per node swarm-connected on loopback.

Every process is started and stopped here, on 127.0.0.1; readiness and progress are polled
over RPC, never waited for with sleeps.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest

from decentralml_client.chain import UNIT, Chain, DecentralMl, Role
from decentralml_client.keys import dev_account
from decentralml_client.services.node import NodeNetwork, rpc
from decentralml_client.services.stack import start_kubos

pytestmark = pytest.mark.integration


def _hash_at(url: str, number: int) -> str:
    return str(rpc(url, "chain_getBlockHash", [number]))


def test_dev_node_puts_transactions_sent_together_in_one_block_and_survives_sigkill(
    tmp_path: Path, node_binary: Path
) -> None:
    senders = [dev_account(n) for n in ("alice", "bob", "charlie", "dave", "ferdie")]
    eve = dev_account("eve")
    net = NodeNetwork(tmp_path, nodes=1, port=0, persist=True)
    with net:
        node = net.nodes[0]
        with Chain(net.url) as chain:
            before = chain.head()[0]
            receipts = chain.submit_all([
                (a.keypair, "Balances", "transfer_keep_alive",
                 {"dest": eve.ss58_address, "value": UNIT}) for a in senders])
            # five accounts' transactions, sent together, share one block (no block per tx)
            assert {r.block_number for r in receipts} == {before + 1}
            assert all(r.find("Transfer", pallet="Balances") for r in receipts)
            DecentralMl(chain).register(eve.keypair, Role.CONTRIBUTOR, 10 * UNIT, eve.x25519_public)
            head = chain.head()[0]
        assert head == before + 2  # and a lone transaction is sealed on its own at once
        status = node.status()
        assert status["finalized"] == status["best"] == head  # final at once
        node.kill()  # a crash: no clean shutdown of the database
        net.restart(node.name)
        with Chain(net.url) as chain:
            assert chain.head()[0] >= head
            assert DecentralMl(chain).participant(eve.ss58_address) is not None
        assert _hash_at(net.url, head) == status["best_hash"]


def test_three_authorities_finalise_the_same_blocks_and_take_a_crashed_one_back(
    tmp_path: Path, node_binary: Path
) -> None:
    with NodeNetwork(tmp_path, nodes=3, port=0) as net:
        statuses = net.wait_until(lambda ss: all(s["peers"] == 2 for s in ss), "full peering", 60)
        statuses = net.wait_finalized(3, timeout=150)
        common = min(s["finalized"] for s in statuses)
        hashes = {_hash_at(n.url, common) for n in net.nodes}
        assert len(hashes) == 1, f"the nodes finalised different blocks at #{common}: {hashes}"
        header = rpc(net.url, "chain_getHeader", [hashes.pop()])
        assert header["digest"]["logs"][0].startswith("0x0661757261")  # an Aura pre-digest

        # Charlie crashes. Alice and Bob keep making blocks in their slots. (Three equal
        # GRANDPA voters need all three for a supermajority, so finality waits for Charlie.)
        charlie = net.node("charlie")
        charlie.kill()
        survivors = [net.node("alice"), net.node("bob")]
        best_at_kill = max(s["best"] for s in net.wait_until(lambda ss: True, "status", 10,
                                                               survivors))
        net.wait_until(lambda ss: all(s["best"] >= best_at_kill + 2 for s in ss),
                       "blocks without Charlie", 120, survivors)

        # Charlie comes back on its database, catches up, and all three finalise past the
        # blocks made while it was down, agreeing on every finalised hash.
        net.restart("charlie")
        target = max(s["best"] for s in net.status() if "best" in s)
        statuses = net.wait_finalized(target, timeout=180)
        common = min(s["finalized"] for s in statuses)
        hashes = {_hash_at(n.url, common) for n in net.nodes}
        assert len(hashes) == 1
        assert {s["finalized_hash"] for s in statuses if s["finalized"] == common} <= hashes


def test_one_kubo_per_node_swarm_connected_on_loopback(tmp_path: Path) -> None:
    from tests.fixtures.kubo import _require_kubo

    _require_kubo()
    daemons = start_kubos(tmp_path, None, 3)
    try:
        for d in daemons:
            peers = httpx.post(f"{d.api_url}/api/v0/swarm/peers", trust_env=False, timeout=10)
            addrs = [p["Addr"] for p in peers.json().get("Peers") or []]
            assert len(addrs) == 2 and all(a.startswith("/ip4/127.0.0.1/") for a in addrs)
        data = os.urandom(300_000)
        added = httpx.post(f"{daemons[0].api_url}/api/v0/add", params={"pin": "true"},
                           files={"file": ("blob", data)}, trust_env=False, timeout=30)
        cid = added.json()["Hash"]
        got = httpx.post(f"{daemons[2].api_url}/api/v0/cat", params={"arg": cid},
                         trust_env=False, timeout=60)
        assert got.status_code == 200
        assert hashlib.blake2b(got.content, digest_size=32).digest() == \
            hashlib.blake2b(data, digest_size=32).digest()
    finally:
        for d in daemons:
            d.stop()


def test_devnet_up_starts_four_authorities_by_default(tmp_path: Path, node_binary: Path) -> None:
    import json
    import subprocess
    import sys
    import time

    from decentralml_client.services.ports import free_port_block

    env = {**os.environ, "DML_DATA_DIR": str(tmp_path)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "decentralml_client.cli.main", *args],
                              capture_output=True, text=True, env=env, timeout=300)

    port, ipfs_port = free_port_block(4), free_port_block(4)  # nodes, Kubos: 4 each
    up = cli("--json", "devnet", "up", "--port", str(port), "--ipfs-port", str(ipfs_port))
    try:
        assert up.returncode == 0, up.stderr
        info = json.loads(up.stdout)
        # the default network: four authorities, one Kubo each
        assert [n["name"] for n in info["chain"]["nodes"]] == ["alice", "bob", "charlie", "dave"]
        assert len(info["ipfs"]["daemons"]) == 4
        end = time.monotonic() + 120
        nodes: list[dict[str, object]] = []
        while time.monotonic() < end:  # poll the status command until all four finalise
            status = cli("--json", "devnet", "status")
            assert status.returncode == 0, status.stderr
            nodes = json.loads(status.stdout)["nodes"]
            if all(n.get("peers") == 3 and int(n.get("finalized", 0)) >= 1  # type: ignore[call-overload]
                   for n in nodes):
                break
        else:
            pytest.fail(f"the four nodes did not peer and finalise: {nodes}")
    finally:
        down = cli("--json", "devnet", "down")
    assert json.loads(down.stdout)["stopped"] == {"chain": True, "ipfs": True}
    assert cli("devnet", "status").returncode == 3
