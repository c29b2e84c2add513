"""The CLI: help everywhere, arguments and environment checked first, clear errors, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from decentralml_client.cli._common import Exit
from decentralml_client.cli.main import app
from decentralml_client.services.devnet import free_port

runner = CliRunner()


def _commands(cmd, path=()):  # noqa: ANN001, ANN202
    yield path
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _commands(sub, (*path, name))


ALL = list(_commands(typer.main.get_command(app)))


@pytest.mark.parametrize("path", ALL, ids=lambda p: " ".join(p) or "root")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_all_the_commands_users_expect_exist() -> None:
    names = {" ".join(p) for p in ALL}
    for expected in ("keys new", "keys list", "keys import", "keys export", "account balance",
                     "account faucet", "register", "deregister", "task create", "task list",
                     "task show", "task cancel", "contribute", "validate", "aggregate",
                     "finalize", "devnet up", "devnet status", "devnet down", "simulate",
                     "demo", "dashboard", "model init", "model pull", "model eval",
                     "model lineage"):
        assert expected in names, expected


def test_an_unreachable_node_exits_3_and_says_how_to_fix_it(tmp_path: Path) -> None:
    url = f"ws://127.0.0.1:{free_port()}"
    result = runner.invoke(app, ["--node", url, "task", "list"])
    assert result.exit_code == Exit.UNREACHABLE
    assert url in result.output and "devnet up" in result.output


def test_wrong_keystore_password_exits_5(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ks = tmp_path / "keys"
    monkeypatch.setenv("DML_PASSWORD", "right password")
    created = runner.invoke(app, ["--keystore", str(ks), "--json", "keys", "new", "alice"])
    assert created.exit_code == 0, created.output
    address = json.loads(created.stdout)["ss58_address"]
    listed = runner.invoke(app, ["--keystore", str(ks), "--json", "keys", "list"])
    assert [k["ss58_address"] for k in json.loads(listed.stdout)] == [address]
    monkeypatch.setenv("DML_PASSWORD", "wrong password")
    result = runner.invoke(app, ["--keystore", str(ks), "--node", f"ws://127.0.0.1:{free_port()}",
                                 "register", "contributor", "--key", "alice"])
    assert result.exit_code == Exit.AUTH
    assert "password" in result.output.lower()
    assert "right password" not in result.output


def test_bad_arguments_are_refused_before_anything_runs() -> None:
    cases = [
        ["demo", "--contributors", "2", "--malicious", "2"],
        ["demo", "--attack", "gentle"],
        ["task", "create", "--dev", "alice", "--rule", "mode"],
        ["task", "create", "--dev", "alice", "--min-contributors", "5", "--max-contributors", "2"],
        ["contribute", "--task", "0", "--dev", "bob", "--encoding", "bf16"],
        ["register", "dancer", "--dev", "bob"],
    ]
    for args in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == Exit.USAGE, (args, result.output)


def test_a_broken_config_file_is_reported(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('node_url = "ws://x"\nnode_ulr = "typo"\n')
    result = runner.invoke(app, ["--config", str(cfg), "task", "list"])
    assert result.exit_code == Exit.USAGE and "node_ulr" in result.output


@pytest.mark.integration
def test_unknown_task_and_json_output_against_the_dev_chain(devnet) -> None:  # noqa: ANN001
    result = runner.invoke(app, ["--node", devnet.url, "task", "show", "999999"])
    assert result.exit_code == Exit.FAILED and "task list" in result.output
    listed = runner.invoke(app, ["--node", devnet.url, "--json", "task", "list"])
    assert listed.exit_code == 0 and isinstance(json.loads(listed.stdout), list)
