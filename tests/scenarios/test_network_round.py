"""`decentralml demo --nodes 4` in a test: a 2-round task on four authorities, end to end.

Alice, Bob, Charlie and Dave run as real node processes on loopback (Aura, 2 s slots; GRANDPA),
each with a Kubo of its own, the four swarm-connected on 127.0.0.1 (the demo's
:func:`~decentralml_client.demo_network.network`). The demo's roles train for real (TFF, in the
role host process), participant ``i`` on node and Kubo ``i mod 4``. Asserted from the chain and
the Kubo daemons, not from the demo's word:

- both rounds finalised, the models they adopted (``ModelAdopted``) are the rounds' summaries
  and the task's final model, and each hashes to what the chain says;
- every contributor was paid in both rounds, and the ledger balances;
- the participants were really spread over the four nodes: the role host held connections to
  every node's RPC port, and every contributor's updates are pinned on the Kubo of its own
  side only (the others fetched them by bitswap, unpinned);
- all four nodes finalised the same chain.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from decentralml_client.chain import Chain, DecentralMl
from decentralml_client.config import Settings
from decentralml_client.demo_network import network
from decentralml_client.demo_run import DemoOptions, run_demo
from decentralml_client.services.node import rpc
from decentralml_client.storage import IpfsStore
from tests.fixtures.kubo import _require_kubo
from tests.scenarios.ledger import ledger

pytestmark = pytest.mark.integration

NODES = 4


def _role_hosts(marker: str) -> list[int]:
    """Pids of the demo's role host processes (``decentralml host <workdir>/roles.json``)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            if b"host" in cmd and any(marker.encode() in c and c.endswith(b"roles.json")
                                      for c in cmd):
                pids.append(int(proc.name))
    return pids


def _connected_ports(pid: int) -> set[int]:
    """Remote TCP ports of the established connections process ``pid`` holds."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes.add(link[len("socket:["):-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                f = line.split()
                if f[9] in inodes and f[3] == "01":  # 01: ESTABLISHED
                    ports.add(int(f[2].rsplit(":", 1)[1], 16))
    return ports


def test_two_rounds_on_four_authorities_with_participants_on_every_node(
        node_binary: Path, tmp_path: Path) -> None:
    _require_kubo()
    seen: set[int] = set()

    def progress(stage: str, info: dict[str, Any]) -> None:
        if stage == "round":  # the roles run: what the role host is connected to now
            for pid in _role_hosts(str(tmp_path)):
                seen.update(_connected_ports(pid))

    with network(tmp_path / "net", NODES) as sides:
        with Chain(sides.nodes[0]) as chain:
            first_block = chain.head()[0]
        summary = run_demo(
            Settings(data_dir=tmp_path),
            DemoOptions(nodes=NODES, rounds=2, contributors=4, validators=3, local_epochs=2,
                        plot=None, timeout=240),
            progress, services=sides)
        assert summary["status"] == "Finished", summary
        task_id = summary["task_id"]

        # Everyone on its own side, and really connected there.
        people = summary["participants"]
        assert [(p["node"], p["ipfs"]) for p in people] == [
            sides.side(i) for i in range(len(people))]  # participant i on side i mod 4
        rpc_ports = {urlparse(url.replace("ws://", "http://")).port for url in sides.nodes}
        assert len(rpc_ports) == NODES
        assert rpc_ports <= seen, f"the role host talked to ports {sorted(seen)} only"

        with Chain(sides.nodes[NODES - 1]) as chain:  # Dave's view of the chain
            dml = DecentralMl(chain)
            task = dml.task(task_id)
            assert task is not None and task.status == "Finished"
            summaries = [dml.round_summary(task_id, r) for r in range(2)]
            assert all(s is not None for s in summaries), summaries
            adopted = {}
            for _, events in chain.events_between(first_block):
                for e in events:
                    if e.name == "ModelAdopted" and int(e.field("task_id")) == task_id:
                        adopted[int(e.field("round"))] = str(e.record.hash).lower()
            hashes = [str(s.model_hash).lower() for s in summaries if s is not None]
            assert adopted == {0: hashes[0], 1: hashes[1]}
            assert hashes[0] != hashes[1] and str(task.model_hash).lower() == hashes[1]
            for s in summaries:
                assert s is not None and s.accepted == 4 and s.contributor_rewards > 0, s
                # The model is on IPFS under the chain's hash (fetch checks it), from Dave's Kubo.
                IpfsStore(sides.ipfs[NODES - 1]).fetch(s.model_cid, s.model_hash)

            paid = dml.payments(task_id, first_block).paid
            contributors = [p for p in people if p["role"] == "contributor"]
            for c in contributors:
                assert paid.get(c["address"], 0) > 0, (c, paid)
            issuance, held = ledger(chain)
            assert issuance == held

            # Each contributor added (and pinned) its updates on its own side's Kubo only.
            updates = {c["address"]: [] for c in contributors}
            for r in range(2):
                for sub in dml.submissions(task_id, r).values():
                    updates[sub.contributor].append(sub.cid)
            for c in contributors:
                assert len(updates[c["address"]]) == 2, updates
                for api in sides.ipfs:
                    for cid in updates[c["address"]]:
                        assert IpfsStore(api).is_pinned(cid) == (api == c["ipfs"]), (c, api)
            end_block = chain.head()[0]

        # One chain: the four nodes finalise past the task's end, on the same blocks.
        for url in sides.nodes:
            _wait_finalized(url, end_block)
        hashes_at = {str(rpc(url, "chain_getBlockHash", [end_block])) for url in sides.nodes}
        assert len(hashes_at) == 1, f"the nodes finalised different blocks at #{end_block}"


def _wait_finalized(url: str, number: int, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while True:
        head = rpc(url, "chain_getHeader", [rpc(url, "chain_getFinalizedHead")])
        if int(head["number"], 16) >= number:
            return
        assert time.monotonic() < end, f"{url} did not finalise block #{number}"
        time.sleep(0.5)
