"""``decentralml demo --cohort/--committee/--audit``: the task create rules, checked before
anything starts, and the values handed to the demo."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

import decentralml_client.demo_run
from decentralml_client.cli._common import Exit
from decentralml_client.cli.main import app

runner = CliRunner()


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The options each run of the demo got (nothing is started)."""
    runs: list[Any] = []

    def run_demo(settings: Any, opts: Any, on_progress: Any) -> dict[str, Any]:
        runs.append(opts)
        raise KeyboardInterrupt("stop here")

    monkeypatch.setattr(decentralml_client.demo_run, "run_demo", run_demo)
    return runs


def test_committee_settings_reach_the_demo(started: list[Any]) -> None:
    runner.invoke(app, ["demo", "--contributors", "6", "--cohort", "4", "--validators", "5",
                        "--committee", "2", "--audit", "50%"])
    (opts,) = started
    assert (opts.cohort, opts.committee, opts.audit) == (4, 2, 0.5)


def test_the_audit_defaults_to_ten_percent_with_a_committee(started: list[Any]) -> None:
    runner.invoke(app, ["demo", "--committee", "2"])
    assert (started[0].committee, started[0].audit) == (2, 0.1)


@pytest.mark.parametrize(("args", "says"), [
    (["--committee", "6"], "1 to 5 validators"),
    (["--audit", "10%"], "needs a committee"),
    (["--contributors", "4", "--cohort", "0", "--committee", "2", "--audit", "60%"],
     "largest audited share, 50%"),
])
def test_bad_committee_settings_stop_the_demo_before_it_starts(
    started: list[Any], args: list[str], says: str
) -> None:
    result = runner.invoke(app, ["demo", *args])
    assert result.exit_code == Exit.USAGE, result.output
    assert says in " ".join(result.output.split()) and started == []
