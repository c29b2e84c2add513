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
    monkeypatch.setattr(decentralml_client.cli.task, "confirm_send", lambda *a, **k: None)
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


def test_shares_are_taken_as_percentages_or_fractions(created: list[TaskSpec]) -> None:
    res = runner.invoke(app, ["task", "create", "--dev", "alice", *BONDS, "--quorum", "75%",
                              "--validator-share", "0.25"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["task", "create", "--dev", "alice", *BONDS])
    assert res.exit_code == 0, res.output
    assert [(s.quorum, s.validator_share) for s in created] == [(750_000, 250_000),
                                                                 (666_666, 200_000)]
    bad = runner.invoke(app, ["task", "create", "--dev", "alice", *BONDS, "--quorum", "150%"])
    assert bad.exit_code == Exit.USAGE and "between 0% and 100%" in bad.output


def test_validator_seats_default_to_the_minimum_so_enrolment_ends_when_they_are_taken(
        created: list[TaskSpec]) -> None:
    for args in ([], ["--min-validators", "3"], ["--min-validators", "2", "--max-validators", "5"]):
        res = runner.invoke(app, ["task", "create", "--dev", "alice", *BONDS, *args])
        assert res.exit_code == 0, res.output
    assert [(s.min_validators, s.max_validators) for s in created] == [(1, 1), (3, 3), (2, 5)]


def test_help_groups_the_options_and_shows_shares_as_percentages() -> None:
    res = runner.invoke(app, ["task", "create", "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    for panel in ("Model", "Rounds and seats", "Aggregation", "Server optimiser and local "
                  "training", "Reward, bonds and admission", "Schedule (in blocks)"):
        assert panel in res.output
    assert "66.7 %" in res.output and "0.666" not in res.output and "<bool>" not in res.output


@pytest.mark.parametrize(("args", "seats"), [
    ([], (0, 0, 0)),
    (["--cohort", "4", "--committee", "3"], (4, 3, 100_000)),  # audit 10 % with a committee
    (["--committee", "2", "--audit", "50%"], (0, 2, 500_000)),
    (["--committee", "5", "--audit", "0"], (0, 5, 0)),
])
def test_cohort_committee_and_audit_reach_the_spec(
    created: list[TaskSpec], args: list[str], seats: tuple[int, int, int]
) -> None:
    result = runner.invoke(app, ["--json", "task", "create", "--dev", "alice", *BONDS, *args])
    assert result.exit_code == 0, result.output
    (spec,) = created
    assert (spec.cohort, spec.committee, spec.audit) == seats
    assert {k: spec.to_call()[k] for k in ("cohort", "committee", "audit")} == dict(
        zip(("cohort", "committee", "audit"), seats, strict=True))


@pytest.mark.parametrize(("args", "says"), [
    (["--committee", "6"], "1 to 5 validators"),
    (["--committee", "2", "--audit", "60%"], "largest audited share, 50%"),
    (["--audit", "10%"], "needs a committee"),
    (["--min-contributors", "3", "--cohort", "2"], "below min_contributors"),
    (["--max-contributors", "1024", "--max-validators", "64"], "CommitteeRequired"),
])
def test_bad_committee_settings_are_refused_before_signing(
    created: list[TaskSpec], args: list[str], says: str
) -> None:
    result = runner.invoke(app, ["task", "create", "--dev", "alice", *BONDS, *args])
    assert result.exit_code == Exit.USAGE, result.output
    assert says in " ".join(result.output.split()) and created == []


def test_a_large_task_with_a_committee_is_accepted(created: list[TaskSpec]) -> None:
    result = runner.invoke(app, ["--json", "task", "create", "--dev", "alice", *BONDS,
                                 "--max-contributors", "1024", "--max-validators", "64",
                                 "--committee", "3", "--cohort", "256"])
    assert result.exit_code == 0, result.output
    assert (created[0].committee, created[0].cohort) == (3, 256)


def test_task_show_says_who_trains_and_who_judges(monkeypatch: pytest.MonkeyPatch) -> None:
    from decentralml_client.chain import DecentralMl
    from decentralml_client.chain.records import Task

    spec = TaskSpec(model_cid="bafy", model_hash="0x" + "11" * 32, cohort=4, committee=2,
                    audit=500_000)
    task = Task(id=3, creator="alice", spec=spec, status="Active", round=1, phase="Commit",
                phase_ends_at=20, retries=0, model_cid="bafy", model_hash=spec.model_hash,
                cohort_size=4)

    class Chain:
        def head(self) -> tuple[int, str]:
            return 12, "0x12"

    monkeypatch.setattr(decentralml_client.cli.task, "connect",
                        lambda st: contextlib.nullcontext(Chain()))
    monkeypatch.setattr(DecentralMl, "task", lambda self, task_id: task)
    monkeypatch.setattr(DecentralMl, "round_summary", lambda self, task_id, r: None)
    monkeypatch.setattr(decentralml_client.cli.task, "errors_to_exit", contextlib.nullcontext)
    result = runner.invoke(app, ["task", "show", "3"])
    assert result.exit_code == 0, result.output
    assert "cohort 4 (4 drawn this attempt) · committee 2 · audit 50%" in result.output
