"""Our Substrate node (``chain/node``, binary ``decentralml-node``) on loopback.

Two shapes:

* a **dev node** (``NodeNetwork(state_dir, nodes=1)``): ``--dev``, authority Alice, instant
  seal (a block, at once final, for every transaction; ``engine_createBlock`` makes empty
  ones), from ``chain/artifacts/chain-spec-dev.raw.json``;
* a **local network** (``nodes=2..4``): the authorities Alice, Bob, Charlie and Dave of
  ``chain-spec-local.raw.json``, each with its own base path, RPC port and p2p port, peered
  on 127.0.0.1 only, making blocks by Aura (in the spec's 2 s slots, or ``slot_ms``) and
  finalising them by GRANDPA.

Every listener binds 127.0.0.1; the only boot nodes are the other local nodes; no mDNS, no
telemetry, no Prometheus. Readiness is polled over JSON-RPC (``system_health``).

    with NodeNetwork(tmp_path, nodes=3) as net:
        net.wait_finalized(3)
        print(net.status())

The binary is ``$DML_NODE_BINARY`` or ``~/.cache/decentralml/bin/decentralml-node`` (built by
``chain/scripts/build-node.sh``, which ``make setup`` runs).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from decentralml_client.config import CHAIN_ARTIFACTS
from decentralml_client.errors import DecentralMLError
from decentralml_client.services.chainspec import write_with_slot_ms
from decentralml_client.services.ports import free_port, port_in_use, reserve
from decentralml_client.services.processes import Service, terminate

DEFAULT_NODE_BINARY = Path.home() / ".cache" / "decentralml" / "bin" / "decentralml-node"
DEV_CHAIN_SPEC = CHAIN_ARTIFACTS / "chain-spec-dev.raw.json"
LOCAL_CHAIN_SPEC = CHAIN_ARTIFACTS / "chain-spec-local.raw.json"
#: The authorities of the local testnet preset, in order.
AUTHORITIES = ("alice", "bob", "charlie", "dave")
_BUILD_HINT = ("run `make setup` (or `bash chain/scripts/build-node.sh`), or point "
               "$DML_NODE_BINARY at a decentralml-node binary")


class NodeError(DecentralMLError, RuntimeError):
    """A node could not be found, started, or did not reach the expected state."""

    hint = "see the node's log in the dev network's directory; `decentralml devnet down` stops it."


def find_node_binary() -> Path:
    """``$DML_NODE_BINARY``, else the cached build; raise with the fix when missing."""
    override = os.environ.get("DML_NODE_BINARY")
    path = Path(override).expanduser() if override else DEFAULT_NODE_BINARY
    if path.is_file() and os.access(path, os.X_OK):
        return path
    raise NodeError(f"the DecentralML node binary is not at {path}: {_BUILD_HINT}")


def _free_port() -> int:
    return free_port()


def rpc(url: str, method: str, params: list[Any] | None = None, timeout: float = 5.0) -> Any:
    """One JSON-RPC call over HTTP (the node serves HTTP and WebSocket on the same port)."""
    http_url = url.replace("ws://", "http://", 1)
    reply = httpx.post(http_url, json={"id": 1, "jsonrpc": "2.0", "method": method,
                                       "params": params or []},
                       timeout=timeout, trust_env=False)
    reply.raise_for_status()
    body = reply.json()
    if "error" in body:
        raise NodeError(f"{method} failed: {body['error']}")
    return body["result"]


@dataclass
class NodeProcess:
    """One node: its name (a dev seed), base path, ports and process."""

    name: str
    base_path: Path
    rpc_port: int
    p2p_port: int
    chain_spec: Path
    dev: bool = False
    block_time: float = 0.0  # dev node: an empty block after this many idle seconds (0: none)
    bootnodes: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    peer_id: str = ""

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.rpc_port}"

    @property
    def log_path(self) -> Path:
        return self.base_path / "node.log"

    @property
    def node_key_file(self) -> Path:
        return self.base_path / "node-key"

    @property
    def multiaddr(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.p2p_port}/p2p/{self.peer_id}"

    def ensure_identity(self, binary: Path) -> None:
        """A fixed network key per node (kept in its base path), and its peer id."""
        self.base_path.mkdir(parents=True, exist_ok=True)
        if not self.node_key_file.is_file():
            secret = hashlib.blake2b(os.urandom(32) + self.name.encode(), digest_size=32)
            self.node_key_file.write_text(secret.hexdigest())
        out = subprocess.run([str(binary), "key", "inspect-node-key", "--file",
                              str(self.node_key_file)],
                             capture_output=True, text=True, timeout=60, check=False)
        if out.returncode != 0 or not out.stdout.strip():
            raise NodeError(f"`key inspect-node-key` failed: {out.stderr.strip()[-500:]}")
        self.peer_id = out.stdout.strip().splitlines()[-1].strip()

    def command(self, binary: Path) -> list[str]:
        cmd = [
            str(binary),
            "--chain", str(self.chain_spec),
            "--base-path", str(self.base_path),
            "--name", self.name,
            "--rpc-port", str(self.rpc_port),
            "--rpc-cors", "all",
            "--listen-addr", f"/ip4/127.0.0.1/tcp/{self.p2p_port}",
            "--node-key-file", str(self.node_key_file),
            "--no-mdns", "--no-prometheus", "--no-telemetry",
        ]  # fmt: skip
        cmd += ["--dev"] if self.dev else [f"--{self.name}"]
        if self.dev and self.block_time > 0:
            cmd += ["--seal-idle-ms", str(round(self.block_time * 1000))]
        for b in self.bootnodes:
            cmd += ["--bootnodes", b]
        return cmd

    def start(self, binary: Path) -> None:

        for port in (self.rpc_port, self.p2p_port):
            if port_in_use(port):
                raise NodeError(f"port {port} on 127.0.0.1 is taken (another node?); "
                                "try `decentralml devnet status`, or pick another with --port")
        self.base_path.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command(binary), stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, deadline_s: float) -> None:
        """Poll ``system_health`` until the node answers; fail early if it exits."""
        end = time.monotonic() + deadline_s
        last: Exception | None = None
        while time.monotonic() < end:
            if self.proc is not None and self.proc.poll() is not None:
                raise NodeError(f"node {self.name} exited with code {self.proc.returncode} "
                                f"while starting\n--- {self.log_path} (tail) ---\n"
                                f"{self.log_tail()}")
            try:
                rpc(self.url, "system_health", timeout=2)
                return
            except (httpx.HTTPError, NodeError, ValueError) as exc:
                last = exc
            time.sleep(0.2)
        raise NodeError(f"node {self.name} at {self.url} did not answer within "
                        f"{deadline_s:.0f} s ({last})\n--- {self.log_path} (tail) ---\n"
                        f"{self.log_tail()}")

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (the node flushes its database), then SIGKILL after ``timeout``."""
        if self.proc is None:
            return
        terminate([self.proc.pid], steps=((signal.SIGTERM, timeout),))
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL at once, as a crash would."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait()
        self.proc = None

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def status(self) -> dict[str, Any]:
        """Best and finalised block (number and hash) and peer count, over RPC."""
        info: dict[str, Any] = {"name": self.name, "url": self.url, "pid": self.pid}
        try:
            best = rpc(self.url, "chain_getHeader")
            fin_hash = rpc(self.url, "chain_getFinalizedHead")
            fin = rpc(self.url, "chain_getHeader", [fin_hash])
            health = rpc(self.url, "system_health")
            info.update(best=int(best["number"], 16), best_hash=_hash_of(self.url, best),
                        finalized=int(fin["number"], 16), finalized_hash=fin_hash,
                        peers=int(health["peers"]), syncing=bool(health["isSyncing"]))
        except (httpx.HTTPError, NodeError, ValueError, KeyError) as exc:
            info["error"] = str(exc)
        return info

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None


def _hash_of(url: str, header: dict[str, Any]) -> str:
    return str(rpc(url, "chain_getBlockHash", [int(header["number"], 16)]))


class NodeNetwork(Service):
    """``nodes=1``: a dev node (instant seal; with ``block_time`` also an empty block whenever
    none was made for that many seconds, so deadlines pass on an idle chain); ``nodes>1``: that
    many of Alice, Bob, Charlie, Dave (Aura + GRANDPA), in the spec's slots or ``slot_ms``.
    ``persist=False`` starts from genesis (the base paths are wiped first)."""

    def __init__(
        self,
        state_dir: Path,
        *,
        nodes: int = 1,
        port: int = 9944,
        persist: bool = False,
        chain_spec: Path | None = None,
        start_timeout: float = 120.0,
        block_time: float = 0.0,
        slot_ms: int | None = None,
    ) -> None:
        if nodes < 1 or nodes > len(AUTHORITIES):
            raise NodeError(f"--nodes must be 1 (dev node) to {len(AUTHORITIES)} "
                            "(the local testnet's authorities)")
        self.state_dir = Path(state_dir)
        self.persist = persist
        self.start_timeout = start_timeout
        dev = nodes == 1
        spec = chain_spec or (DEV_CHAIN_SPEC if dev else LOCAL_CHAIN_SPEC)
        if slot_ms is not None and not dev:  # a copy of the spec with that slot in its genesis
            spec = write_with_slot_ms(spec, self.state_dir / f"chain-spec-{slot_ms}ms.json",
                                      slot_ms)
        if port:
            reserve(range(port, port + nodes))  # the peer-to-peer ports picked below avoid them
        self.nodes = [
            NodeProcess(name=AUTHORITIES[i], base_path=self.state_dir / f"node-{AUTHORITIES[i]}",
                        rpc_port=port + i if port else _free_port(), p2p_port=_free_port(),
                        chain_spec=spec, dev=dev, block_time=block_time)
            for i in range(nodes)
        ]

    @property
    def url(self) -> str:
        """The first node's RPC endpoint (clients connect here)."""
        return self.nodes[0].url

    @property
    def port(self) -> int:
        return self.nodes[0].rpc_port

    def start(self) -> NodeNetwork:
        binary = find_node_binary()
        for n in self.nodes:
            if not n.chain_spec.is_file():
                raise NodeError(f"the chain spec {n.chain_spec} is missing; run `make runtime`")
            if not self.persist and n.base_path.exists():
                shutil.rmtree(n.base_path)
            n.ensure_identity(binary)
        for n in self.nodes:
            n.bootnodes = [o.multiaddr for o in self.nodes if o is not n]
        try:
            for n in self.nodes:
                n.start(binary)
            for n in self.nodes:
                n.wait_ready(self.start_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def restart(self, name: str) -> NodeProcess:
        """Start a stopped or killed node again on its database; wait until it answers."""
        node = self.node(name)
        node.stop()
        node.start(find_node_binary())
        node.wait_ready(self.start_timeout)
        return node

    def node(self, name: str) -> NodeProcess:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def stop(self) -> None:
        for n in self.nodes:
            n.stop()

    def status(self) -> list[dict[str, Any]]:
        return [n.status() for n in self.nodes]

    def wait_until(self, predicate: Any, what: str, timeout: float = 120.0,
                   nodes: list[NodeProcess] | None = None) -> list[dict[str, Any]]:
        """Poll every node's status until ``predicate(statuses)`` holds."""
        end = time.monotonic() + timeout
        statuses: list[dict[str, Any]] = []
        while time.monotonic() < end:
            statuses = [n.status() for n in (nodes or self.nodes)]
            if all("error" not in s for s in statuses) and predicate(statuses):
                return statuses
            time.sleep(0.5)
        raise NodeError(f"timed out after {timeout:.0f} s waiting for {what}: {statuses}")

    def wait_finalized(self, number: int, timeout: float = 120.0,
                       nodes: list[NodeProcess] | None = None) -> list[dict[str, Any]]:
        """Wait until every (given) node has finalised block ``number`` or later."""
        return self.wait_until(lambda ss: all(s["finalized"] >= number for s in ss),
                               f"finalised block #{number}", timeout, nodes)

    def describe(self) -> list[dict[str, Any]]:
        """What ``devnet up`` records per node."""
        return [{"name": n.name, "pid": n.pid, "url": n.url, "rpc_port": n.rpc_port,
                 "p2p_port": n.p2p_port, "peer_id": n.peer_id, "base_path": str(n.base_path),
                 "log": str(n.log_path)} for n in self.nodes]

    def detach(self) -> list[dict[str, Any]]:
        """Let the nodes outlive this process (``devnet down`` stops them by pid)."""
        info = self.describe()
        for n in self.nodes:
            n.proc = None
        return info
