"""The dashboard against a protocol v2 runtime (spec-v2): sealed votes, bonds, stake tallies.

Storage is shaped as ``/work/notes/spec-v2.md`` names it (``VoteCommits``, ``Electorate``,
``MemberInfo``, ``accept_stake``/``reject_stake``, ``slashed``), served by the in-memory fake.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from decentralml_client import protocol
from decentralml_client.chain.records import Submission, Task
from decentralml_client.dashboard import _views as views
from tests.dashboard.fakes import (
    ALICE,
    BOB,
    CHARLIE,
    DAVE,
    FakeChain,
    app_for,
    make_task_v2,
    member_v2,
)

DML = 10**12
E = 40 * DML  # electorate stake: CHARLIE 30 + DAVE 10


def v2_chain(phase: str) -> FakeChain:
    """Task 0 in round 1 (round 0 finalised) of a v2 chain, in ``phase``.

    Round 1: BOB's update #0 and ALICE-the-contributor's #1 are revealed; CHARLIE (bond 30)
    and DAVE (bond 10) form the electorate. When the votes are revealed, CHARLIE accepts #0
    and rejects #1, DAVE rejects #0 and accepts #1; DAVE's probe on #0 is within the floor
    of CHARLIE's (evidenced), on #1 far off the consensus probe, CHARLIE's (unevidenced).
    """
    fake = FakeChain(1)
    fake.tasks[0] = make_task_v2(0, round_=1, phase=phase, phase_ends_at=60, electorate_stake=E)
    fake.tasks[0]["slashed"] = 3 * DML
    fake.members[0] = {BOB: member_v2("Contributor", 2 * DML),
                       DAVE: member_v2("Validator", 10 * DML, leaving=True),
                       CHARLIE: member_v2("Validator", 30 * DML)}
    for r in (0, 1):
        fake.electorate[(0, r)] = [(CHARLIE, 30 * DML), (DAVE, 10 * DML)]
    fake.summaries[(0, 0)] = {
        "model_cid": "bafy-m1", "model_hash": "0x" + "01" * 32, "accepted": 1, "rejected": 1,
        "void": 0, "attested_score": 8100, "contributor_rewards": 80 * DML,
        "validator_rewards": 20 * DML, "retries": 0, "finalized_at": 30, "slashed": 3 * DML}
    fake.submissions[(0, 0)] = {0: sub(BOB, 40 * DML, 0, "Accepted")}
    fake.votes[(0, 0)] = {CHARLIE: [verdict(0, True, 8100)], DAVE: [verdict(0, True, 8000)]}
    revealed = phase not in views.SEALED_PHASES
    fake.submissions[(0, 1)] = {
        0: sub(BOB, 30 * DML if revealed else 0, 10 * DML if revealed else 0, "Revealed"),
        1: sub(ALICE, 10 * DML if revealed else 0, 30 * DML if revealed else 0, "Revealed")}
    fake.vote_commits[(0, 1)] = {CHARLIE: "0x" + "cc" * 32}
    if revealed:
        fake.vote_commits[(0, 1)][DAVE] = "0x" + "dd" * 32
        fake.tasks[0].update(vote_commits=2, vote_reveals=2)
        fake.votes[(0, 1)] = {
            CHARLIE: [verdict(0, True, 8300, 412_000), verdict(1, False, 1000, 512_000)],
            DAVE: [verdict(0, False, 2000, 412_900), verdict(1, True, 7000, 90_000)]}
    else:
        fake.tasks[0].update(vote_commits=1, vote_reveals=0)
        # Not on a real chain before VoteReveal; here to prove nothing of it would leak.
        fake.votes[(0, 1)] = {CHARLIE: [verdict(0, True, 8300), verdict(1, False, 1000)]}
    return fake


def sub(contributor: str, accept_stake: int, reject_stake: int, status: str) -> dict[str, Any]:
    return {"contributor": contributor, "commitment": "0x" + "00" * 32,
            "cid": f"bafy-{contributor[:4]}",
            "update_hash": "0x" + "ab" * 32, "num_examples": 100,
            "accept_stake": accept_stake, "reject_stake": reject_stake, "status": status}


def verdict(submission: int, accept: bool, score: int, probe: int = 0) -> dict[str, Any]:
    return {"submission": submission, "accept": accept, "score": score, "probe": probe}


def test_the_six_phases_and_enrol_only_while_enrolling() -> None:
    task = Task.from_chain(0, make_task_v2(0, phase="VoteCommit", phase_ends_at=120))
    tl = views.phase_timeline(task, head=100)
    assert [p["phase"] for p in tl] == ["Commit", "Reveal", "VoteCommit", "VoteReveal",
                                        "Aggregate"]
    assert [p["state"] for p in tl] == ["done", "done", "current", "next", "next"]
    assert tl[2]["blocks_left"] == 20 and tl[3]["length"] == 10
    enrol = views.phase_timeline(Task.from_chain(0, make_task_v2(0, phase="Enrol")), head=0)
    assert [p["state"] for p in enrol][:2] == ["current", "next"]
    assert enrol[0]["phase"] == "Enrol"


def test_during_vote_commit_only_who_committed_is_shown() -> None:
    with app_for(v2_chain("VoteCommit")) as client:
        r1 = client.get("/api/tasks/0/rounds/1").json()
        vm = r1["vote_matrix"]
        assert vm["sealed"] is True and vm["electorate_stake"] == E
        rows = {r["validator"]: r for r in vm["rows"]}
        assert set(rows) == {CHARLIE, DAVE}
        assert rows[CHARLIE]["committed"] is True and rows[DAVE]["committed"] is False
        assert all(v is None for r in vm["rows"] for v in r["verdicts"])
        assert not any(r["voted"] for r in vm["rows"])
        assert [s["outcome"] for s in r1["submissions"]] == ["Revealed", "Revealed"]
        assert all((t["accept_stake"], t["reject_stake"]) == (0, 0) for t in vm["tallies"])
        html = client.get("/tasks/0?round=1").text
        assert 'data-sealed="1"' in html and 'id="votes-sealed"' in html
        assert html.count('data-committed="1"') == 1 and html.count('data-committed="0"') == 1
        assert 'class="cell accept"' not in html and 'class="cell reject"' not in html
        assert "8300" not in html and "83.00%" not in html  # no score leaks


def test_from_vote_reveal_on_verdicts_and_stake_tallies_appear() -> None:
    with app_for(v2_chain("VoteReveal")) as client:
        r1 = client.get("/api/tasks/0/rounds/1").json()
        vm = r1["vote_matrix"]
        assert vm["sealed"] is False
        rows = {r["validator"]: r for r in vm["rows"]}
        assert rows[CHARLIE]["stake"] == 30 * DML and rows[DAVE]["stake"] == 10 * DML
        assert rows[CHARLIE]["verdicts"] == [
            {"accept": True, "score": 8300, "probe": 412_000, "evidenced": True},
            {"accept": False, "score": 1000, "probe": 512_000, "evidenced": True}]
        # the consensus probe is CHARLIE's (30 of 40 stake): DAVE's #0 probe is within the
        # floor of 1000, its #1 probe is not (that verdict counts as losing)
        assert rows[DAVE]["verdicts"] == [
            {"accept": False, "score": 2000, "probe": 412_900, "evidenced": True},
            {"accept": True, "score": 7000, "probe": 90_000, "evidenced": False}]
        assert vm["tallies"] == [
            {"submission": 0, "accepts": 1, "rejects": 1, "accept_stake": 30 * DML,
             "reject_stake": 10 * DML, "probe": 412_000},
            {"submission": 1, "accepts": 1, "rejects": 1, "accept_stake": 10 * DML,
             "reject_stake": 30 * DML, "probe": 512_000}]
        # One accept each, but stake decides: 30 of 40 reaches ⌈2/3 · 40⌉, 10 does not.
        subs = r1["submissions"]
        assert [s["outcome"] for s in subs] == ["Accepted (pending)", "Rejected (pending)"]
        assert [(s["accepts"], s["rejects"]) for s in subs] == [(1, 1), (1, 1)]
        html = client.get("/tasks/0?round=1").text
        assert html.count('class="cell accept"') == 1 and html.count('class="cell reject"') == 2
        assert html.count('class="cell accept unevidenced"') == 1
        assert html.count('data-evidenced="1"') == 3 and 'data-probe="90000"' in html
        assert "no evidence" in html and "probe 512000" in html
        assert "30.0000 DML ✓" in html and "of 40.0000 DML" in html


def test_pending_outcome_is_stake_weighted() -> None:
    task = Task.from_chain(0, make_task_v2(0, phase="VoteReveal", electorate_stake=3 * DML)
                           | {"vote_reveals": 2})
    s = Submission.from_chain(0, sub(BOB, 2 * DML, DML, "Revealed"))
    # The quorum, 666_667 ppm of the 3 DML electorate rounded up, is 2.000001 DML.
    need = protocol.quorum_stake(666_667, 3 * DML)
    assert need == 2_000_001_000_000
    assert views.submission_view(0, s, task, final=False)["outcome"] == "Rejected (pending)"
    s = replace(s, accept_stake=need)
    assert views.submission_view(0, s, task, final=False)["outcome"] == "Accepted (pending)"


def test_bonds_and_slashes_are_shown() -> None:
    fake = v2_chain("VoteReveal")
    fake.participants = {BOB: {"x25519_key": "0x" + "01" * 32, "reputation": 501,
                               "contributor_stake": 10 * DML, "validator_stake": None,
                               "contributor_tasks": 1, "validator_tasks": 0}}
    with app_for(fake) as client:
        d = client.get("/api/tasks/0").json()
        members = {m["address"]: m for m in d["members"]}
        assert members[BOB] == {"address": BOB, "contributor": True, "validator": False,
                                "role": "Contributor", "bond": 2 * DML, "from_round": 0,
                                "leaving": False}
        assert members[DAVE]["leaving"] is True
        assert d["rewards"]["slashed"] == 3 * DML and d["task"]["slashed"] == 3 * DML
        assert d["rounds"][0]["slashed"] == 3 * DML
        assert d["quorum"].startswith("67% of the electorate's stake")
        bob = client.get(f"/api/participants/{BOB}").json()
        assert bob["bonded"] == 2 * DML
        assert bob["history"][0]["bond"] == 2 * DML
        assert bob["history"][0]["task_slashed"] == 3 * DML
        listed = client.get("/api/participants").json()
        assert [(p["address"], p["bonded"]) for p in listed] == [(BOB, 2 * DML)]
        assert 'data-bonded="2000000000000"' in client.get("/participants").text
        page = client.get(f"/participants/{BOB}").text
        assert 'id="bonded"' in page and "Slashed in task" in page
        task_page = client.get("/tasks/0").text
        assert 'id="slashed"' in task_page and "bond 2.0000 DML" in task_page
        assert "leaving" in task_page


@pytest.mark.parametrize("fake", [v2_chain("VoteCommit"), v2_chain("VoteReveal")],
                         ids=["v2-sealed", "v2-revealed"])
def test_api_sends_every_field_the_data_layer_builds(fake: FakeChain) -> None:
    """The response models drop nothing (and add no nulls) on a v2 chain."""
    fake.participants = {BOB: {"x25519_key": "0x" + "02" * 32, "reputation": 500,
                               "contributor_stake": DML, "validator_stake": None,
                               "contributor_tasks": 1, "validator_tasks": 0}}
    with app_for(fake) as client:
        data = client.app.state.data
        assert client.get("/api/tasks/0").json() == data.task_detail(0)
        assert client.get("/api/tasks/0/rounds/1").json() == data.round_detail(0, 1)
        assert client.get("/api/tasks").json() == data.tasks_page(1, 25)
        assert client.get(f"/api/participants/{BOB}").json() == data.participant(BOB)
