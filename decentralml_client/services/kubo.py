"""A local Kubo (go-ipfs) daemon for tests and the dev network.

Network off by default: the daemon runs ``--offline`` with its HTTP API on 127.0.0.1 at a
free port, no gateway, no swarm listeners, no bootstrap peers, no mDNS and no remote
auto-configuration. ``online=True`` gives a loopback-only swarm for several local nodes.

    with KuboDaemon(tmp_path / "ipfs") as kubo:
        store = IpfsStore(kubo.api_multiaddr)

The binary is found in ``$DML_IPFS_BIN``, ``~/.cache/decentralml/bin/ipfs`` (where
``scripts/install-kubo.sh`` puts it) or on ``PATH``.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import time
import weakref
from pathlib import Path
from typing import Self

import httpx

from decentralml_client.errors import DecentralMLError
from decentralml_client.files import write_atomic
from decentralml_client.services.ports import free_port as free_port  # re-exported
from decentralml_client.services.ports import port_in_use, reserve
from decentralml_client.services.processes import Service, terminate

log = logging.getLogger(__name__)

DEFAULT_BINARY = Path.home() / ".cache" / "decentralml" / "bin" / "ipfs"
_INSTALL_HINT = (
    "run scripts/install-kubo.sh (builds the pinned Kubo into ~/.cache/decentralml/bin), "
    "or point $DML_IPFS_BIN at an ipfs binary"
)


class KuboError(DecentralMLError, RuntimeError):
    """Base class of Kubo daemon errors."""

    hint = "see the daemon's log named in the message; `decentralml devnet down` stops a stale one."


class KuboNotInstalled(KuboError, FileNotFoundError):
    """No ``ipfs`` binary could be found."""

    hint = _INSTALL_HINT + "."


class KuboStartError(KuboError):
    """The daemon did not start (port taken, repo locked, bad config, timeout)."""

    hint = "stop the other daemon using the repo or port (`decentralml devnet down`), then retry."


def find_kubo_binary(binary: str | os.PathLike[str] | None = None) -> Path:
    """Locate the Kubo binary: ``binary``, ``$DML_IPFS_BIN``, the install cache, then PATH."""
    candidates: list[tuple[str, str | os.PathLike[str] | None]] = [
        ("binary argument", binary),
        ("$DML_IPFS_BIN", os.environ.get("DML_IPFS_BIN")),
    ]
    for origin, candidate in candidates:
        if candidate:
            path = Path(candidate).expanduser()
            if path.is_file() and os.access(path, os.X_OK):
                return path
            raise KuboNotInstalled(
                f"Kubo binary from {origin} not found at {path}: {_INSTALL_HINT}"
            )
    if DEFAULT_BINARY.is_file() and os.access(DEFAULT_BINARY, os.X_OK):
        return DEFAULT_BINARY
    on_path = shutil.which("ipfs")
    if on_path:
        return Path(on_path)
    raise KuboNotInstalled(f"Kubo ('ipfs') is not installed: {_INSTALL_HINT}")


class KuboDaemon(Service):
    """One Kubo daemon process with its own repository (``IPFS_PATH``).

    ``api_port=None`` picks a free port. ``gateway=True`` serves the HTTP gateway on a free
    loopback port (off by default). ``online=True`` lets the node talk to peers, listening on
    loopback only; the default is ``ipfs daemon --offline``.
    """

    def __init__(
        self,
        repo_dir: str | os.PathLike[str],
        api_port: int | None = None,
        binary: str | os.PathLike[str] | None = None,
        *,
        online: bool = False,
        gateway: bool = False,
        start_timeout: float = 60.0,
        stop_timeout: float = 15.0,
    ) -> None:
        self.repo_dir = Path(repo_dir).expanduser().resolve()
        self._requested_port = api_port
        if api_port:
            reserve([api_port])  # no port picked in this process (a swarm port) lands on it
        self._binary_arg = binary
        self.online = online
        self.gateway = gateway
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.api_port: int | None = api_port
        self.gateway_port: int | None = None
        self.peer_id: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: Path = self.repo_dir / "daemon.log"

    # -- addresses -------------------------------------------------------------------------
    @property
    def api_multiaddr(self) -> str:
        """The HTTP API as a multiaddr, e.g. ``/ip4/127.0.0.1/tcp/45123``."""
        return f"/ip4/127.0.0.1/tcp/{self._port()}"

    @property
    def api_url(self) -> str:
        """The HTTP API base URL, e.g. ``http://127.0.0.1:45123``."""
        return f"http://127.0.0.1:{self._port()}"

    @property
    def gateway_url(self) -> str | None:
        """The gateway URL, or ``None`` when the gateway is off."""
        return f"http://127.0.0.1:{self.gateway_port}" if self.gateway_port else None

    @property
    def log_path(self) -> Path:
        """Where the daemon's stdout/stderr go."""
        return self._log_file

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def is_running(self) -> bool:
        """Whether the daemon process is alive (not necessarily ready)."""
        return self._proc is not None and self._proc.poll() is None

    def _port(self) -> int:
        if self.api_port is None:
            raise KuboError("the daemon has no API port yet: call start() first")
        return self.api_port

    def swarm_multiaddrs(self) -> list[str]:
        """The daemon's swarm listen addresses with its peer ID (empty when offline)."""
        reply = httpx.post(f"{self.api_url}/api/v0/swarm/addrs/listen", trust_env=False, timeout=10)
        reply.raise_for_status()
        return [
            f"{a}/p2p/{self.peer_id}"
            for a in reply.json().get("Strings") or []
            if a.startswith(("/ip4/", "/ip6/"))
        ]

    def connect_to(self, other: KuboDaemon) -> None:
        """Connect this (online) node to another local online node, e.g. on the dev network.

        Content then flows between them over bitswap; there is no DHT bootstrap or mDNS.
        """
        if not (self.online and other.online):
            raise KuboError("both daemons must be started with online=True to connect")
        addrs = other.swarm_multiaddrs()
        if not addrs:
            raise KuboError(f"{other!r} has no swarm address to connect to")
        reply = httpx.post(
            f"{self.api_url}/api/v0/swarm/connect",
            params={"arg": addrs[0]},
            trust_env=False,
            timeout=30,
        )
        if reply.status_code != 200:
            raise KuboError(f"could not connect to {addrs[0]}: {reply.text.strip()}")

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"KuboDaemon({str(self.repo_dir)!r}, api_port={self.api_port}, {state})"

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Self:
        """Initialise the repo if needed, configure it, start the daemon, wait until ready."""
        if self.is_running():
            return self
        binary = find_kubo_binary(self._binary_arg)
        self.repo_dir.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "IPFS_PATH": str(self.repo_dir), "IPFS_TELEMETRY": "off"}
        if not (self.repo_dir / "config").exists():
            self._init_repo(binary, env)
        attempts = 1 if self._requested_port is not None else 3
        for attempt in range(1, attempts + 1):
            if self._requested_port is not None:
                port = self._requested_port
            elif attempt == 1 and self.api_port is not None and not port_in_use(self.api_port):
                port = self.api_port  # a restart keeps its address, so clients reconnect
            else:
                port = free_port()
            if port_in_use(port):
                raise KuboStartError(
                    f"port {port} on 127.0.0.1 is already in use (another Kubo daemon?): stop "
                    "that process or pass api_port=None to pick a free port"
                )
            self.api_port = port
            self.gateway_port = free_port() if self.gateway else None
            self._configure()
            try:
                self._launch(binary, env)
                return self
            except _PortRace:
                self.stop()
                if attempt == attempts:
                    raise KuboStartError(
                        f"port {port} was taken while Kubo started; see {self._log_file}"
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self) -> None:
        """Stop the daemon: SIGINT (graceful), then SIGTERM, then SIGKILL. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        terminate([proc], steps=((signal.SIGINT, self.stop_timeout), (signal.SIGTERM, 5.0)),
                  group=False)
        log.info("Kubo daemon %s stopped (exit %s)", self.api_port, proc.returncode)

    def detach(self) -> int:
        """Let the running daemon outlive this process; return its pid (stop it by pid).

        After this, ``stop()``, the context manager and interpreter exit leave it running.
        """
        proc = self._proc
        if proc is None or proc.poll() is not None:
            raise KuboError("no running daemon to detach: call start() first")
        _RUNNING.discard(self)
        self._proc = None
        return proc.pid

    def kill(self) -> None:
        """SIGKILL the daemon at once, as a crash would (fault-injection tests)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()

    # -- internals ----------------------------------------------------------------------------
    def _init_repo(self, binary: Path, env: dict[str, str]) -> None:
        result = subprocess.run(
            [str(binary), "init", "--profile", "test", "--empty-repo"],
            env=env,
            capture_output=True,
            text=True,
            timeout=self.start_timeout,
            check=False,
        )
        if result.returncode != 0:
            raise KuboStartError(
                f"'ipfs init' failed in {self.repo_dir}: {result.stderr.strip() or result.stdout}"
            )
        log.info("initialised Kubo repo %s", self.repo_dir)

    def _configure(self) -> None:
        """Edit the repo config in place (the daemon is stopped): loopback only, quiet."""
        path = self.repo_dir / "config"
        config = json.loads(path.read_text())
        addresses = config.setdefault("Addresses", {})
        addresses["API"] = self.api_multiaddr
        addresses["Gateway"] = (
            f"/ip4/127.0.0.1/tcp/{self.gateway_port}" if self.gateway_port else []
        )
        addresses["Swarm"] = [f"/ip4/127.0.0.1/tcp/{free_port()}"] if self.online else []
        addresses["Announce"] = []
        addresses["AppendAnnounce"] = []
        addresses["NoAnnounce"] = []
        config["Bootstrap"] = []
        config.setdefault("Discovery", {}).setdefault("MDNS", {})["Enabled"] = False
        # Newer Kubo fetches bootstrap/routing defaults from the Internet ("AutoConf") and
        # sends anonymous telemetry when online: never, and no delegated (HTTP) routers.
        config.setdefault("AutoConf", {})["Enabled"] = False
        # Nor a certificate from the public AutoTLS service (it needs a public address anyway).
        config.setdefault("AutoTLS", {})["Enabled"] = False
        plugins = config.setdefault("Plugins", {})
        if not isinstance(plugins.get("Plugins"), dict):
            plugins["Plugins"] = {}
        plugins["Plugins"].setdefault("telemetry", {}).setdefault("Config", {})["Mode"] = "off"
        routing = config.setdefault("Routing", {})
        routing["DelegatedRouters"] = []
        config.setdefault("Ipns", {})["DelegatedPublishers"] = []
        swarm = config.setdefault("Swarm", {})
        swarm["DisableNatPortMap"] = True
        swarm.setdefault("RelayClient", {})["Enabled"] = False
        swarm.setdefault("RelayService", {})["Enabled"] = False
        self.peer_id = config.get("Identity", {}).get("PeerID")
        write_atomic(path, json.dumps(config, indent=2).encode(), durable=False)

    def _launch(self, binary: Path, env: dict[str, str]) -> None:
        args = [str(binary), "daemon"]
        if not self.online:
            args.append("--offline")
        with open(self._log_file, "wb") as out:
            self._proc = subprocess.Popen(
                args,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        _RUNNING.add(self)
        log.info("starting Kubo daemon (pid %s) API %s", self._proc.pid, self.api_url)
        deadline = time.monotonic() + self.start_timeout
        delay = 0.02
        with httpx.Client(timeout=2.0, trust_env=False) as http:
            while True:
                code = self._proc.poll()
                if code is not None:
                    self._proc = None
                    tail = self._log_tail()
                    if "address already in use" in tail:
                        raise _PortRace()
                    if "lock" in tail and "someone else" in tail:
                        raise KuboStartError(
                            f"another Kubo daemon already uses the repo {self.repo_dir}: stop "
                            f"it first. Daemon output:\n{tail}"
                        )
                    raise KuboStartError(f"Kubo daemon exited with code {code}:\n{tail}")
                try:
                    reply = http.post(f"{self.api_url}/api/v0/id")
                    if reply.status_code == 200:
                        peer = reply.json().get("ID")
                        if self.peer_id and peer != self.peer_id:
                            self.stop()
                            raise KuboStartError(
                                f"another IPFS node (peer {peer}) answers on {self.api_url}: "
                                "stop it or use another api_port"
                            )
                        self.peer_id = peer
                        log.info("Kubo daemon ready at %s (peer %s)", self.api_url, peer)
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise KuboStartError(
                        f"Kubo daemon not ready at {self.api_url} after {self.start_timeout:.0f}s;"
                        f" see {self._log_file}:\n{self._log_tail()}"
                    )
                time.sleep(delay)
                delay = min(delay * 1.5, 0.25)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            text = self._log_file.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])


# Daemons still running when the interpreter exits are stopped, so none is left behind.
_RUNNING: weakref.WeakSet[KuboDaemon] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for daemon in list(_RUNNING):
        with contextlib.suppress(Exception):
            daemon.stop()


class _PortRace(Exception):
    """The chosen port was taken between choosing it and the daemon binding it."""
