"""Stopping the processes we started: politely first, then for sure."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from decentralml_client.files import write_atomic

#: The usual way to stop a daemon: SIGTERM, and SIGKILL after 10 s.
DEFAULT_STEPS: tuple[tuple[int, float], ...] = ((signal.SIGTERM, 10.0),)


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie child of ours counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def _running(target: subprocess.Popen[bytes] | int) -> bool:
    if isinstance(target, subprocess.Popen):
        return target.poll() is None
    with contextlib.suppress(ChildProcessError):
        os.waitpid(target, os.WNOHANG)  # reap it if it is our child
    return alive(target)


def _signal(target: subprocess.Popen[bytes] | int, sig: int, group: bool) -> None:
    pid = target.pid if isinstance(target, subprocess.Popen) else target
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def terminate(targets: Sequence[subprocess.Popen[bytes] | int], *,
              steps: Sequence[tuple[int, float]] = DEFAULT_STEPS, group: bool = True) -> None:
    """Stop every target (a child ``Popen`` or any pid) and wait until they are gone.

    Each step sends its signal to the targets still running and waits up to its timeout for
    all of them; whatever is left gets SIGKILL. With ``group`` the signals go to each
    target's process group (it was started with ``start_new_session=True``), and the group
    gets a last SIGKILL even when its leader exited, so no helper process outlives it.
    """
    for sig, timeout in steps:
        running = [t for t in targets if _running(t)]
        if not running:
            break
        for t in running:
            _signal(t, sig, group)
        end = time.monotonic() + timeout
        while time.monotonic() < end and any(_running(t) for t in running):
            time.sleep(0.05)
    for t in targets:
        if group or _running(t):
            _signal(t, signal.SIGKILL, group)
        if isinstance(t, subprocess.Popen):
            with contextlib.suppress(subprocess.TimeoutExpired):
                t.wait(5)


class Service:
    """Something this process starts and stops (a dev chain, a node network, a Kubo daemon):
    ``with service:`` starts it and stops it when the block ends, however it ends."""

    def start(self) -> object:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class SpawnRecord:
    """What a start-up has spawned so far, on disk (``<state_dir>/starting.json``), written
    as soon as each process exists: if the start-up is interrupted before it records its
    result (Ctrl-C, SIGTERM, even SIGKILL), whatever it left running can still be found and
    stopped (``decentralml devnet down``). A process recorded before its pid is known (a
    Kubo daemon is spawned inside its launcher) is recorded by its repository and found by
    its ``IPFS_PATH``."""

    NAME = "starting.json"

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / self.NAME

    def entries(self) -> list[dict[str, object]]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return []
        return list(data.get("processes", [])) if isinstance(data, dict) else []

    def add(self, kind: str, name: str, *, pid: int | None = None,
            repo: str | None = None) -> None:
        """Record one process (again with its pid once known: same kind and name)."""
        entries = [e for e in self.entries() if (e.get("kind"), e.get("name")) != (kind, name)]
        entry: dict[str, object] = {"kind": kind, "name": name}
        if pid is not None:
            entry["pid"] = pid
        if repo is not None:
            entry["repo"] = repo
        entries.append(entry)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps({"owner": os.getpid(), "processes": entries},
                                           indent=1).encode(), durable=False)

    def pids(self) -> list[int]:
        """The recorded processes that still run (by pid, or by their Kubo repository)."""
        found: set[int] = set()
        for e in self.entries():
            pid = e.get("pid")
            if isinstance(pid, int) and alive(pid):
                found.add(pid)
            repo = e.get("repo")
            if isinstance(repo, str):
                found.update(p for p in pids_with_env("IPFS_PATH", repo) if alive(p))
        found.discard(os.getpid())
        return sorted(found)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def pids_with_env(name: str, value: str) -> list[int]:
    """This user's processes whose environment sets ``name=value`` (Linux ``/proc``)."""
    wanted = f"{name}={value}".encode()
    out = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if wanted in (entry / "environ").read_bytes().split(b"\0"):
                out.append(int(entry.name))
    return out
