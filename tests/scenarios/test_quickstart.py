"""docs/quickstart.md, section 3, run as written: the dev network, keys, the faucet, a task and
the four role commands, until the task has ended with every round finalised and paid.

The test parses the section's shell blocks (it never copies them), so the quickstart cannot
drift from what works. Each line runs in bash as a user would type it, ``uv run decentralml``
included (a ``uv`` shim runs this checkout's ``decentralml``); the role commands and the
dashboard, which a user starts "each in its own terminal", run as background processes. A
question (``Send it? [y/N]``) gets the answer ``y``; the keystore password comes from
``DML_PASSWORD``, as the quickstart allows.

Everything runs in a network namespace of its own with only a loopback interface, so the
quickstart's fixed ports (9944, 5001, 8000) are free whatever else runs on the machine, and
nothing reaches another network. Without root (no ``ip netns``), the commands run on the
host's loopback and the test needs those ports free.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from decentralml_client.config import REPO_ROOT

pytestmark = pytest.mark.integration

QUICKSTART = REPO_ROOT / "docs" / "quickstart.md"
SECTION = "## 3. Run the roles yourself"
LONG_RUNNING = ("contribute", "validate", "aggregate", "dashboard")
ROLES = ("contribute", "validate", "aggregate")
TASK_TIMEOUT = 1500.0  # s: three rounds on four authorities with 6 s slots, TF start-up


@dataclass(frozen=True)
class Line:
    text: str  # the shell line as written (continuations joined)
    source: str  # quickstart.md:N

    @property
    def command(self) -> str | None:
        """The decentralml command it runs (``contribute``, ``devnet``, ...), if any."""
        m = re.search(r"uv run decentralml\s+(\S+)", self.text)
        return m.group(1) if m else None

    @property
    def background(self) -> bool:
        return self.command in LONG_RUNNING


def section_lines(text: str) -> tuple[list[Line], list[Line]]:
    """Section 3's fenced shell lines in order, and the commands its prose quotes inline
    after the last block (``devnet down``)."""
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip() == SECTION)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("## "))
    blocks: list[Line] = []
    after: list[Line] = []
    fenced, i = False, start
    while i < end:
        line = lines[i]
        if line.strip().startswith("```"):
            fenced = not fenced
            i += 1
            continue
        if fenced:
            number = i + 1
            while line.rstrip().endswith("\\"):
                i += 1
                line = line.rstrip()[:-1] + " " + lines[i].strip()
            code = re.sub(r"(^|\s)#.*$", "", line).strip()
            if code:
                blocks.append(Line(code, f"quickstart.md:{number}"))
        elif blocks:
            after += [Line(m, f"quickstart.md:{i + 1}")
                      for m in re.findall(r"`(uv run decentralml [^`]+)`", line)]
        i += 1
    return blocks, after


def test_the_quickstart_section_is_parsed_as_the_test_expects() -> None:
    blocks, after = section_lines(QUICKSTART.read_text())
    commands = [b.command for b in blocks]
    assert commands[:2] == ["devnet", "devnet"] and "task" in commands
    assert sorted(c for c in commands if c in ROLES) == ["aggregate", "contribute",
                                                         "contribute", "validate"]
    assert [a.text for a in after] == ["uv run decentralml devnet down"]


class Namespace:
    """Where the commands run: a fresh network namespace (loopback only), or the host."""

    def __init__(self) -> None:
        self.name: str | None = None
        if os.geteuid() == 0 and shutil.which("ip"):
            name = f"dml-qs-{uuid.uuid4().hex[:8]}"
            made = subprocess.run(["ip", "netns", "add", name], capture_output=True)
            if made.returncode == 0:
                self.name = name
                subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"],
                               check=True)

    def argv(self, command: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *command] if self.name else command

    def close(self) -> None:
        if self.name:
            subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


@pytest.fixture
def user(tmp_path: Path) -> Iterator[tuple[dict[str, str], Namespace, Path]]:
    """A new user's environment: an empty data directory, keystore and config, ``uv`` on
    the PATH (a shim running this checkout's ``decentralml``), the keystore password in
    DML_PASSWORD; and the namespace the commands run in. HOME stays: the node and Kubo
    binaries `make setup` built are found under it."""
    shims = tmp_path / "bin"
    shims.mkdir()
    uv = shims / "uv"
    uv.write_text(f'#!/bin/sh\n[ "$1" = run ] && shift\nexec "{Path(sys.executable).parent}/$@"\n')
    uv.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DML_")}
    env.update(PATH=f"{shims}:{os.environ['PATH']}", DML_PASSWORD="quickstart",
               DML_DATA_DIR=str(tmp_path / "data"), DML_KEYSTORE=str(tmp_path / "keys"),
               DML_CONFIG=str(tmp_path / "none.toml"), PYTHONUNBUFFERED="1",
               TF_CPP_MIN_LOG_LEVEL="3")
    for name in ("DML_NODE_BINARY", "DML_IPFS_BIN"):  # where they were built, if elsewhere
        if name in os.environ:
            env[name] = os.environ[name]
    ns = Namespace()
    try:
        yield env, ns, tmp_path
    finally:
        ns.close()


def _run(ns: Namespace, env: dict[str, str], line: Line, cwd: Path,
         timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(ns.argv(["bash", "-c", line.text]), env=env, cwd=cwd, text=True,
                          input="y\n" * 20, capture_output=True, timeout=timeout)
    assert done.returncode == 0, (f"{line.source}: `{line.text}` exited {done.returncode}\n"
                                  f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def _query(ns: Namespace, env: dict[str, str], cwd: Path, *args: str) -> object:
    line = Line("uv run decentralml --json " + " ".join(args), "test")
    return json.loads(_run(ns, env, line, cwd).stdout)


def test_the_quickstart_runs_a_task_to_its_end_as_written(user) -> None:
    env, ns, tmp = user
    blocks, after = section_lines(QUICKSTART.read_text())
    background: list[tuple[Line, subprocess.Popen[bytes], Path]] = []
    try:
        for line in blocks:
            if line.background:
                log = tmp / f"bg-{len(background)}.log"
                with open(log, "wb") as out:
                    proc = subprocess.Popen(ns.argv(["bash", "-c", line.text]), env=env,
                                            cwd=tmp, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
                background.append((line, proc, log))
            else:
                done = _run(ns, env, line, tmp)
                if line.command == "keys" and " new " in line.text:
                    assert done.stderr.count("recovery phrase") == 3
                if line.command == "account":
                    assert done.stderr.count("fee ") == 3

        roles = [(ln, p, log) for ln, p, log in background if ln.command in ROLES]
        deadline = time.monotonic() + TASK_TIMEOUT
        for ln, proc, log in roles:  # each role stops by itself once the task has ended
            try:
                code = proc.wait(max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pytest.fail(f"{ln.source}: `{ln.text}` still running after {TASK_TIMEOUT:.0f} s;"
                            f" task: {_query(ns, env, tmp, 'task', 'show', '0')}\n"
                            + log.read_text(errors="replace")[-3000:])
            assert code == 0, f"{ln.source}: exited {code}\n" + log.read_text()[-3000:]

        task = _query(ns, env, tmp, "task", "show", "0")
        assert isinstance(task, dict)
        assert task["status"] == "Finished", task
        rounds = task["rounds"]
        assert [r["round"] for r in rounds] == [0, 1, 2]
        assert all(int(r["accepted"]) == 2 and int(r["contributor_rewards"]) > 0
                   and int(r["validator_rewards"]) > 0 for r in rounds), rounds

        dashboard = next(p for ln, p, _ in background if ln.command == "dashboard")
        assert dashboard.poll() is None, "the dashboard stopped"
        page = subprocess.run(ns.argv([sys.executable, "-c",
                                       "import urllib.request as u;"
                                       "print(u.urlopen('http://127.0.0.1:8000/tasks/0',"
                                       " timeout=30).status)"]),
                              env=env, capture_output=True, text=True, timeout=60)
        assert page.stdout.strip() == "200", page.stderr

        for line in after:  # devnet down
            _run(ns, env, line, tmp)
        status = subprocess.run(ns.argv(["bash", "-c", "uv run decentralml devnet status"]),
                                env=env, cwd=tmp, capture_output=True, text=True)
        assert status.returncode == 3 and "stopped" in status.stdout
    finally:
        for _, proc, _ in background:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        subprocess.run(ns.argv(["bash", "-c", "uv run decentralml devnet down"]), env=env,
                       cwd=tmp, capture_output=True, timeout=120)
