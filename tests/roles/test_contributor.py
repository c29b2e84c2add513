"""The contributor's decisions, driven over an in-memory chain: what it sends in which phase,
and that a restart from its journal never sends a step twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from decentralml_client.chain.api import account_id, h256
from decentralml_client.protocol import update_commitment
from decentralml_client.roles.common import Stopped
from decentralml_client.roles.contributor import next_step, run_contributor
from decentralml_client.roles.journal import Journal
from tests.roles.fakes import ROUND_PHASES, TASK_ID, FakeChain, phases, role_context

PREPARED = {"prepared": True, "manifest_cid": "bafyprepared", "manifest_hash": "0x" + "ab" * 32,
            "salt": "0x" + "cd" * 32, "num_examples": 100}


@pytest.mark.parametrize(("phase", "entry", "step"), [
    ("Commit", {}, "prepare"),
    ("Commit", {"prepared": True}, "commit"),
    ("Commit", {"prepared": True, "committed": True}, "wait"),
    ("Reveal", {"prepared": True, "committed": True}, "reveal"),
    ("Reveal", {"prepared": True}, "wait"),  # never committed: nothing to reveal
    ("Reveal", {"committed": True, "revealed": True}, "wait"),
    ("Reveal", {"committed": True, "revealed": False, "missed": "DuplicateUpdate"}, "wait"),
    ("Enrol", {}, "wait"),
    ("VoteCommit", {"committed": True}, "wait"),
    ("Aggregate", {}, "wait"),
])
def test_next_step_follows_the_phase_and_the_journal(phase: str, entry: dict[str, object],
                                                     step: str) -> None:
    assert next_step(phase, entry) == step


def _journal(tmp_path: Path, address: str, **entry: object) -> Journal:
    journal = Journal.for_role(tmp_path, "contributor", address, TASK_ID)
    if entry:
        journal.update("0.0", **entry)
    return journal


def _expected_commit(address: str) -> dict[str, object]:
    commitment = update_commitment(TASK_ID, 0, 0, account_id(address),
                                   bytes.fromhex(PREPARED["manifest_hash"][2:]), 100,
                                   bytes.fromhex(PREPARED["salt"][2:]))
    return {"task_id": TASK_ID, "round": 0, "commitment": h256(commitment)}


def _expected_reveal() -> dict[str, object]:
    return {"task_id": TASK_ID, "round": 0, "cid": "0x" + b"bafyprepared".hex(),
            "update_hash": PREPARED["manifest_hash"], "num_examples": 100,
            "salt": PREPARED["salt"]}


def test_a_prepared_update_is_committed_then_revealed_once_each(tmp_path: Path) -> None:
    chain = FakeChain(phases(0, *ROUND_PHASES))
    ctx = role_context(chain, tmp_path)
    _journal(tmp_path, ctx.address, **PREPARED)

    assert run_contributor(ctx, TASK_ID, None, None) == {"task": TASK_ID, "rounds": 1}

    assert chain.calls == [("commit_update", _expected_commit(ctx.address)),
                           ("reveal_update", _expected_reveal())]
    entry = _journal(tmp_path, ctx.address).entry("0.0")
    assert entry["committed"] is True and entry["revealed"] is True
    assert h256(entry["salt"]) == PREPARED["salt"]  # the salt survives for the reveal


def test_after_a_restart_a_committed_update_is_only_revealed(tmp_path: Path) -> None:
    chain = FakeChain(phases(0, *ROUND_PHASES))
    ctx = role_context(chain, tmp_path)
    _journal(tmp_path, ctx.address, **PREPARED, committed=True)

    run_contributor(ctx, TASK_ID, None, None)

    assert chain.calls == [("reveal_update", _expected_reveal())]


def test_after_a_restart_a_revealed_round_sends_nothing(tmp_path: Path) -> None:
    chain = FakeChain(phases(0, *ROUND_PHASES))
    ctx = role_context(chain, tmp_path)
    _journal(tmp_path, ctx.address, **PREPARED, committed=True, revealed=True)

    assert run_contributor(ctx, TASK_ID, None, None) == {"task": TASK_ID, "rounds": 0}
    assert chain.calls == []


def test_a_commit_that_landed_before_a_crash_counts_as_committed(tmp_path: Path) -> None:
    chain = FakeChain(phases(0, *ROUND_PHASES), refuse={"commit_update": "AlreadyCommitted"})
    ctx = role_context(chain, tmp_path)
    _journal(tmp_path, ctx.address, **PREPARED)

    run_contributor(ctx, TASK_ID, None, None)

    assert chain.names() == ["commit_update", "reveal_update"]
    assert _journal(tmp_path, ctx.address).entry("0.0")["revealed"] is True


def test_a_commit_whose_receipt_was_lost_is_found_on_chain_and_revealed(tmp_path: Path) -> None:
    # The commit was included, then the node went away before the journal recorded it; the
    # round moved on to Reveal. The contributor finds its commitment on chain and reveals.
    ctx = role_context(FakeChain([]), tmp_path)
    landed = {"contributor": ctx.address, "status": "Committed",
              "commitment": _expected_commit(ctx.address)["commitment"]}
    chain = FakeChain(phases(0, *ROUND_PHASES[1:]), maps={"Submissions": [(0, landed)]})
    ctx = role_context(chain, tmp_path)
    _journal(tmp_path, ctx.address, **PREPARED)

    run_contributor(ctx, TASK_ID, None, None)

    assert chain.calls == [("reveal_update", _expected_reveal())]
    entry = _journal(tmp_path, ctx.address).entry("0.0")
    assert entry["committed"] is True and entry["revealed"] is True


def test_someone_elses_commitment_on_chain_does_not_count_as_ours(tmp_path: Path) -> None:
    ctx = role_context(FakeChain([]), tmp_path)
    other = {"contributor": ctx.address, "status": "Committed", "commitment": "0x" + "00" * 32}
    chain = FakeChain(phases(0, *ROUND_PHASES[1:]), maps={"Submissions": [(0, other)]})
    ctx = role_context(chain, tmp_path)
    _journal(tmp_path, ctx.address, **PREPARED)

    run_contributor(ctx, TASK_ID, None, None)

    assert chain.calls == []  # not committed in time: nothing to reveal
    assert "committed" not in _journal(tmp_path, ctx.address).entry("0.0")


@pytest.mark.parametrize("refusal", ["WrongPhase", "CommitDeadlinePassed", "TaskFull",
                                     "NotYetEligible", "WrongRound"])
def test_a_missed_commit_is_journalled_and_the_round_sat_out(tmp_path: Path,
                                                             refusal: str) -> None:
    chain = FakeChain(phases(0, *ROUND_PHASES), refuse={"commit_update": refusal})
    ctx = role_context(chain, tmp_path)
    _journal(tmp_path, ctx.address, **PREPARED)

    assert run_contributor(ctx, TASK_ID, None, None)["rounds"] == 0

    assert chain.names() == ["commit_update"]  # and no reveal of what was not committed
    entry = _journal(tmp_path, ctx.address).entry("0.0")
    assert entry["missed"] == refusal and "committed" not in entry


def test_a_duplicate_update_is_journalled_and_not_revealed_again(tmp_path: Path) -> None:
    chain = FakeChain(phases(0, *ROUND_PHASES), refuse={"reveal_update": "DuplicateUpdate"})
    ctx = role_context(chain, tmp_path)
    _journal(tmp_path, ctx.address, **PREPARED, committed=True)

    assert run_contributor(ctx, TASK_ID, None, None)["rounds"] == 0

    assert chain.names() == ["reveal_update"]
    entry = _journal(tmp_path, ctx.address).entry("0.0")
    assert entry["revealed"] is False and entry["missed"] == "DuplicateUpdate"


def test_stopping_leaves_the_journal_as_it_was(tmp_path: Path) -> None:
    chain = FakeChain(phases(0, *ROUND_PHASES))
    ctx = role_context(chain, tmp_path, stop=lambda: True)
    journal = _journal(tmp_path, ctx.address, **PREPARED)
    before = journal.path.read_bytes()

    with pytest.raises(Stopped):
        run_contributor(ctx, TASK_ID, None, None)

    assert chain.calls == [] and journal.path.read_bytes() == before
    assert json.loads(before)["rounds"]["0.0"]["salt"] == PREPARED["salt"]


def test_a_contributor_not_drawn_into_the_cohort_sits_the_attempt_out(tmp_path: Path) -> None:
    chain = FakeChain(phases(0, *ROUND_PHASES), spec={"cohort": 1})
    chain.fields = {"draw_seed": "0x" + "42" * 32, "cohort_cut": 0, "cohort_size": 1}
    ctx = role_context(chain, tmp_path)
    events: list[tuple[str, dict[str, object]]] = []
    ctx.on_event = lambda kind, info: events.append((kind, info))

    run_contributor(ctx, TASK_ID, None, None)  # would train (and fail: no data) if drawn

    assert chain.calls == []  # no commit, no reveal
    assert _journal(tmp_path, ctx.address).entry("0.0") == {"drawn": False}
    (info,) = [i for k, i in events if k == "not_drawn"]
    assert info["round"] == 0 and "sitting this round out" in str(info["note"])


def test_a_drawn_contributor_commits_as_before(tmp_path: Path) -> None:
    from decentralml_client.protocol.sampling import cohort_ticket

    chain = FakeChain(phases(0, *ROUND_PHASES), spec={"cohort": 1})
    ctx = role_context(chain, tmp_path)
    seed = bytes([0x42] * 32)
    ticket = cohort_ticket(TASK_ID, 0, 0, seed, account_id(ctx.address))
    chain.fields = {"draw_seed": "0x" + seed.hex(), "cohort_cut": ticket, "cohort_size": 1}
    _journal(tmp_path, ctx.address, **PREPARED)

    run_contributor(ctx, TASK_ID, None, None)

    assert [name for name, _ in chain.calls] == ["commit_update", "reveal_update"]
