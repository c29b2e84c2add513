"""Ctrl-C on ``decentralml demo`` cancels its task and gives the escrow back, and says so.

The demo runs as a user runs it, a ``decentralml demo`` process on a dev chain started with
``decentralml devnet up`` (one dev node with its block timer, and Kubo, on free ports), and
gets SIGINT: once before its first round (the whole escrow goes back at once) and once in the
middle of a round (the round is finished, its work paid, then the rest goes back).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from decentralml_client.services.devnet import free_port

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "decentralml_client.cli.main"]


@pytest.fixture(scope="module")
def chain_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], str]]:
    """A `devnet up` dev chain (one node, block timer) and Kubo in a data directory of its
    own; the environment that finds them, and the chain's URL."""
    data = tmp_path_factory.mktemp("demo-interrupt")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DML_")}
    env.update(DML_DATA_DIR=str(data), DML_CONFIG=str(data / "none.toml"),
               PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="3")
    for name in ("DML_NODE_BINARY", "DML_IPFS_BIN"):  # where they were built, if elsewhere
        if name in os.environ:
            env[name] = os.environ[name]
    port, ipfs_port = free_port(), free_port()
    subprocess.run([*CLI, "devnet", "up", "--nodes", "1", "--port", str(port), "--ipfs-port",
                    str(ipfs_port)], env=env, check=True, capture_output=True, timeout=300)
    try:
        yield env, f"ws://127.0.0.1:{port}"
    finally:
        subprocess.run([*CLI, "devnet", "down"], env=env, capture_output=True, timeout=120)


def _tasks(url: str) -> dict[int, Any]:
    from decentralml_client.chain import Chain, DecentralMl

    with Chain(url) as chain:
        return DecentralMl(chain).tasks()


def _interrupt_when(env: dict[str, str], url: str, tmp: Path, ready: Any, rounds: int = 3
                    ) -> tuple[int, str, int]:
    """Start a demo of ``rounds`` rounds, SIGINT it once ``ready(task)`` holds for its new
    task; returns its exit code, its output and the task id."""
    before = set(_tasks(url))
    log = tmp / "demo.log"
    with open(log, "wb") as out:
        demo = subprocess.Popen([*CLI, "demo", "--rounds", str(rounds), "--contributors", "2",
                                 "--validators", "1", "--local-epochs", "1", "--plot",
                                 str(tmp / "demo.png")], env=env, cwd=tmp, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while True:
            assert demo.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            new = {i: t for i, t in _tasks(url).items() if i not in before}
            if new and ready(next(iter(new.values()))):
                break
            time.sleep(0.2)
        task_id = next(iter(new))
        demo.send_signal(signal.SIGINT)
        code = demo.wait(400)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    return code, " ".join(log.read_text(errors="replace").split()), task_id


def _ended_with_escrow_back(url: str, task_id: int) -> int:
    """The task ended Cancelled with no escrow left; what its TaskCancelled event gave back."""
    from decentralml_client.chain import Chain, DecentralMl

    with Chain(url) as chain:
        task = DecentralMl(chain).task(task_id)
        assert task is not None and task.status == "Cancelled" and task.escrow == 0
        for _, events in chain.events_between(0, None):
            for e in events:
                if e.name == "TaskCancelled" and int(e.field("task_id")) == task_id:
                    return int(e.field("refunded"))
    raise AssertionError(f"no TaskCancelled event for task {task_id}")


def test_ctrl_c_before_the_first_round_cancels_the_task_and_returns_all_escrow(
        chain_env, tmp_path: Path) -> None:
    env, url = chain_env
    code, output, task_id = _interrupt_when(env, url, tmp_path, lambda t: True)
    assert code == 130, output
    assert f"task {task_id} cancelled before its first round" in output
    assert "went back to alice" in output and "creates a new task" in output
    from decentralml_client.chain import UNIT

    refunded = _ended_with_escrow_back(url, task_id)  # the escrow account's whole balance:
    assert 3 * 100 * UNIT <= refunded < 3 * 100 * UNIT + UNIT  # the reward and its deposit


def test_ctrl_c_mid_task_finishes_the_round_then_cancels_and_returns_the_rest(
        chain_env, tmp_path: Path) -> None:
    env, url = chain_env
    # Five rounds: however late the poll sees round 1 under load, rounds are left to cancel.
    code, output, task_id = _interrupt_when(
        env, url, tmp_path, lambda t: t.round >= 1 and t.phase not in ("Enrol", "Commit"),
        rounds=5)
    assert code == 130, output
    # Cancelled once the round under way is finalised, or at once if SIGINT came between
    # two rounds; either way after paying for at least rounds 0 and 1.
    assert (f"task {task_id} cancelled once its round" in output
            or f"task {task_id} cancelled between rounds" in output), output
    from decentralml_client.chain import UNIT

    refunded = _ended_with_escrow_back(url, task_id)
    assert 0 < refunded < 5 * 100 * UNIT  # at least rounds 0 and 1 were paid from it first
