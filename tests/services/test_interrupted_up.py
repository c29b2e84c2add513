"""An interrupted ``devnet up`` leaves nothing running, or ``devnet down`` finds and stops it:
every process is recorded (``starting.json``) the moment it is spawned. Real node and Kubo
processes; the interruptions are Ctrl-C, SIGTERM and SIGKILL of the starting process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from decentralml_client.services import stack
from decentralml_client.services.ports import free_port_block
from decentralml_client.services.processes import SpawnRecord, alive

pytestmark = pytest.mark.integration


def _wait(predicate, what: str, timeout: float = 60.0) -> None:  # noqa: ANN001
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _gone(pids: list[int], timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while any(alive(p) for p in pids) and time.monotonic() < end:
        time.sleep(0.1)
    return not any(alive(p) for p in pids)


def _recorded(state_dir: Path, kind: str) -> list[int]:
    return [int(e["pid"]) for e in SpawnRecord(state_dir).entries()  # type: ignore[call-overload]
            if e["kind"] == kind and "pid" in e]


HANG = {
    # spawned, never ready: `up` is still starting the nodes
    "nodes": "from decentralml_client.services import node\n"
             "node.NodeProcess.wait_ready = lambda self, s: time.sleep(3600)\n",
    # nodes up and recorded, the Kubos spawned and ready, not yet handed over
    "kubo": "from decentralml_client.services import kubo\n"
            "kubo.KuboDaemon.detach = lambda self: time.sleep(3600)\n",
}


def _start_up(state_dir: Path, hang: str) -> subprocess.Popen[bytes]:
    port = free_port_block(4)
    script = textwrap.dedent("""
        import sys, time
        from pathlib import Path
        from decentralml_client.services import stack
        """) + HANG[hang] + (
        f"stack.up(Path({str(state_dir)!r}), port={port}, ipfs_port={port + 2}, nodes=1)\n")
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


@pytest.mark.parametrize("hang", ["nodes", "kubo"])
def test_down_finds_what_a_killed_up_had_started(tmp_path: Path, node_binary: Path,
                                                 hang: str) -> None:
    kind = "node" if hang == "nodes" else "kubo"
    up = _start_up(tmp_path, hang)
    try:
        _wait(lambda: _recorded(tmp_path, kind), f"a recorded {kind}")
        time.sleep(0.5)
    finally:
        up.kill()  # SIGKILL: no clean-up of its own
        up.wait()
    pids = [int(e["pid"]) for e in SpawnRecord(tmp_path).entries()]  # type: ignore[call-overload]
    assert pids and all(alive(p) for p in pids)

    stopped = stack.down(tmp_path)

    assert set(pids) <= set(stopped.interrupted) | {
        int(n["pid"]) for n in (stopped.chain or {}).get("nodes", [])}
    assert _gone(pids)
    assert not (tmp_path / SpawnRecord.NAME).exists()
    assert stack.down(tmp_path) == stack.StackStatus(None, None, [])  # nothing left


def test_a_terminated_up_stops_what_it_started_on_the_way_out(tmp_path: Path,
                                                              node_binary: Path) -> None:
    up = _start_up(tmp_path, "nodes")
    try:
        _wait(lambda: _recorded(tmp_path, "node"), "a recorded node")
        pids = _recorded(tmp_path, "node")
        up.send_signal(signal.SIGTERM)
        assert up.wait(60) != 0
    finally:
        if up.poll() is None:
            up.kill()
    assert _gone(pids)
    assert not (tmp_path / SpawnRecord.NAME).exists() and not (tmp_path / "devnet.json").exists()


def test_ctrl_c_while_kubo_starts_stops_the_nodes_too(tmp_path: Path, node_binary: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[int] = []

    def interrupted(*args: object, **kwargs: object) -> None:
        started.extend(_recorded(tmp_path, "node"))
        raise KeyboardInterrupt

    monkeypatch.setattr(stack, "start_kubo_detached", interrupted)
    port = free_port_block(4)
    with pytest.raises(KeyboardInterrupt):
        stack.up(tmp_path, port=port, ipfs_port=port + 2, nodes=1)
    assert started and _gone(started)  # the node had been started, and is stopped
    assert not (tmp_path / "devnet.json").exists()
    assert not (tmp_path / SpawnRecord.NAME).exists()
    assert stack.down(tmp_path) == stack.StackStatus(None, None, [])


def test_a_kubo_recorded_before_its_pid_is_found_by_its_repository(tmp_path: Path) -> None:
    repo = tmp_path / "ipfs"
    env = {**os.environ, "IPFS_PATH": str(repo)}
    proc = subprocess.Popen(["sleep", "60"], env=env)
    try:
        record = SpawnRecord(tmp_path)
        record.add("kubo", "ipfs", repo=str(repo))
        deadline = time.monotonic() + 10  # until the new process's environment is readable
        while record.pids() != [proc.pid] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert record.pids() == [proc.pid]
        assert stack.down(tmp_path).interrupted == [proc.pid]
        assert _gone([proc.pid], 10)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_devnet_down_says_what_an_interrupted_up_left(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from decentralml_client.cli.main import app

    proc = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        SpawnRecord(tmp_path / "devnet").add("node", "alice", pid=proc.pid)
        env = {"DML_DATA_DIR": str(tmp_path)}
        text = CliRunner().invoke(app, ["devnet", "down"], env=env)
        assert text.exit_code == 0, text.output
        assert f"stopped 1 process(es) an interrupted `devnet up` had started (pids {proc.pid})" \
            in text.output
        assert _gone([proc.pid], 10)
        again = CliRunner().invoke(app, ["--json", "devnet", "down"], env=env)
        assert json.loads(again.output)["stopped"] == {"chain": False, "ipfs": False}
    finally:
        if proc.poll() is None:
            proc.kill()
