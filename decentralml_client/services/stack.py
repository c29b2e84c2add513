"""The local dev network as one unit: the chain plus Kubo.

The chain is our node by default (a dev node with instant seal, or ``nodes=3`` authorities
Alice, Bob and Charlie with Aura + GRANDPA), or Chopsticks (``engine="chopsticks"``). With
several nodes, each gets its own Kubo daemon, all swarm-connected on 127.0.0.1 (no bootstrap,
no mDNS: still cut off from the public IPFS network).

``decentralml devnet up`` starts them detached and records them in ``<data_dir>/devnet``;
``status`` and ``down`` find them there. The demo and the tests start the same pieces in
process (``NodeNetwork``, ``KuboDaemon``, :func:`start_kubos`) and stop them when done.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from decentralml_client.services import kubo as kubo_mod
from decentralml_client.services.devnet import (
    Devnet,
    DevnetError,
    read_state,
    stop_detached,
    write_node_state,
)
from decentralml_client.services.node import NodeNetwork, NodeProcess, rpc
from decentralml_client.services.ports import port_in_use, reserve
from decentralml_client.services.processes import SpawnRecord, alive, terminate


@dataclass
class StackStatus:
    chain: dict[str, Any] | None
    ipfs: dict[str, Any] | None
    #: Processes an interrupted ``up`` had started (found and stopped by ``down``).
    interrupted: list[int] = field(default_factory=list)


@dataclass
class _RecordedNode(NodeProcess):
    """A node that records its pid the moment it is spawned (``devnet up``)."""

    record: SpawnRecord | None = None

    def start(self, binary: Path) -> None:
        super().start(binary)
        if self.record is not None and self.pid is not None:
            self.record.add("node", self.name, pid=self.pid)


def _record_spawns(net: Any, record: SpawnRecord) -> None:
    """Make ``net``'s nodes record their pids as soon as they are spawned."""
    nodes = getattr(net, "nodes", None)
    if isinstance(nodes, list):
        net.nodes = [_RecordedNode(**{f.name: getattr(n, f.name) for f in fields(n)},
                                   record=record) if type(n) is NodeProcess else n
                     for n in nodes]


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """While starting: SIGTERM and SIGHUP interrupt like Ctrl-C (so what was started is
    stopped on the way out) instead of ending the process on the spot."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    old = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _kubo_state_file(state_dir: Path) -> Path:
    return state_dir / "kubo.json"


ENGINES = ("node", "chopsticks")


def _claim_ports(port: int, ipfs_port: int, nodes: int) -> None:
    """Refuse, before anything starts, ports asked for that overlap or are taken; then reserve
    them so no port this process picks for itself (peer-to-peer, swarm) lands on one."""
    rpc_ports = range(port, port + nodes) if port else range(0)
    ipfs_ports = range(ipfs_port, ipfs_port + nodes) if ipfs_port else range(0)
    if overlap := sorted(set(rpc_ports) & set(ipfs_ports)):
        raise DevnetError(
            f"the nodes' RPC ports {_span(rpc_ports)} and the Kubo API ports "
            f"{_span(ipfs_ports)} overlap at {', '.join(map(str, overlap))}: pass --port and "
            f"--ipfs-port at least {nodes} apart")
    if busy := [p for p in (*rpc_ports, *ipfs_ports) if port_in_use(p)]:
        raise DevnetError(
            f"port {', '.join(map(str, busy))} on 127.0.0.1 is already in use: stop what "
            "listens there (`decentralml devnet down` if it is an earlier dev chain) or pick "
            "other ports with --port / --ipfs-port")
    reserve([*rpc_ports, *ipfs_ports])


def _span(ports: range) -> str:
    return str(ports[0]) if len(ports) == 1 else f"{ports[0]}–{ports[-1]}"


def up(state_dir: Path, *, port: int = 9944, ipfs_port: int = 5001, persist: bool = False,
       ipfs: bool = True, engine: str = "node", nodes: int = 1,
       block_time: float = 0.0, slot_ms: int | None = None) -> StackStatus:
    """Start the dev chain (and Kubo) detached; refuse if they already run.

    ``engine="node"``: our node, ``nodes`` of them (1: dev node; 2–4: Alice, Bob, Charlie,
    Dave) on RPC ports ``port``, ``port+1``, …, and one Kubo per node (API ports
    ``ipfs_port``, +1, …). ``block_time`` (dev node): an empty block whenever none was made
    for that many seconds. ``slot_ms`` (a network): the Aura slot, instead of the spec's.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    if engine not in ENGINES:
        raise DevnetError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    if engine == "chopsticks" and nodes != 1:
        raise DevnetError("Chopsticks runs one chain: --nodes needs --engine node")
    if read_state(state_dir) is not None:
        raise DevnetError(f"a dev chain already runs (state in {state_dir}); "
                          "`decentralml devnet down` stops it")
    record = SpawnRecord(state_dir)
    if left := record.pids():
        raise DevnetError(f"an interrupted `devnet up` left processes running (pids "
                          f"{', '.join(map(str, left))}); `decentralml devnet down` stops them")
    record.clear()
    _claim_ports(port, ipfs_port if ipfs else 0, nodes)
    # Every process is recorded the moment it is spawned (SpawnRecord): an interruption —
    # Ctrl-C, SIGTERM, SIGHUP, an error — stops them on the way out, and even if this
    # process is killed outright `devnet down` finds them.
    with _signals_interrupt():
        try:
            if engine == "chopsticks":
                Devnet(state_dir, port=port, persist=persist).start(detach=True)
            else:
                net = NodeNetwork(state_dir, nodes=nodes, port=port, persist=persist,
                                  block_time=block_time, slot_ms=slot_ms)
                _record_spawns(net, record)
                net.start()
                write_node_state(state_dir, net.detach(), persist)
            if ipfs:
                start_kubo_detached(state_dir, ipfs_port, count=nodes)
        except BaseException:
            stop_detached(state_dir)
            _stop_recorded(state_dir)
            raise
    record.clear()
    return status(state_dir)


def _stop_recorded(state_dir: Path) -> list[int]:
    """Stop whatever an unfinished ``up`` recorded as spawned; return their pids."""
    record = SpawnRecord(state_dir)
    pids = record.pids()
    if pids:
        terminate(pids, steps=((signal.SIGTERM, 10.0),), group=False)
    record.clear()
    return pids


def start_kubos(state_dir: Path, api_port: int | None, count: int, *,
                recorded: bool = False) -> list[kubo_mod.KuboDaemon]:
    """``count`` Kubo daemons, one per node; with more than one, online on loopback only and
    swarm-connected to each other (content added on one is fetched from another).
    ``recorded``: each is recorded in the state directory's :class:`SpawnRecord` as it
    starts (``devnet up``)."""
    names = ["ipfs"] + [f"ipfs-{i}" for i in range(1, count)]
    daemons = [
        kubo_mod.KuboDaemon(state_dir / name, api_port=(api_port + i) if api_port else None,
                            online=count > 1)
        for i, name in enumerate(names)
    ]
    record = SpawnRecord(state_dir) if recorded else None
    try:
        for d in daemons:
            if record is not None:  # found by its repository until its pid is known
                record.add("kubo", d.repo_dir.name, repo=str(d.repo_dir))
            d.start()
            if record is not None:
                record.add("kubo", d.repo_dir.name, pid=d.pid, repo=str(d.repo_dir))
        for i, d in enumerate(daemons):
            for other in daemons[i + 1:]:
                d.connect_to(other)
    except Exception:
        for d in daemons:
            d.stop()
        raise
    return daemons


def start_kubo_detached(state_dir: Path, api_port: int, count: int = 1) -> dict[str, Any]:
    daemons = start_kubos(state_dir, api_port, count, recorded=True)
    infos = []
    for d in daemons:
        api, api_url, peer = d.api_multiaddr, d.api_url, d.peer_id
        pid = d.detach()  # outlive this process: `devnet down` stops it
        infos.append({"pid": pid, "api": api, "api_url": api_url, "repo": str(d.repo_dir),
                      "peer_id": peer})
    info = {**infos[0], "daemons": infos}
    _kubo_state_file(state_dir).write_text(json.dumps(info, indent=2))
    return info


def node_status(chain: dict[str, Any]) -> list[dict[str, Any]]:
    """Best and finalised block and peers of every recorded node (node engine)."""
    out = []
    for n in chain.get("nodes") or []:
        entry: dict[str, Any] = {"name": n["name"], "url": n["url"], "pid": n["pid"],
                                 "running": alive(int(n["pid"]))}
        if entry["running"]:
            try:
                best = rpc(n["url"], "chain_getHeader")
                fin_hash = rpc(n["url"], "chain_getFinalizedHead")
                fin = rpc(n["url"], "chain_getHeader", [fin_hash])
                health = rpc(n["url"], "system_health")
                entry.update(best=int(best["number"], 16), finalized=int(fin["number"], 16),
                             finalized_hash=fin_hash, peers=int(health["peers"]))
            except Exception as exc:  # report, don't fail: status is for diagnosing
                entry["error"] = str(exc)
        out.append(entry)
    return out


def status(state_dir: Path) -> StackStatus:
    chain = read_state(state_dir)
    ipfs = None
    f = _kubo_state_file(state_dir)
    if f.is_file():
        info = json.loads(f.read_text())
        if info.get("pid") and alive(int(info["pid"])):
            ipfs = info
        else:
            f.unlink(missing_ok=True)
    return StackStatus(chain=chain.__dict__ if chain else None, ipfs=ipfs)


def down(state_dir: Path) -> StackStatus:
    """Stop what `up` started — also what an interrupted `up` had started; returns what was
    running."""
    before = status(state_dir)
    stop_detached(state_dir)
    if before.ipfs:
        pids = [int(d["pid"]) for d in before.ipfs.get("daemons", [])] or [int(before.ipfs["pid"])]
        terminate(pids, steps=((signal.SIGINT, 15.0),), group=False)
        _kubo_state_file(state_dir).unlink(missing_ok=True)
    before.interrupted = _stop_recorded(state_dir)
    return before


class BlockTicker:
    """Builds an empty block every ``interval`` seconds, as a real chain's block time would.

    Chopsticks and our dev node (instant seal) build blocks only when transactions arrive;
    deadlines counted in blocks (a silent validator, a missed reveal) need time to pass on
    chain too. Chopsticks takes ``dev_newBlock``; our node ``engine_createBlock`` (empty,
    finalised). On a network of authorities (Aura) neither exists and blocks come anyway.
    """

    def __init__(self, url: str, interval: float) -> None:
        self.url = url
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="block-ticker", daemon=True)

    def _run(self) -> None:
        from decentralml_client.chain.client import Chain

        chain = None
        try:
            chain = Chain(self.url, check_abi=False, timeout=10)
            while not self._stop.wait(self.interval):
                chain.new_blocks(1)
        except Exception:  # the chain went away: the ticker ends with it
            return
        finally:
            if chain is not None:
                with contextlib.suppress(Exception):
                    chain.close()

    def start(self) -> BlockTicker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)
