"""Cohorts and committees on the real dev chain, a real Kubo daemon and real training.

6 contributors with a cohort of 4 and 5 validators with committees of 2 (50 % of the updates
audited by committees of min(6, 5) = 5) run 2 rounds through `decentralml demo`'s orchestrator,
every role training, fetching and judging for real in its own thread of the role host. Then
everything is checked against the chain, recomputing every draw with
:mod:`decentralml_client.protocol.sampling` from the seeds the chain published
(``CohortDrawn``, ``CommitteesDrawn``) and the round's ``Electorate``:

* each round's committers are exactly the 4 contributors the draw picked (the cut and the
  size the chain published are the 4th smallest ticket and 4);
* the 2 contributors not drawn are neither idle nor slashed, nor paid for that round, and
  sat it out without training or trying to commit (their role logs say ``not_drawn``);
* every revealed vote carries verdicts only on submissions whose judges include the voter,
  ascending, and every validator revealed a vote (an empty one when on no committee);
* each update's status is the quorum of its committee's stake, and the lineage check
  (``decentralml model lineage``) agrees; the rounds finalise and pay.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from decentralml_client.chain import Chain, DecentralMl
from decentralml_client.chain.api import account_id
from decentralml_client.config import Settings
from decentralml_client.demo_run import DemoOptions, run_demo
from decentralml_client.protocol.consensus import committee_accepts
from decentralml_client.protocol.sampling import cohort_ticket, draw_cohort, judges
from decentralml_client.roles.lineage import lineage_report

pytestmark = pytest.mark.integration

CONTRIBUTORS, COHORT, VALIDATORS, COMMITTEE, AUDIT = 6, 4, 5, 2, 500_000
ROUNDS = 2


def _events(chain: Chain, task_id: int, first: int, last: int) -> dict[str, list[Any]]:
    """The task's DecentralMl events between two blocks, by name, in order."""
    out: dict[str, list[Any]] = defaultdict(list)
    for _, events in chain.events_between(first, last):
        for e in events:
            if e.pallet == "DecentralMl" and getattr(e.record, "task_id", None) == task_id:
                out[e.name].append(e.record)
    return out


def _last(records: list[Any], round_: int) -> Any:
    """The last event of ``round_`` (the attempt that finalised it)."""
    return [e for e in records if e.round == round_][-1]


def test_cohorts_train_and_committees_judge_as_drawn_from_the_chain(
    devnet: Any, kubo: Any, tmp_path: Path
) -> None:
    with Chain(devnet.url) as chain:
        start_block = chain.head()[0]

    summary = run_demo(
        Settings(data_dir=tmp_path),
        DemoOptions(rounds=ROUNDS, contributors=CONTRIBUTORS, validators=VALIDATORS,
                    cohort=COHORT, committee=COMMITTEE, audit=AUDIT / 1e6, plot=None,
                    local_epochs=2),
        services=(devnet.url, kubo.api_multiaddr),
    )
    assert summary["status"] == "Finished", summary
    assert [r["round"] for r in summary["rounds"]] == list(range(ROUNDS))
    task_id = summary["task_id"]
    contributors = [p["address"] for p in summary["participants"] if p["role"] == "contributor"]
    validators = [p["address"] for p in summary["participants"] if p["role"] == "validator"]

    with Chain(devnet.url) as chain:
        dml = DecentralMl(chain)
        task = dml.task(task_id)
        assert task is not None
        assert (task.spec.cohort, task.spec.committee, task.spec.audit) == (
            COHORT, COMMITTEE, AUDIT)
        events = _events(chain, task_id, start_block, chain.head()[0])
        for r in range(ROUNDS):
            summary_r = dml.round_summary(task_id, r)
            assert summary_r is not None
            attempt = summary_r.retries
            drawn = _check_cohort(dml, task_id, r, attempt, contributors, events)
            _check_not_drawn(events, r, set(contributors) - drawn)
            _check_committees(dml, task_id, r, attempt, validators, events)
        # the lineage check recomputes each update's committee from the chain too
        _, report = lineage_report(dml, task_id)
        assert report["checked"], report["problem"]
        assert all(u["committee_stake"] for r in report["rounds"] for u in r["updates"])
        paid = defaultdict(int)
        for e in events["RewardPaid"]:
            paid[e.who] += e.amount
    assert sum(paid[c] for c in contributors) > 0 and sum(paid[v] for v in validators) > 0
    # the roles themselves: the undrawn sat out without trying to commit, nobody was refused
    log = (Path(summary["workdir"]) / "roles.log").read_text(errors="replace")
    for r in range(ROUNDS):
        assert log.count(f"not_drawn task={task_id} round={r} ") == CONTRIBUTORS - COHORT, r
    assert "NotInCohort" not in log and "NotInCommittee" not in log
    assert len(events["RoundFinalized"]) == ROUNDS
    assert all(e.contributor_rewards > 0 for e in events["RoundFinalized"])


def _check_cohort(dml: DecentralMl, task_id: int, r: int, attempt: int,
                  contributors: list[str], events: dict[str, list[Any]]) -> set[str]:
    """The round's committers are exactly the drawn contributors; returns them."""
    drawn_event = _last(events["CohortDrawn"], r)
    seed = drawn_event.seed.raw
    ids = {c: account_id(c) for c in contributors}
    cut, size = draw_cohort(task_id, r, attempt, seed, list(ids.values()), COHORT)
    assert (drawn_event.cut, drawn_event.size) == (cut, size) and size == COHORT
    drawn = {c for c, a in ids.items() if cohort_ticket(task_id, r, attempt, seed, a) <= cut}
    committed = {s.contributor for s in dml.submissions(task_id, r).values()}
    assert committed == drawn, (r, sorted(committed), sorted(drawn))
    return drawn


def _check_not_drawn(events: dict[str, list[Any]], r: int, not_drawn: set[str]) -> None:
    """A contributor outside the cohort is not idle, not slashed and not paid for the round."""
    assert len(not_drawn) == CONTRIBUTORS - COHORT
    for name in ("MemberIdle", "Slashed", "RewardPaid", "SeatLost"):
        hit = [e for e in events[name] if e.round == r and e.who in not_drawn]
        assert hit == [], (name, r, hit)


def _check_committees(dml: DecentralMl, task_id: int, r: int, attempt: int,
                      validators: list[str], events: dict[str, list[Any]]) -> None:
    """Every vote judges its assigned submissions only, ascending; statuses follow the
    quorum of each committee's stake."""
    seed = _last(events["CommitteesDrawn"], r).seed.raw
    bonds = dml.electorate(task_id, r)
    assert sorted(bonds) == sorted(validators)
    electorate = [(account_id(a), b) for a, b in bonds.items()]
    by_id = {account_id(a): a for a in bonds}
    subs = {i: s for i, s in dml.submissions(task_id, r).items() if s.status in (
        "Accepted", "Rejected")}
    assert subs, f"round {r}: no revealed update"
    judged = {i: [by_id[j] for j in judges(task_id, r, attempt, seed,
                                           account_id(s.contributor), electorate, COMMITTEE,
                                           AUDIT)] for i, s in subs.items()}
    assert all(len(js) in (COMMITTEE, VALIDATORS) for js in judged.values()), judged
    votes = dml.votes(task_id, r)
    assert sorted(votes) == sorted(validators)  # nobody silent, on a committee or not
    for who, vote in votes.items():
        indices = [v.submission for v in vote.verdicts]
        assert indices == sorted(set(indices)), (who, indices)
        mine = {i for i, js in judged.items() if who in js}
        assert set(indices) <= mine, (r, who, indices, sorted(mine))
    quorum = dml.task(task_id).spec.quorum  # type: ignore[union-attr]
    for i, s in subs.items():
        accepted = committee_accepts(s.accept_stake, quorum, [bonds[j] for j in judged[i]])
        assert (s.status == "Accepted") == accepted, (r, i, s)
