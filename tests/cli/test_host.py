"""``decentralml host``: roles hosted as threads of one process. A role that fails is
started again (a bounded number of times, with a log line); the others go on; a signal, a
usage error or success is final."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from decentralml_client.cli import roles
from decentralml_client.cli._common import Exit
from decentralml_client.cli.main import app
from decentralml_client.cli.roles import run_hosted


class FlakyRoles:
    """Role bodies by name: ``fails[name]`` failures (exceptions or exit codes) first."""

    def __init__(self, fails: dict[str, list[Any]]) -> None:
        self.fails = {k: list(v) for k, v in fails.items()}
        self.runs: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, entry: dict[str, Any]) -> int:
        name = entry["name"]
        with self.lock:
            self.runs[name] = self.runs.get(name, 0) + 1
            left = self.fails.get(name) or []
            outcome = left.pop(0) if left else Exit.OK
        if isinstance(outcome, BaseException):
            raise outcome
        return int(outcome)


def _run(fails: dict[str, list[Any]], names: list[str], **kw: Any
         ) -> tuple[dict[str, int], FlakyRoles, list[str]]:
    body, lines = FlakyRoles(fails), []
    codes = run_hosted([{"name": n, "args": []} for n in names], body, threading.Event(),
                       backoff=0.0, log=lines.append, **kw)
    return codes, body, lines


def test_a_role_that_raises_once_is_restarted_and_the_others_go_on() -> None:
    codes, body, lines = _run({"validator-1": [RuntimeError("Transaction Already Imported")]},
                              ["contributor", "validator-1", "validator-2"])
    assert codes == {"contributor": 0, "validator-1": 0, "validator-2": 0}
    assert body.runs == {"contributor": 1, "validator-1": 2, "validator-2": 1}
    assert len(lines) == 1
    assert "validator-1: failed (RuntimeError: Transaction Already Imported); restarting" in \
        lines[0] and "restart 1 of 3" in lines[0]


def test_restarts_are_bounded_and_the_last_failure_is_the_roles_exit_code() -> None:
    codes, body, lines = _run({"v": [Exit.REFUSED] * 10}, ["v", "c"], max_restarts=2)
    assert body.runs == {"v": 3, "c": 1}
    assert codes == {"v": Exit.REFUSED, "c": 0}
    assert len(lines) == 3 and "not restarted again after 2 restart(s)" in lines[-1]


def test_usage_errors_and_interrupts_are_not_restarted() -> None:
    codes, body, lines = _run({"a": [Exit.USAGE], "b": [Exit.AUTH], "c": [Exit.INTERRUPTED]},
                              ["a", "b", "c"])
    assert body.runs == {"a": 1, "b": 1, "c": 1} and lines == []
    assert codes == {"a": Exit.USAGE, "b": Exit.AUTH, "c": Exit.INTERRUPTED}


def test_a_failure_after_a_signal_is_not_restarted() -> None:
    stop = threading.Event()
    stop.set()
    body = FlakyRoles({"a": [RuntimeError("node gone")]})
    codes = run_hosted([{"name": "a", "args": []}], body, stop, backoff=0.0,
                       log=lambda _: None)
    assert body.runs == {"a": 1} and codes == {"a": Exit.FAILED}


def test_the_host_command_restarts_a_failing_role_and_exits_0(tmp_path: Path,
                                                              monkeypatch) -> None:
    calls: list[list[str]] = []

    class FakeCommand:
        def main(self, args: list[str], **_: Any) -> int:
            calls.append(args)
            if args == ["validate"] and calls.count(["validate"]) == 1:
                raise RuntimeError("the node answered 1013")
            return 0

    monkeypatch.setattr(roles, "root_command", lambda ctx: FakeCommand())
    monkeypatch.setattr(roles, "run_hosted",
                        lambda entries, run_one, stop, **kw: run_hosted(
                            entries, run_one, stop, **{**kw, "backoff": 0.0}))
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps([{"name": "v", "args": ["validate"]},
                                {"name": "c", "args": ["contribute"]}]))
    result = CliRunner().invoke(app, ["host", str(plan)])
    assert result.exit_code == 0, result.output
    assert sorted(map(tuple, calls)) == [("contribute",), ("validate",), ("validate",)]
    assert "v: failed (RuntimeError: the node answered 1013); restarting" in result.output
