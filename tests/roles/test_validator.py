"""The validator's decisions, driven over an in-memory chain: what it sends in which phase,
that a restart from its journal never votes twice, and that it sits out a round whose
electorate it is not in."""

from __future__ import annotations

from pathlib import Path

import pytest

from decentralml_client.chain.api import account_id, h256
from decentralml_client.protocol import vote_commitment
from decentralml_client.roles import validator
from decentralml_client.roles.common import Stopped
from decentralml_client.roles.journal import Journal
from decentralml_client.roles.validator import basis_points, next_step, run_validator
from tests.roles.fakes import ROUND_PHASES, TASK_ID, FakeChain, phases, role_context

VERDICTS = [(0, True, 9_100, 812_345), (1, False, 0, 0)]
JUDGED = {"verdicts": [list(v) for v in VERDICTS], "reasons": {"1": "no improvement"},
          "salt": "0x" + "ef" * 32}


@pytest.mark.parametrize(("phase", "entry", "step"), [
    ("VoteCommit", {}, "judge"),
    ("VoteCommit", {"verdicts": []}, "commit_vote"),
    ("VoteCommit", {"verdicts": [], "vote_committed": True}, "wait"),
    ("VoteCommit", {"missed": "NotInElectorate"}, "wait"),
    ("VoteCommit", {"missed": "silent"}, "wait"),
    ("VoteReveal", {"vote_committed": True}, "reveal_vote"),
    ("VoteReveal", {"missed": "NotInElectorate"}, "wait"),
    ("VoteReveal", {"vote_committed": True, "vote_revealed": True}, "wait"),
    ("Aggregate", {"vote_revealed": True}, "attest"),
    ("Aggregate", {"vote_revealed": True, "attested": False}, "wait"),
    ("Aggregate", {}, "wait"),  # did not vote: nothing to attest
    ("Commit", {}, "wait"),
    ("Reveal", {}, "wait"),
])
def test_next_step_follows_the_phase_and_the_journal(phase: str, entry: dict[str, object],
                                                     step: str) -> None:
    assert next_step(phase, entry) == step


def test_basis_points_are_clamped() -> None:
    assert [basis_points(a) for a in (-0.1, 0.0, 0.91234, 1.0, 1.5)] == [0, 0, 9_123, 10_000,
                                                                         10_000]


def _journal(tmp_path: Path, address: str, **entry: object) -> Journal:
    journal = Journal.for_role(tmp_path, "validator", address, TASK_ID)
    if entry:
        journal.update("0.0", **entry)
    return journal


def test_judged_verdicts_are_sealed_revealed_and_then_attested_or_not(tmp_path: Path) -> None:
    chain = FakeChain(phases(0, *ROUND_PHASES))
    ctx = role_context(chain, tmp_path, name="bob")
    _journal(tmp_path, ctx.address, **JUDGED)

    assert run_validator(ctx, TASK_ID, None, None) == {"task": TASK_ID, "rounds": 1}

    salt = bytes.fromhex(JUDGED["salt"][2:])
    sealed = vote_commitment(TASK_ID, 0, 0, account_id(ctx.address), VERDICTS, salt)
    assert chain.calls == [
        ("commit_vote", {"task_id": TASK_ID, "round": 0, "commitment": h256(sealed)}),
        ("reveal_vote", {"task_id": TASK_ID, "round": 0, "salt": JUDGED["salt"], "verdicts": [
            {"submission": 0, "accept": True, "score": 9_100, "probe": 812_345},
            {"submission": 1, "accept": False, "score": 0, "probe": 0}]}),
    ]
    entry = _journal(tmp_path, ctx.address).entry("0.0")
    assert entry["vote_committed"] and entry["vote_revealed"]
    # The chain accepted nothing, so there is no aggregate to attest.
    assert entry["attested"] is False and entry["reason"] == "nothing accepted"


def test_a_journal_entry_without_probes_reads_as_probe_0() -> None:
    # an entry journalled before verdicts carried a probe (3 fields) does not crash
    assert validator._verdicts({"verdicts": [[0, True, 9_100], [1, False, 0, 7]]}) == [
        (0, True, 9_100, 0), (1, False, 0, 7)]


def test_after_a_restart_a_committed_vote_is_only_revealed(tmp_path: Path) -> None:
    chain = FakeChain(phases(0, *ROUND_PHASES))
    ctx = role_context(chain, tmp_path, name="bob")
    _journal(tmp_path, ctx.address, **JUDGED, vote_committed=True)

    run_validator(ctx, TASK_ID, None, None)

    assert chain.names() == ["reveal_vote"]


def test_a_vote_that_landed_before_a_crash_counts_as_committed(tmp_path: Path) -> None:
    chain = FakeChain(phases(0, *ROUND_PHASES), refuse={"commit_vote": "AlreadyVoted"})
    ctx = role_context(chain, tmp_path, name="bob")
    _journal(tmp_path, ctx.address, **JUDGED)

    run_validator(ctx, TASK_ID, None, None)

    assert chain.names() == ["commit_vote", "reveal_vote"]


def test_a_vote_whose_receipt_was_lost_is_found_on_chain_and_revealed(tmp_path: Path) -> None:
    # The sealed vote was included, then the node went away before the journal recorded it;
    # the round moved on to VoteReveal. The validator finds its commitment and reveals.
    address = role_context(FakeChain([]), tmp_path, name="bob").address
    sealed = vote_commitment(TASK_ID, 0, 0, account_id(address), VERDICTS,
                             bytes.fromhex(JUDGED["salt"][2:]))
    chain = FakeChain(phases(0, "VoteReveal", "Aggregate"),
                      maps={"VoteCommits": [(address, h256(sealed))]})
    ctx = role_context(chain, tmp_path, name="bob")
    _journal(tmp_path, ctx.address, **JUDGED)

    run_validator(ctx, TASK_ID, None, None)

    assert chain.names() == ["reveal_vote"]
    assert _journal(tmp_path, ctx.address).entry("0.0")["vote_committed"] is True


def test_a_round_outside_the_electorate_is_sat_out(tmp_path: Path) -> None:
    script = phases(0, *ROUND_PHASES) + phases(1, *ROUND_PHASES)
    chain = FakeChain(script, refuse={"commit_vote": "NotInElectorate"})
    ctx = role_context(chain, tmp_path, name="bob")
    journal = _journal(tmp_path, ctx.address, **JUDGED)
    journal.update("1.0", **JUDGED)

    run_validator(ctx, TASK_ID, None, None)

    # Round 0 is refused and sat out (no reveal); round 1, where it is a voter, goes on.
    assert chain.names() == ["commit_vote", "commit_vote", "reveal_vote"]
    assert chain.calls[-1][1]["round"] == 1
    after = _journal(tmp_path, ctx.address)
    assert after.entry("0.0")["missed"] == "NotInElectorate"
    assert "vote_committed" not in after.entry("0.0")
    assert after.entry("1.0")["vote_revealed"] is True


def test_a_silent_validator_commits_nothing(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # The strategy decides to stay silent (verdicts None): journalled, nothing sent.
    monkeypatch.setattr(validator, "_judge", lambda *args: (None, {}))
    chain = FakeChain(phases(0, *ROUND_PHASES))
    ctx = role_context(chain, tmp_path, name="bob")

    assert run_validator(ctx, TASK_ID, None, None)["rounds"] == 0

    assert chain.calls == []
    assert _journal(tmp_path, ctx.address).entry("0.0") == {"missed": "silent"}


def test_stopping_leaves_the_journal_as_it_was(tmp_path: Path) -> None:
    chain = FakeChain(phases(0, *ROUND_PHASES))
    ctx = role_context(chain, tmp_path, name="bob", stop=lambda: True)
    journal = _journal(tmp_path, ctx.address, **JUDGED)
    before = journal.path.read_bytes()

    with pytest.raises(Stopped):
        run_validator(ctx, TASK_ID, None, None)

    assert chain.calls == [] and journal.path.read_bytes() == before
