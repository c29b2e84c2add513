"""Typed chain records: the task as the pallet's next call will find it (``Task.as_of``),
the mirror of the pallet's lazy phase advance at deadlines (``phases.rs``: ``advance``)."""

from __future__ import annotations

import dataclasses

from decentralml_client.chain.records import Hash, Task, TaskSpec

SPEC = TaskSpec(model_cid="bafy", model_hash=Hash("0x" + "11" * 32), min_contributors=2,
                min_validators=2, reveal_blocks=7, vote_blocks=5, vote_reveal_blocks=4,
                attest_blocks=3)


def _task(phase: str, ends: int, **fields: int) -> Task:
    return Task(id=0, creator="alice", spec=SPEC, status="Active", round=0, phase=phase,
                phase_ends_at=ends, retries=0, model_cid="bafy", model_hash=SPEC.model_hash,
                **fields)


def test_before_its_deadline_a_phase_is_as_stored() -> None:
    t = _task("VoteCommit", 20, vote_commits=1)
    assert t.as_of(18, 3) == t  # a call sent now lands in block 19 at the earliest


def test_a_call_that_lands_at_the_deadline_finds_the_next_phase() -> None:
    t = _task("VoteCommit", 20, vote_commits=1)
    assert (t.as_of(19, 3).phase, t.as_of(19, 3).phase_ends_at) == ("VoteReveal", 24)


def test_several_deadlines_passed_move_several_phases_as_the_pallet_does() -> None:
    t = _task("Commit", 10, revealed=2)
    view = t.as_of(30, 2)  # Commit ends 10, Reveal 17, VoteCommit 22 (no vote commit: stop)
    assert (view.phase, view.phase_ends_at) == ("Aggregate", 22)


def test_a_phase_whose_work_cannot_go_on_ends_the_attempt_in_aggregate() -> None:
    t = _task("Commit", 10)
    assert dataclasses.astuple(t.as_of(12, 0))[5:7] == ("Aggregate", 10)  # nobody committed
    t = _task("VoteReveal", 10, vote_commits=2, vote_reveals=1)  # below min_validators
    assert (t.as_of(12, 2).phase, t.as_of(12, 2).phase_ends_at) == ("Aggregate", 10)


def test_an_enrolment_past_its_deadline_with_the_minimums_reads_as_commit() -> None:
    t = _task("Enrol", 10, num_contributors=3, num_validators=2)
    assert (t.as_of(9, 0).phase, t.as_of(20, 0).phase) == ("Commit", "Commit")
    assert t.as_of(20, 0).phase_ends_at == 21 + SPEC.commit_blocks  # from the call's block
    assert t.as_of(8, 0) == t  # before the deadline
    short = _task("Enrol", 10, num_contributors=3, num_validators=2, pending_validators=1)
    assert short.as_of(50, 0) == short  # one validator joined for the next round only


def test_ended_tasks_are_left_as_stored() -> None:
    done = dataclasses.replace(_task("Commit", 10), status="Finished")
    assert done.as_of(50, 3) == done


def test_a_reveal_past_its_deadline_reads_as_a_vote_drawn_with_the_current_seed() -> None:
    seed, old = Hash("0x" + "5e" * 32), Hash("0x" + "01" * 32)
    t = dataclasses.replace(_task("Reveal", 10, revealed=2), seed=seed, committee_seed=old)
    assert t.as_of(8, 0).committee_seed == old  # still revealing: the seed may still move
    view = t.as_of(10, 0)
    assert (view.phase, view.committee_seed) == ("VoteCommit", seed)


def test_new_fields_default_to_a_task_without_cohorts_or_committees() -> None:
    t = Task.from_chain(0, {"creator": "alice", "status": "Active", "round": 0, "phase": "Commit",
                            "phase_ends_at": 5, "retries": 0, "model_cid": "bafy",
                            "model_hash": "0x" + "11" * 32,
                            "spec": {"model_cid": "bafy", "model_hash": "0x" + "11" * 32}})
    assert (t.spec.cohort, t.spec.committee, t.spec.audit, t.committees) == (0, 0, 0, False)
    assert t.cohort_cut == 2**64 - 1 and t.draw_seed == Hash(bytes(32))
    sub_spec = dataclasses.replace(SPEC, committee=2, audit=100_000)
    sub_spec.check_committees()
    for bad, says in ((dataclasses.replace(SPEC, committee=6), "1 to 5"),
                      (dataclasses.replace(SPEC, audit=100_000), "needs a committee"),
                      (dataclasses.replace(SPEC, max_contributors=1024, max_validators=64),
                       "CommitteeRequired")):
        try:
            bad.check_committees()
        except ValueError as exc:
            assert says in str(exc)
        else:
            raise AssertionError(f"{bad} was not refused")
