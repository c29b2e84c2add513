"""The dev network as one unit, with fakes for the processes: what ``up`` starts and records,
what ``status`` reports and forgets, what ``down`` stops (no chain or Kubo runs here)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any, ClassVar

import pytest

from decentralml_client.services import ports, stack
from decentralml_client.services.devnet import DevnetError
from decentralml_client.services.ports import free_port, free_port_block

ME = os.getpid()  # a pid that is alive for as long as the test runs


class FakeNetwork:
    """Stands in for NodeNetwork: records how it was made; its nodes are this process."""

    made: ClassVar[list[FakeNetwork]] = []

    def __init__(self, state_dir: Path, *, nodes: int, port: int, persist: bool,
                 block_time: float = 0.0, slot_ms: int | None = None) -> None:
        self.state_dir, self.nodes, self.port, self.persist = state_dir, nodes, port, persist
        self.block_time, self.slot_ms = block_time, slot_ms
        self.started = False
        FakeNetwork.made.append(self)

    def start(self) -> None:
        self.started = True

    def detach(self) -> list[dict[str, object]]:
        return [{"name": f"node-{i}", "pid": ME, "rpc_port": self.port + i,
                 "url": f"ws://127.0.0.1:{self.port + i}", "log": f"node-{i}.log"}
                for i in range(self.nodes)]


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """Fakes for everything ``stack`` starts or stops; returns what each was asked to do."""
    calls: dict[str, list[Any]] = {"kubo": [], "stop": [], "terminate": [], "chopsticks": [],
                                   "busy": []}
    FakeNetwork.made = []
    # whether a port is taken is up to each test (a dev chain on this machine mustn't matter)
    monkeypatch.setattr(stack, "port_in_use", lambda port: port in calls["busy"])

    def start_kubo_detached(state_dir: Path, api_port: int, count: int = 1) -> dict[str, Any]:
        calls["kubo"].append((api_port, count))
        daemons = [{"pid": ME, "api_url": f"http://127.0.0.1:{api_port + i}"}
                   for i in range(count)]
        info = {**daemons[0], "daemons": daemons}
        (state_dir / "kubo.json").write_text(json.dumps(info))
        return info

    class FakeDevnet:
        def __init__(self, state_dir: Path, *, port: int, persist: bool) -> None:
            calls["chopsticks"].append((port, persist))

        def start(self, *, detach: bool) -> None:
            assert detach

    monkeypatch.setattr(stack, "NodeNetwork", FakeNetwork)
    monkeypatch.setattr(stack, "Devnet", FakeDevnet)
    monkeypatch.setattr(stack, "start_kubo_detached", start_kubo_detached)
    monkeypatch.setattr(stack, "stop_detached", lambda d: calls["stop"].append(d))
    monkeypatch.setattr(stack, "terminate",
                        lambda pids, **kw: calls["terminate"].append((list(pids), kw)))
    return calls


def test_up_starts_the_nodes_records_them_and_one_kubo_per_node(
        tmp_path: Path, fakes: dict[str, list[Any]]) -> None:
    status = stack.up(tmp_path, port=9950, ipfs_port=5010, nodes=3, persist=True)

    (net,) = FakeNetwork.made
    assert net.started and (net.nodes, net.port, net.persist) == (3, 9950, True)
    assert fakes["kubo"] == [(5010, 3)]
    assert status.chain is not None and status.chain["engine"] == "node"
    assert status.chain["url"] == "ws://127.0.0.1:9950" and len(status.chain["nodes"]) == 3
    assert status.ipfs is not None and len(status.ipfs["daemons"]) == 3


def test_up_with_chopsticks_and_without_ipfs(tmp_path: Path,
                                             fakes: dict[str, list[Any]]) -> None:
    stack.up(tmp_path, port=9960, engine="chopsticks", ipfs=False)
    assert fakes["chopsticks"] == [(9960, False)]
    assert FakeNetwork.made == [] and fakes["kubo"] == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"engine": "geth"}, "unknown engine 'geth'"),
    ({"engine": "chopsticks", "nodes": 3}, "--nodes needs --engine node"),
])
def test_up_refuses_what_it_cannot_start(tmp_path: Path, fakes: dict[str, list[Any]],
                                         kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(DevnetError, match=message):
        stack.up(tmp_path, **kwargs)
    assert FakeNetwork.made == [] and fakes["chopsticks"] == [] and fakes["kubo"] == []


@pytest.mark.parametrize(("port", "ipfs_port", "overlap"), [
    (9950, 9951, "9951, 9952"), (9950, 9948, "9950"), (9950, 9950, "9950, 9951, 9952")])
def test_up_refuses_node_and_kubo_ports_that_overlap_before_starting_anything(
        tmp_path: Path, fakes: dict[str, list[Any]], port: int, ipfs_port: int,
        overlap: str) -> None:
    with pytest.raises(DevnetError, match=f"RPC ports 9950–9952 and the Kubo API ports "
                                          f".* overlap at {overlap}: .*at least 3 apart"):
        stack.up(tmp_path, port=port, ipfs_port=ipfs_port, nodes=3)
    assert FakeNetwork.made == [] and fakes["kubo"] == []
    # without Kubo the same --port is fine
    stack.up(tmp_path, port=port, ipfs_port=ipfs_port, nodes=3, ipfs=False)
    assert len(FakeNetwork.made) == 1 and fakes["kubo"] == []


def test_up_refuses_a_port_in_use_before_starting_anything(
        tmp_path: Path, fakes: dict[str, list[Any]]) -> None:
    fakes["busy"].append(5012)
    with pytest.raises(DevnetError, match="port 5012 on 127.0.0.1 is already in use.*--ipfs-port"):
        stack.up(tmp_path, port=9950, ipfs_port=5010, nodes=3)
    assert FakeNetwork.made == [] and fakes["kubo"] == []


def test_up_keeps_the_ports_asked_for_out_of_those_it_picks(
        tmp_path: Path, fakes: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    start = free_port_block(6)
    monkeypatch.setattr(ports, "_TAKEN", set())  # only what `up` reserves from here on
    stack.up(tmp_path, port=start, ipfs_port=start + 3, nodes=3)
    assert set(range(start, start + 6)) <= ports._TAKEN  # the nodes' and the Kubos' ports
    assert {free_port() for _ in range(50)}.isdisjoint(range(start, start + 6))


def test_up_refuses_a_second_chain(tmp_path: Path, fakes: dict[str, list[Any]]) -> None:
    stack.up(tmp_path)
    with pytest.raises(DevnetError, match="already runs.*devnet down"):
        stack.up(tmp_path)
    assert len(FakeNetwork.made) == 1


def test_a_kubo_that_fails_to_start_takes_the_chain_down_with_it(
        tmp_path: Path, fakes: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("kubo did not start")

    monkeypatch.setattr(stack, "start_kubo_detached", broken)
    with pytest.raises(RuntimeError, match="kubo did not start"):
        stack.up(tmp_path)
    assert fakes["stop"] == [tmp_path]


def test_status_forgets_a_kubo_that_died(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "kubo.json").write_text(json.dumps({"pid": 123456}))
    monkeypatch.setattr(stack, "alive", lambda pid: False)
    assert stack.status(tmp_path) == stack.StackStatus(chain=None, ipfs=None)
    assert not (tmp_path / "kubo.json").exists()


def test_down_stops_every_kubo_politely_and_forgets_them(
        tmp_path: Path, fakes: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    info = {"pid": 11, "daemons": [{"pid": 11}, {"pid": 12}]}
    (tmp_path / "kubo.json").write_text(json.dumps(info))
    monkeypatch.setattr(stack, "alive", lambda pid: True)

    before = stack.down(tmp_path)

    assert before.ipfs == info
    assert fakes["stop"] == [tmp_path]  # the chain
    assert fakes["terminate"] == [([11, 12], {"steps": ((signal.SIGINT, 15.0),),
                                              "group": False})]
    assert not (tmp_path / "kubo.json").exists()


def test_node_status_reports_heights_and_peers_and_survives_a_failing_node(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def rpc(url: str, method: str, params: list[Any] | None = None) -> Any:
        if url.endswith(":2"):
            raise OSError("connection refused")
        return {"chain_getHeader": {"number": "0x10" if params is None else "0xe"},
                "chain_getFinalizedHead": "0xfin",
                "system_health": {"peers": 2}}[method]

    monkeypatch.setattr(stack, "rpc", rpc)
    monkeypatch.setattr(stack, "alive", lambda pid: pid != 3)
    nodes = [{"name": f"n{i}", "url": f"ws://x:{i}", "pid": i} for i in (1, 2, 3)]

    one, two, three = stack.node_status({"nodes": nodes})

    assert one == {"name": "n1", "url": "ws://x:1", "pid": 1, "running": True, "best": 16,
                   "finalized": 14, "finalized_hash": "0xfin", "peers": 2}
    assert two["running"] and two["error"] == "connection refused" and "best" not in two
    assert three == {"name": "n3", "url": "ws://x:3", "pid": 3, "running": False}
    assert stack.node_status({}) == []
