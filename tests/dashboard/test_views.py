"""Pure views: the pallet's records turned into what the dashboard shows (no app, no node)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from decentralml_client.chain import DecentralMl
from decentralml_client.chain.records import Hash, Submission, Task
from decentralml_client.dashboard import _views as views
from tests.dashboard.fakes import ALICE, BOB, CHARLIE, DAVE, FakeChain, finished_round, make_task


def test_paginate_newest_first_and_clamped() -> None:
    ids, meta = views.paginate(500, 1, 25)
    assert ids == list(range(499, 474, -1))
    assert meta == {"page": 1, "per_page": 25, "pages": 20, "total": 500}
    ids, meta = views.paginate(500, 20, 25)
    assert ids == list(range(24, -1, -1))
    assert views.paginate(500, 21, 25)[0] == []
    assert views.paginate(0, 1, 25) == ([], {"page": 1, "per_page": 25, "pages": 1, "total": 0})
    assert views.paginate(7, 1, 10_000)[1]["per_page"] == views.MAX_PER_PAGE


def _task(**fields: Any) -> Task:
    return Task.from_chain(0, {**make_task(0), **fields})


def test_phase_timeline_counts_blocks_left_from_head() -> None:
    task = _task(phase="VoteCommit", phase_ends_at=130)
    tl = views.phase_timeline(task, head=100)
    assert [p["state"] for p in tl] == ["done", "done", "current", "next", "next"]
    assert tl[2]["blocks_left"] == 30 and tl[2]["ends_at"] == 130
    assert views.phase_timeline(task, head=200)[2]["blocks_left"] == 0
    assert views.phase_timeline(_task(phase="Enrol"), 0)[0]["phase"] == "Enrol"


def test_vote_matrix_has_a_cell_per_validator_and_update() -> None:
    fake = FakeChain(1)
    finished_round(fake, 0, 0, 9000)
    dml = DecentralMl(fake)  # type: ignore[arg-type]
    stakes = {CHARLIE: 30, DAVE: 10}
    vm = views.vote_matrix(dml.submissions(0, 0), dml.votes(0, 0),
                           validators=[CHARLIE, DAVE, ALICE], commits={CHARLIE, DAVE},
                           stakes=stakes)
    assert vm["submissions"] == [0, 1] and vm["electorate_stake"] == 40
    rows = {r["validator"]: r for r in vm["rows"]}
    assert [(c["accept"], c["score"]) for c in rows[CHARLIE]["verdicts"]] == [
        (True, 9000), (False, 1200)]
    assert [(c["accept"], c["score"]) for c in rows[DAVE]["verdicts"]] == [
        (True, 9010), (False, 1100)]
    assert rows[ALICE] == {"validator": ALICE, "voted": False, "verdicts": [None, None],
                           "committed": False, "stake": None}
    assert [(t["accepts"], t["rejects"]) for t in vm["tallies"]] == [(2, 0), (0, 2)]


def test_pending_outcome_follows_the_pallet_quorum_rule() -> None:
    task = _task(phase="VoteReveal", vote_reveals=2, electorate_stake=3 * 10**12)
    sub = Submission(0, BOB, Hash(b"\x00" * 32), "Revealed", accept_stake=3 * 10**12)
    assert views.submission_view(0, sub, task, final=False)["outcome"] == "Accepted (pending)"
    # Permill 666_667 of 3 rounds the stake the quorum needs up to 3 (the pallet's mul_ceil).
    sub = replace(sub, accept_stake=2 * 10**12)
    assert views.submission_view(0, sub, task, final=False)["outcome"] == "Rejected (pending)"


def test_the_task_page_says_who_trains_and_who_judges() -> None:
    full = _task(phase="Commit", cohort_size=3)
    assert views.committees_text(full) == ("every contributor trains each round (3 drawn this "
                                           "round) · every validator judges every update")
    assert "drawn" not in views.committees_text(_task(phase="Enrol"))
    task = _task(phase="Commit", cohort_size=4)
    task = replace(task, spec=replace(task.spec, cohort=4, committee=2, audit=500_000))
    assert views.committees_text(task) == ("cohort of 4 contributors per round (4 drawn this "
                                           "round) · committee of 2 validators per update, "
                                           "50% audited by 6")
