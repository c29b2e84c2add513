"""``decentralml keys new`` shows a recovery phrase once; ``keys restore`` imports from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from decentralml_client.cli._common import Exit
from decentralml_client.cli.main import app

runner = CliRunner()


def test_new_shows_the_phrase_on_the_terminal_only_and_restore_recreates_the_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DML_PASSWORD", "a password")
    created = runner.invoke(app, ["--keystore", str(tmp_path / "a"), "--json", "keys", "new",
                                  "alice"])
    assert created.exit_code == 0, created.output
    address = json.loads(created.stdout)["ss58_address"]
    assert "recovery phrase" in created.stderr and "shown once" in created.stderr
    phrase = created.stderr.split("keep it offline):", 1)[1].split()[:12]
    assert len(phrase) == 12 and phrase[0] not in created.stdout  # not in the JSON

    restored = runner.invoke(app, ["--keystore", str(tmp_path / "b"), "--json", "keys",
                                   "restore", "alice"], input=" ".join(phrase) + "\n")
    assert restored.exit_code == 0, restored.output
    assert json.loads(restored.stdout)["ss58_address"] == address
    assert phrase[0] not in restored.output  # never echoed

    again = runner.invoke(app, ["--keystore", str(tmp_path / "b"), "keys", "restore", "alice"],
                          input=" ".join(phrase) + "\n")
    assert again.exit_code == Exit.FAILED and "exists" in again.output


def test_restore_refuses_a_wrong_phrase_without_showing_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DML_PASSWORD", "a password")
    wrong = "abandon " * 11 + "abandon"
    res = runner.invoke(app, ["--keystore", str(tmp_path), "keys", "restore", "bob"],
                        input=wrong + "\n")
    assert res.exit_code == Exit.FAILED
    assert "BIP-39" in res.output and "abandon" not in res.output
    assert not list(tmp_path.glob("*bob*"))
