"""A model's lineage read from the chain's records, and checked against the quorum rules.

The chain is the dashboard's in-memory fake, shaped like the decoded pallet storage: task 0
has rounds 0 and 1 finalised; CHARLIE (bond 30) and DAVE (bond 10) form the electorate, the
quorum is 2/3 of 40 (27 after rounding up).
"""

from __future__ import annotations

from typing import Any

import pytest

from decentralml_client.chain import DecentralMl
from decentralml_client.roles.lineage import (
    LineageError,
    check_lineage,
    finished_rounds,
    lineage_report,
    read_lineage,
)
from tests.dashboard.fakes import ALICE, BOB, CHARLIE, DAVE, FakeChain, make_task_v2

DML = 10**12
M1, M2 = "0x" + "01" * 32, "0x" + "02" * 32


def _sub(contributor: str, status: str, accept: int) -> dict[str, Any]:
    return {"contributor": contributor, "commitment": "0x" + "00" * 32,
            "cid": f"bafy-{contributor[:4]}",
            "update_hash": "0x" + "ab" * 32, "num_examples": 100, "accept_stake": accept,
            "reject_stake": 40 * DML - accept, "status": status}


def chain() -> FakeChain:
    fake = FakeChain(1)
    fake.tasks[0] = make_task_v2(0, round_=2, phase="Commit", electorate_stake=40 * DML)
    for r, model in ((0, M1), (1, M2)):
        fake.electorate[(0, r)] = [(CHARLIE, 30 * DML), (DAVE, 10 * DML)]
        fake.summaries[(0, r)] = {
            "model_cid": f"bafy-m{r + 1}", "model_hash": model, "accepted": 1, "rejected": 1,
            "void": 0, "attested_score": 8000 + r, "contributor_rewards": 0,
            "validator_rewards": 0, "retries": 0, "finalized_at": 30 + r, "slashed": 0}
        fake.submissions[(0, r)] = {0: _sub(BOB, "Accepted", 30 * DML),
                                    1: _sub(ALICE, "Rejected", 10 * DML)}
        fake.votes[(0, r)] = {
            CHARLIE: [{"submission": 0, "accept": True, "score": 8100},
                      {"submission": 1, "accept": False, "score": 900}],
            DAVE: [{"submission": 0, "accept": False, "score": 7000},
                   {"submission": 1, "accept": True, "score": 8000}]}
        fake.attestations[(0, r)] = {CHARLIE: (model, 8000 + r), DAVE: ("0x" + "ee" * 32, 10)}
        fake.proposals[(0, r)] = [{"proposer": CHARLIE, "cid": f"bafy-m{r + 1}", "hash": model,
                                   "attest_stake": 30 * DML, "attestations": 1,
                                   "score_sum": 8000}]
    return fake


def test_the_tree_names_each_accepted_update_its_votes_and_the_attestations() -> None:
    dml = DecentralMl(chain())  # type: ignore[arg-type]
    assert finished_rounds(dml, 0) == [0, 1]
    lineage = read_lineage(dml, 0)
    assert [r.round for r in lineage.rounds] == [0, 1]
    r0, r1 = lineage.rounds
    assert (r0.base_model_hash, r1.base_model_hash) == ("initial", M1)
    assert (r1.model_hash, r1.model_cid, r1.proposer) == (M2, "bafy-m2", CHARLIE)
    assert [u.index for u in r1.accepted_updates] == [0]
    update = r1.accepted_updates[0]
    assert update.contributor == BOB and update.cid == f"bafy-{BOB[:4]}"
    assert [(v.validator, v.accept, v.bond) for v in update.votes] == [
        (CHARLIE, True, 30 * DML), (DAVE, False, 10 * DML)]
    # no probes on these votes: all 0, all on the consensus probe
    assert [(v.probe, v.evidenced) for v in update.votes] == [(0, True), (0, True)]
    # only attestations of the adopted hash belong to the model's lineage
    assert [(a.validator, a.score) for a in r1.attestations] == [(CHARLIE, 8001)]
    check_lineage(lineage)
    assert read_lineage(dml, 0, 0).last.model_hash == M1


def test_records_below_the_quorums_fail_the_check_by_round() -> None:
    fake = chain()
    fake.attestations[(0, 1)] = {DAVE: (M2, 8000)}  # 10 of the 27 the quorum needs
    _, report = lineage_report(DecentralMl(fake), 0)  # type: ignore[arg-type]
    assert report["checked"] is False
    assert "round 1" in report["problem"] and "attested by" in report["problem"]

    fake = chain()
    fake.votes[(0, 0)][CHARLIE][0]["accept"] = False  # BOB's update: accept stake 0
    with pytest.raises(LineageError, match="round 0: update 0 counts as accepted"):
        check_lineage(read_lineage(DecentralMl(fake), 0))  # type: ignore[arg-type]


def test_unfinished_or_unknown_rounds_and_tasks_are_named_errors() -> None:
    dml = DecentralMl(chain())  # type: ignore[arg-type]
    with pytest.raises(LineageError, match="round 2 is not finalised; finalised rounds: 0, 1"):
        read_lineage(dml, 0, 2)
    with pytest.raises(LineageError, match="task 7 does not exist"):
        read_lineage(dml, 7)
    fresh = FakeChain(1)
    with pytest.raises(LineageError, match="no finalised round"):
        read_lineage(DecentralMl(fresh), 0)  # type: ignore[arg-type]


def test_each_vote_says_whether_its_probe_is_evidence() -> None:
    fake = chain()
    fake.votes[(0, 1)][CHARLIE][0]["probe"] = 700_000
    fake.votes[(0, 1)][DAVE][0]["probe"] = 650_000  # off CHARLIE's (the 30-of-40 median)
    update = read_lineage(DecentralMl(fake), 0).rounds[1].accepted_updates[0]  # type: ignore[arg-type]
    assert [(v.validator, v.probe, v.evidenced) for v in update.votes] == [
        (CHARLIE, 700_000, True), (DAVE, 650_000, False)]


def test_with_committees_an_update_needs_the_quorum_of_its_judges_stake() -> None:
    from dataclasses import replace

    lineage = read_lineage(DecentralMl(chain()), 0)  # type: ignore[arg-type]

    def judged_by(stake: int) -> Any:
        rounds = [replace(r, updates=[replace(u, committee_stake=stake) for u in r.updates])
                  for r in lineage.rounds]
        return replace(lineage, rounds=rounds)

    check_lineage(judged_by(30 * DML))  # CHARLIE alone judged it: 30 of 20 needed
    with pytest.raises(LineageError, match="below the quorum's 33333350000000"):
        check_lineage(judged_by(50 * DML))  # 30 of the 33.3 a 50-stake committee needs
