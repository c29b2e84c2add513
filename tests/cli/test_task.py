"""``decentralml task create``: the options reach the chain's task spec as its values."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from typer.testing import CliRunner

import decentralml_client.cli.task
import decentralml_client.roles.creator
from decentralml_client.chain import PalletError, TaskSpec
from decentralml_client.cli._common import Exit
from decentralml_client.cli.main import app

runner = CliRunner()
BONDS = ["--contributor-bond", "1", "--validator-bond", "2"]  # no chain constants to read


@pytest.fixture
def created(monkeypatch: pytest.MonkeyPatch) -> list[TaskSpec]:
    """The task specs ``task create`` sends (no node, no IPFS)."""
    specs: list[TaskSpec] = []

    def create_task(ctx: Any, model_spec: Any, spec: TaskSpec, **_: Any) -> int:
        specs.append(spec)
        return 5

    monkeypatch.setattr(decentralml_client.cli.task, "signed_connection",
                        lambda *a: contextlib.nullcontext((object(), object())))
    monkeypatch.setattr(decentralml_client.cli.task, "open_store", lambda st: None)
    monkeypatch.setattr(decentralml_client.roles.creator, "create_task", create_task)
    return specs


@pytest.mark.parametrize(("args", "value", "admission"), [
    ([], "MedianCapped", "Open"),
    (["--example-weighting", "median-capped"], "MedianCapped", "Open"),
    (["--example-weighting", "claimed", "--admission", "allow-list"], "Claimed", "AllowList"),
    (["--example-weighting", "claimed", "--admission", "min-reputation:600"], "Claimed",
     {"MinReputation": 600}),
])
def test_example_weighting_reaches_the_spec_as_the_chain_value(
    created: list[TaskSpec], args: list[str], value: str, admission: Any
) -> None:
    result = runner.invoke(app, ["--json", "task", "create", "--dev", "alice", *BONDS, *args])
    assert result.exit_code == 0, result.output
    (spec,) = created
    assert (spec.example_weighting, spec.admission) == (value, admission)
    assert spec.to_call()["example_weighting"] == value


def test_an_unknown_example_weighting_is_a_usage_error(created: list[TaskSpec]) -> None:
    result = runner.invoke(app, ["task", "create", "--dev", "alice", *BONDS,
                                 "--example-weighting", "raw"])
    assert result.exit_code == Exit.USAGE, result.output
    assert "median-capped, claimed" in result.output and created == []


def test_the_chains_refusal_of_claimed_with_open_admission_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, created: list[TaskSpec]
) -> None:
    def refused(*a: Any, **kw: Any) -> int:
        raise PalletError("DecentralMl", "ClaimedWeightingNeedsClosedAdmission",
                          call="DecentralMl.create_task")

    monkeypatch.setattr(decentralml_client.roles.creator, "create_task", refused)
    result = runner.invoke(app, ["task", "create", "--dev", "alice", *BONDS,
                                 "--example-weighting", "claimed"])
    assert result.exit_code == Exit.REFUSED, result.output
    output = " ".join(result.output.split())
    assert "ClaimedWeightingNeedsClosedAdmission" in output
    assert "--example-weighting median-capped" in output and "allow-list" in output
