"""Every error path ends with a message, what to do, the right exit code and no traceback."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

import decentralml_client.chain
import decentralml_client.cli.task
from decentralml_client.cli._common import Exit
from decentralml_client.cli.main import app
from decentralml_client.keys import Keystore
from decentralml_client.ml.errors import MLError
from decentralml_client.roles.common import Stopped
from decentralml_client.services.devnet import free_port

runner = CliRunner()


def _clean(result: Result, code: int) -> str:
    """The output, after checking the exit code and that no exception escaped."""
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result.output


@pytest.fixture
def keystore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A keystore with the key ``alice`` under the password ``right password``."""
    ks = tmp_path / "keys"
    monkeypatch.setenv("DML_PASSWORD", "right password")
    _clean(runner.invoke(app, ["--keystore", str(ks), "keys", "new", "alice"]), Exit.OK)
    return ks


def test_an_unreachable_node_says_what_to_do(tmp_path: Path) -> None:
    url = f"ws://127.0.0.1:{free_port()}"
    output = _clean(runner.invoke(app, ["--node", url, "task", "show", "3"]), Exit.UNREACHABLE)
    assert url in output and "devnet up" in output


def test_a_task_id_that_is_not_a_number_is_a_usage_error() -> None:
    _clean(runner.invoke(app, ["task", "show", "three"]), Exit.USAGE)


def test_an_unknown_task_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoTasks:
        def __init__(self, chain: Any) -> None: ...

        def task(self, task_id: int) -> None:
            return None

    monkeypatch.setattr(decentralml_client.cli.task, "connect",
                        lambda st: contextlib.nullcontext(object()))
    monkeypatch.setattr(decentralml_client.chain, "DecentralMl", NoTasks)
    output = _clean(runner.invoke(app, ["task", "show", "42"]), Exit.FAILED)
    assert "task 42 does not exist" in output and "task list" in output


def test_a_wrong_password_exits_5(keystore: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DML_PASSWORD", "wrong password")
    output = _clean(runner.invoke(app, ["--keystore", str(keystore), "--node",
                                        f"ws://127.0.0.1:{free_port()}",
                                        "deregister", "contributor", "--key", "alice"]),
                    Exit.AUTH)
    assert "password" in output.lower() and "what to do" in output


def test_an_unknown_key_exits_5(keystore: Path) -> None:
    output = _clean(runner.invoke(app, ["--keystore", str(keystore), "keys", "export", "bob"]),
                    Exit.AUTH)
    assert "keys list" in output


def test_a_missing_password_file_is_reported(keystore: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere" / "password.txt"
    _clean(runner.invoke(app, ["--keystore", str(keystore), "keys", "new", "bob",
                               "--password-file", str(missing)]), Exit.USAGE)
    monkeypatch.setenv("DML_PASSWORD_FILE", str(missing))
    output = _clean(runner.invoke(app, ["--keystore", str(keystore), "keys", "new", "bob"]),
                    Exit.FAILED)
    assert "No such file" in output and "what to do" in output


def test_a_missing_model_file_is_a_usage_error(tmp_path: Path) -> None:
    _clean(runner.invoke(app, ["task", "create", "--dev", "alice", "--model",
                               str(tmp_path / "model.json")]), Exit.USAGE)


def test_ctrl_c_in_any_command_exits_130(keystore: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Keystore, "list", interrupted)  # `keys list` has no handler of its own
    output = _clean(runner.invoke(app, ["--keystore", str(keystore), "keys", "list"]), 130)
    assert "interrupted" in output
    monkeypatch.setattr(Keystore, "export_public", interrupted)
    _clean(runner.invoke(app, ["--keystore", str(keystore), "keys", "export", "alice"]), 130)


def test_a_stopped_role_exits_130(keystore: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def stopped(*args: Any, **kwargs: Any) -> None:
        raise Stopped  # as RoleContext.wait does once SIGINT or SIGTERM set the stop event

    monkeypatch.setattr(Keystore, "list", stopped)
    output = _clean(runner.invoke(app, ["--keystore", str(keystore), "keys", "list"]),
                    Exit.INTERRUPTED)
    assert "asked to stop" in output and "journal" in output


def test_any_project_error_in_any_command_prints_its_hint(keystore: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise MLError("the manifest is broken", hint="fix the manifest.")

    monkeypatch.setattr(Keystore, "list", broken)
    output = _clean(runner.invoke(app, ["--keystore", str(keystore), "keys", "list"]), Exit.FAILED)
    assert "error: the manifest is broken" in output and "what to do: fix the manifest." in output


CTRL_C_SCRIPT = """
import sys, time
from decentralml_client.keys import Keystore
def slow(self):
    print("ready", flush=True)
    time.sleep(60)
Keystore.list = slow
from decentralml_client.cli.main import app
sys.argv = ["decentralml", "--keystore", sys.argv[1], "keys", "list"]
app()
"""


def test_a_real_ctrl_c_exits_130_without_a_traceback(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_SCRIPT, str(tmp_path / "keys")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        # SIGINT handled as in a terminal (a non-interactive shell's background job ignores it)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGINT)
    output = proc.stdout.read()
    assert proc.wait(30) == Exit.INTERRUPTED, output
    assert "interrupted" in output and "Traceback" not in output
