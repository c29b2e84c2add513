"""Pure views: raw pallet storage turned into what the dashboard shows (no app, no node)."""

from __future__ import annotations

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


def test_phase_timeline_counts_blocks_left_from_head() -> None:
    task = make_task(0, phase="Vote", phase_ends_at=130)
    tl = views.phase_timeline(task, head=100)
    assert [p["state"] for p in tl] == ["done", "done", "current", "next"]
    assert tl[2]["blocks_left"] == 30 and tl[2]["ends_at"] == 130
    assert views.phase_timeline(task, head=200)[2]["blocks_left"] == 0


def test_vote_matrix_has_a_cell_per_validator_and_update() -> None:
    fake = FakeChain(1)
    finished_round(fake, 0, 0, 9000)
    vm = views.vote_matrix(fake.submissions[(0, 0)], fake.votes[(0, 0)],
                           validators=[CHARLIE, DAVE, ALICE])
    assert vm["submissions"] == [0, 1]
    rows = {r["validator"]: r for r in vm["rows"]}
    assert rows[CHARLIE]["verdicts"] == [{"accept": True, "score": 9000},
                                         {"accept": False, "score": 1200}]
    assert rows[DAVE]["verdicts"] == [{"accept": True, "score": 9010}, None]
    assert rows[ALICE] == {"validator": ALICE, "voted": False, "verdicts": [None, None]}


def test_pending_outcome_follows_the_pallet_quorum_rule() -> None:
    task = make_task(0, phase="Vote")
    task["voters"] = 3
    sub = {"contributor": BOB, "cid": "c", "update_hash": "0x", "num_examples": 1,
           "accepts": 3, "rejects": 0, "status": "Revealed"}
    assert views.submission_view(0, sub, task, final=False)["outcome"] == "Accepted (pending)"
    # Permill 666_667 of 3 voters rounds up to 3 accepts (the pallet's mul_ceil).
    sub["accepts"] = 2
    assert views.submission_view(0, sub, task, final=False)["outcome"] == "Rejected (pending)"
