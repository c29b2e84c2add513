"""The validator's decisions, driven over an in-memory chain: what it sends in which phase,
that a restart from its journal never votes twice, and that it sits out a round whose
electorate it is not in."""

from __future__ import annotations

from pathlib import Path

import pytest

from decentralml_client.chain.api import account_id, h256
from decentralml_client.protocol import vote_commitment
from decentralml_client.roles import validator
from decentralml_client.roles.common import RoleContext, Stopped
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


# -- storage outages: retry until shortly before the deadline, then abstain; never reject --

def _storage_down(times: int | None, verdicts: list[tuple[int, bool, int, int]] = VERDICTS):
    """A ``_judge`` whose storage is down ``times`` times (None: for good), then judges."""
    from decentralml_client.storage import StorageUnavailable

    calls = {"n": 0}

    def judge(*args: object):
        calls["n"] += 1
        if times is None or calls["n"] <= times:
            raise StorageUnavailable("IPFS fetch failed: no answer from the IPFS API")
        return verdicts, {}

    return judge, calls


def test_a_storage_outage_to_the_deadline_abstains_instead_of_rejecting(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validator, "STORAGE_RETRY", (0.0, 0.0))
    judge, calls = _storage_down(None)
    monkeypatch.setattr(validator, "_judge", judge)
    chain = FakeChain(phases(0, *ROUND_PHASES), reads_per_phase=100)
    # includable up to block 7; the reports of the waits in Commit and Reveal look at heads 1, 2
    chain.blocks_per_head, chain.phase_ends_at = 1, 8
    ctx = role_context(chain, tmp_path, name="bob")
    events: list[tuple[str, dict[str, object]]] = []
    ctx.on_event = lambda kind, info: events.append((kind, info))

    assert run_validator(ctx, TASK_ID, None, None)["rounds"] == 0

    assert chain.calls == []  # no vote at all: not a reject, not a reveal, not an attestation
    entry = _journal(tmp_path, ctx.address).entry("0.0")
    assert entry["missed"] == validator.STORAGE_UNAVAILABLE
    assert "1 block(s) before the VoteCommit deadline" in entry["reason"]
    # failed at heads 3, 4, 5 (4, 3, 2 includable blocks left): retried; at head 6 only the
    # margin's 1 block is left: gave up
    assert calls["n"] == 4
    assert [i["blocks_left"] for k, i in events if k == "storage_unavailable"] == [4, 3, 2]
    assert [k for k, _ in events].count("abstained") == 1
    assert next_step("VoteReveal", entry) == "wait" and next_step("Aggregate", entry) == "wait"


def test_storage_back_before_the_deadline_votes_as_usual(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validator, "STORAGE_RETRY", (0.0, 0.0))
    judge, calls = _storage_down(2)
    monkeypatch.setattr(validator, "_judge", judge)
    chain = FakeChain(phases(0, *ROUND_PHASES), reads_per_phase=100)
    chain.blocks_per_head, chain.phase_ends_at = 1, 50
    ctx = role_context(chain, tmp_path, name="bob")

    assert run_validator(ctx, TASK_ID, None, None)["rounds"] == 1

    assert calls["n"] == 3
    assert chain.names() == ["commit_vote", "reveal_vote"]
    assert chain.calls[1][1]["verdicts"][0] == {"submission": 0, "accept": True,
                                                "score": 9_100, "probe": 812_345}


def test_an_outage_retry_stops_when_the_phase_moves_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from decentralml_client.storage import StorageUnavailable

    monkeypatch.setattr(validator, "STORAGE_RETRY", (0.0, 0.0))
    chain = FakeChain(phases(0, "VoteCommit", "VoteReveal"), reads_per_phase=3)
    ctx = role_context(chain, tmp_path, name="bob")

    def down() -> None:
        raise StorageUnavailable("down")

    with pytest.raises(validator.StorageOutage, match="storage still unavailable"):
        validator.while_storage_down(ctx, TASK_ID, 0, 0, "VoteCommit", down)
    assert chain.task()["phase"] == "VoteReveal"


def test_withheld_content_is_a_reject_with_probe_0_but_an_outage_is_no_verdict(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The honest judgement itself: content a working daemon cannot find is rejected with
    probe 0, like any unreadable update; our own storage down raises (no verdict at all)."""
    from decentralml_client.keys import dev_account
    from decentralml_client.ml import acceptance, evidence
    from decentralml_client.storage import ContentNotFound, StorageUnavailable

    subs = {i: {"status": "Revealed", "update_hash": "0x" + f"0{i + 1}" * 32, "num_examples": 10,
                "contributor": dev_account(name).ss58_address, "commitment": "0x" + "00" * 32}
            for i, name in enumerate(("alice", "charlie"))}
    chain = FakeChain(phases(0, "VoteCommit"), maps={"Submissions": list(subs.items())})
    ctx = role_context(chain, tmp_path, name="bob")
    _no_model_or_history(ctx)

    def judge_updates(spec, base, candidates, x, y, **kw):  # noqa: ANN001, ANN003, ANN202
        return {i: acceptance.Judgement(accept=not isinstance(c, BaseException),
                                        score=0 if isinstance(c, BaseException) else 9_000,
                                        reason=str(c) if isinstance(c, BaseException) else None)
                for i, c in candidates.items()}

    class Prober:
        def __init__(self, *args: object) -> None:
            pass

        def probe(self, delta: object) -> int:
            return 0 if isinstance(delta, BaseException) else 4_321

    monkeypatch.setattr(acceptance, "judge_updates", judge_updates)
    monkeypatch.setattr(evidence, "Prober", Prober)
    failure: dict[int, Exception] = {1: ContentNotFound("no reachable peer served it")}

    def load_update(ctx, task_id, task, index, sub):  # noqa: ANN001, ANN202
        if index in failure:
            raise failure[index]
        return [np.zeros(1)], 10

    import numpy as np

    monkeypatch.setattr(validator, "load_update", load_update)
    task = chain.record()
    opts = validator.ValidatorOptions()

    verdicts, reasons = validator._judge(ctx, TASK_ID, task, None, None, {}, opts)
    assert verdicts == [(0, True, 9_000, 4_321), (1, False, 0, 0)]
    assert "no reachable peer" in reasons[1]

    failure[1] = StorageUnavailable("IPFS fetch failed: no answer from the IPFS API")
    with pytest.raises(StorageUnavailable):
        validator._judge(ctx, TASK_ID, task, None, None, {}, opts)


def test_with_a_committee_a_validator_judges_exactly_the_updates_it_is_drawn_for(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One code path: the judges of each revealed update (drawn from the task's
    committee_seed and the round's electorate in order) decide what this validator fetches
    and votes on; verdicts ascend by submission."""
    from decentralml_client.keys import dev_account
    from decentralml_client.keys.account import Account
    from decentralml_client.ml import acceptance, evidence
    from decentralml_client.protocol.sampling import judges

    people = [dev_account(n).ss58_address for n in ("alice", "charlie", "dave", "eve")] + [
        Account(bytes([i]) * 32).ss58_address for i in range(1, 5)]
    subs = {i: {"status": "Revealed", "update_hash": "0x" + f"{i + 1:02x}" * 32,
                "num_examples": 10, "contributor": who, "commitment": "0x" + "00" * 32}
            for i, who in enumerate(people)}
    seed = "0x" + "5f" * 32
    chain = FakeChain(phases(0, "VoteCommit"), maps={"Submissions": list(subs.items())},
                      spec={"committee": 1, "audit": 0})
    chain.fields = {"committee_seed": seed}
    ctx = role_context(chain, tmp_path, name="bob")
    electorate = [(account_id(a), b) for a, b in chain.electorate]
    mine = [i for i, s in subs.items()
            if account_id(ctx.address) in judges(TASK_ID, 0, 0, bytes.fromhex(seed[2:]),
                                                 account_id(s["contributor"]), electorate, 1, 0)]
    assert 0 < len(mine) < len(subs)  # this seed gives bob some of the eight, not all
    _no_model_or_history(ctx)
    fetched: list[int] = []

    def load_update(ctx, task_id, task, index, sub):  # noqa: ANN001, ANN202
        fetched.append(index)
        return [], 10

    class Prober:
        def __init__(self, *args: object) -> None:
            pass

        def probe(self, delta: object) -> int:
            return 7

    monkeypatch.setattr(validator, "load_update", load_update)
    monkeypatch.setattr(evidence, "Prober", Prober)
    monkeypatch.setattr(acceptance, "judge_updates", lambda spec, base, candidates, x, y, **kw:
                        {i: acceptance.Judgement(accept=True, score=9_000, reason=None)
                         for i in candidates})

    verdicts, _ = validator._judge(ctx, TASK_ID, chain.record(), None, None, {},
                                   validator.ValidatorOptions())

    assert sorted(fetched) == mine
    assert verdicts == [(i, True, 9_000, 7) for i in sorted(mine)]


def _no_model_or_history(ctx: RoleContext) -> None:
    """A context whose model, previous step, last consensus and public history are empty."""
    ctx.model_spec = lambda task: None  # type: ignore[method-assign]
    ctx.global_model = lambda task: ([], "0x00")  # type: ignore[method-assign]
    ctx.previous_step = lambda task_id, task: None  # type: ignore[method-assign]
    ctx.last_consensus = lambda task_id, task: {}  # type: ignore[method-assign]

    class History:
        def deltas(self) -> list[object]:
            return []

        def not_own(self, account: int) -> list[object]:
            return []

    ctx.public_history = lambda task_id, task: History()  # type: ignore[method-assign]
