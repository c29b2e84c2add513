"""``--help`` says where settings come from, and commands find the chain `devnet up` started."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from decentralml_client.cli._common import devnet_endpoints, state
from decentralml_client.cli.main import app

runner = CliRunner()


def test_global_help_names_the_environment_variables_and_shows_no_bool_types() -> None:
    res = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    for var in ("DML_NODE_URL", "DML_IPFS_API", "DML_KEYSTORE", "DML_CONFIG"):
        assert var in res.output
    assert "<bool>" not in res.output and "URL ." not in res.output


def _record(devnet: Path, pid: int) -> None:
    devnet.mkdir(parents=True)
    (devnet / "devnet.json").write_text(json.dumps({"pid": pid, "url": "ws://127.0.0.1:9955"}))
    (devnet / "kubo.json").write_text(json.dumps({"pid": pid,
                                                  "api": "/ip4/127.0.0.1/tcp/5011/http"}))


def test_commands_use_the_endpoints_devnet_up_recorded_unless_told_otherwise(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _record(tmp_path / "devnet", os.getpid())  # a live process stands for the recorded node
    monkeypatch.setenv("DML_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DML_NODE_URL", raising=False)
    monkeypatch.delenv("DML_IPFS_API", raising=False)
    seen: list[tuple[str, str]] = []
    probe = typer.Typer()

    @probe.callback(invoke_without_command=True)
    def _show(ctx: typer.Context) -> None:
        s = state(ctx).settings
        seen.append((s.node_url, s.ipfs_api))

    app.add_typer(probe, name="probe-settings", hidden=True)
    try:
        assert runner.invoke(app, ["probe-settings"]).exit_code == 0
        assert runner.invoke(app, ["--node", "ws://other:1", "probe-settings"]).exit_code == 0
    finally:
        app.registered_groups = [g for g in app.registered_groups if g.name != "probe-settings"]
    assert seen == [("ws://127.0.0.1:9955", "/ip4/127.0.0.1/tcp/5011/http"),
                    ("ws://other:1", "/ip4/127.0.0.1/tcp/5011/http")]


def test_a_devnet_that_is_gone_is_not_used(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    _record(tmp_path / "devnet", int(done.stdout))
    assert devnet_endpoints(tmp_path / "devnet") == {}
    assert devnet_endpoints(tmp_path / "nothing") == {}
