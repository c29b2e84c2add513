"""The local dev chain: our runtime on our node (default), or served by Chopsticks.

``decentralml devnet up`` starts our node (``services/node.py``): one dev node with instant
seal, or ``--nodes 3`` authorities making and finalising blocks; ``--engine chopsticks`` runs
the class below instead.

Chopsticks never forks a live chain here: it starts from ``chain/artifacts/chain-spec.raw.json``
and builds a block as soon as a transaction arrives (``Instant`` mode). It listens on
127.0.0.1 only. With ``persist=True`` blocks go to an SQLite database in the state directory
and a restart resumes from the last block.

    with Devnet(state_dir, port=free_port()) as chain:
        substrate = SubstrateInterface(url=chain.url)

``decentralml devnet up`` runs the same class detached and records its pid, so ``status``
and ``down`` find it again.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from decentralml_client.config import CHAIN_NODE_TOOLS, RAW_CHAIN_SPEC
from decentralml_client.errors import DecentralMLError
from decentralml_client.services.ports import free_port as free_port  # re-exported
from decentralml_client.services.ports import port_in_use
from decentralml_client.services.processes import Service, SpawnRecord, alive, terminate

MIN_NODE_MAJOR = 20
_SETUP_HINT = "run `make setup` (it installs Chopsticks into chain/node/node_modules)"


class DevnetError(DecentralMLError, RuntimeError):
    """The dev chain could not be started, found or stopped."""

    hint = _SETUP_HINT + "; `decentralml devnet status` shows what runs."


@dataclass(frozen=True)
class DevnetState:
    """What ``devnet up`` records so that ``status`` and ``down`` can find the chain."""

    pid: int
    port: int
    url: str
    log: str
    persist: bool
    started_at: float
    engine: str = "chopsticks"
    #: With the node engine: every node (name, pid, url, ports, peer id, base path, log).
    nodes: list[dict[str, object]] = field(default_factory=list)

    def pids(self) -> list[int]:
        return [int(n["pid"]) for n in self.nodes if n.get("pid")] or [self.pid]  # type: ignore[call-overload]


def find_chopsticks() -> tuple[str, Path]:
    """Return (node binary, chopsticks entry script), or raise with the fix."""
    node = os.environ.get("DML_NODE_BIN") or shutil.which("node")
    if not node:
        raise DevnetError(f"Node.js was not found on PATH; install Node.js >= {MIN_NODE_MAJOR}")
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
        major = int(out.stdout.strip().lstrip("v").split(".")[0])
    except (subprocess.CalledProcessError, ValueError) as exc:
        raise DevnetError(f"could not run `{node} --version`: {exc}") from exc
    if major < MIN_NODE_MAJOR:
        raise DevnetError(f"Node.js {major} is too old: Chopsticks 1.1 needs Node.js >= 20")
    override = os.environ.get("DML_CHOPSTICKS")
    script = (
        Path(override)
        if override
        else CHAIN_NODE_TOOLS / "node_modules" / "@acala-network" / "chopsticks" / "chopsticks.cjs"
    )
    if not script.is_file():
        raise DevnetError(f"Chopsticks is not installed ({script} is missing); {_SETUP_HINT}")
    return node, script


def wait_for_rpc(url: str, deadline_s: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll ``chain_getHeader`` until the node answers; fail early if ``proc`` exits."""
    from decentralml_client.chain.probe import answers

    end = time.monotonic() + deadline_s
    last = ""
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise DevnetError(f"Chopsticks exited with code {proc.returncode} while starting")
        ok, last = answers(url, timeout=2)
        if ok:
            return
        time.sleep(0.2)
    raise DevnetError(f"the dev chain at {url} did not answer within {deadline_s:.0f} s ({last})")


class Devnet(Service):
    """One Chopsticks process serving the DecentralML runtime on 127.0.0.1."""

    def __init__(
        self,
        state_dir: Path,
        *,
        port: int = 9944,
        persist: bool = False,
        chain_spec: Path = RAW_CHAIN_SPEC,
        start_timeout: float = 120.0,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.port = port
        self.persist = persist
        self.chain_spec = chain_spec
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "chopsticks.log"

    @property
    def db_path(self) -> Path:
        return self.state_dir / "chain.sqlite"

    def command(self) -> list[str]:
        node, script = find_chopsticks()
        if not self.chain_spec.is_file():
            raise DevnetError(
                f"the raw chain spec {self.chain_spec} is missing; run `make runtime` to build it"
            )
        cmd = [
            node, str(script),
            "--genesis", str(self.chain_spec),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--build-block-mode", "Instant",
            "--runtime-log-level", "0",
        ]  # fmt: skip
        if self.persist:
            cmd += ["--db", str(self.db_path)]
            last = _last_saved_block(self.db_path)
            if last is not None:
                cmd += ["--resume", last]
        return cmd

    def start(self, *, detach: bool = False) -> subprocess.Popen[bytes]:
        """Start Chopsticks and wait until it answers RPC. ``detach`` survives our exit."""
        if port_in_use(self.port):
            raise DevnetError(
                f"port {self.port} on 127.0.0.1 is taken (another dev chain?); "
                "try `decentralml devnet status`, or pick another with --port"
            )
        cmd = self.command()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # handed to the child process
        try:
            self._proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=str(self.state_dir),
            )
        finally:
            log.close()
        if detach:  # found by `devnet down` even if this start-up is interrupted
            SpawnRecord(self.state_dir).add("chopsticks", "chopsticks", pid=self._proc.pid)
        try:
            wait_for_rpc(self.url, self.start_timeout, self._proc)
        except DevnetError as exc:
            self.stop()
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise DevnetError(f"{exc}\n--- {self.log_path} (tail) ---\n{tail}") from exc
        if detach:
            self._write_state()
        return self._proc

    def stop(self, timeout: float = 10.0) -> None:
        if self._proc is None:
            return
        terminate([self._proc], steps=((signal.SIGTERM, timeout),))
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout)
        self._proc = None

    # -- detached instances (`devnet up` / `status` / `down`) --------------------------------

    @property
    def state_file(self) -> Path:
        return self.state_dir / "devnet.json"

    def _write_state(self) -> None:
        assert self._proc is not None
        state = DevnetState(
            pid=self._proc.pid,
            port=self.port,
            url=self.url,
            log=str(self.log_path),
            persist=self.persist,
            started_at=time.time(),
        )
        self.state_file.write_text(json.dumps(asdict(state), indent=2))


def _last_saved_block(db: Path) -> str | None:
    """Hash of the newest block Chopsticks saved in its SQLite database (None if none)."""
    import sqlite3

    if not db.is_file():
        return None
    with contextlib.closing(sqlite3.connect(db)) as conn:
        try:
            row = conn.execute("SELECT hash FROM block ORDER BY number DESC LIMIT 1").fetchone()
        except sqlite3.DatabaseError:
            return None
    return str(row[0]) if row else None


def read_state(state_dir: Path) -> DevnetState | None:
    """The recorded detached dev chain, or None when none is recorded or it has died."""
    path = Path(state_dir) / "devnet.json"
    if not path.is_file():
        return None
    state = DevnetState(**json.loads(path.read_text()))
    if not any(alive(pid) for pid in state.pids()):
        path.unlink(missing_ok=True)
        return None
    return state


def write_node_state(state_dir: Path, nodes: list[dict[str, object]], persist: bool) -> None:
    """Record detached nodes (``devnet up`` with the node engine)."""
    first = nodes[0]
    state = DevnetState(pid=int(first["pid"]), port=int(first["rpc_port"]),  # type: ignore[call-overload]
                        url=str(first["url"]), log=str(first["log"]), persist=persist,
                        started_at=time.time(), engine="node", nodes=nodes)
    (Path(state_dir) / "devnet.json").write_text(json.dumps(asdict(state), indent=2))


def stop_detached(state_dir: Path, timeout: float = 10.0) -> DevnetState | None:
    """Stop the recorded dev chain; return what was stopped (None when nothing ran)."""
    state = read_state(state_dir)
    if state is None:
        return None
    terminate(state.pids(), steps=((signal.SIGTERM, timeout),))
    (Path(state_dir) / "devnet.json").unlink(missing_ok=True)
    return state
