"""The round driver: one loop for every role, saying what it joined, what it waits for and
what each step did (the CLI prints these events as plain text or JSON lines)."""

from __future__ import annotations

from pathlib import Path

from decentralml_client.chain import PalletError
from decentralml_client.cli.roles import event_line
from decentralml_client.roles.contributor import run_contributor
from decentralml_client.roles.journal import Journal
from tests.roles.fakes import ROUND_PHASES, TASK_ID, FakeChain, phases, role_context

PREPARED = {"prepared": True, "manifest_cid": "bafyprepared", "manifest_hash": "0x" + "ab" * 32,
            "salt": "0x" + "cd" * 32, "num_examples": 100}


def _run(tmp_path: Path, chain: FakeChain) -> list[tuple[str, dict[str, object]]]:
    ctx = role_context(chain, tmp_path)
    Journal.for_role(tmp_path, "contributor", ctx.address, TASK_ID).update("0.0", **PREPARED)
    events: list[tuple[str, dict[str, object]]] = []
    ctx.on_event = lambda kind, info: events.append((kind, info))
    run_contributor(ctx, TASK_ID, None, None)
    return events


def test_a_role_says_what_it_joined_waits_for_and_does(tmp_path: Path) -> None:
    chain = FakeChain(phases(0, *ROUND_PHASES))
    chain.phase_ends_at = 195
    kinds = [k for k, _ in _run(tmp_path, chain)]
    assert kinds[0] == "joined" and kinds[-1] == "finished"
    assert kinds.index("commit") < kinds.index("reveal") < kinds.index("waiting")
    lines = [event_line(k, i) for k, i in _run(tmp_path / "again", FakeChain(
        phases(0, *ROUND_PHASES)))]
    assert lines[0] == f"joined task {TASK_ID} as contributor"
    assert any(line and line.startswith("round 0: committed update bafyprepared") for line in
               lines)
    assert any(line and line.startswith("round 0: waiting for VoteCommit to end at block")
               for line in lines)
    assert lines[-1] == f"task {TASK_ID} ended; contributor: rounds 1"


def test_no_salt_is_ever_reported(tmp_path: Path) -> None:
    for _, info in _run(tmp_path, FakeChain(phases(0, *ROUND_PHASES))):
        assert "salt" not in info


def test_a_refusal_for_a_missed_attempt_is_journalled_and_sat_out(tmp_path: Path) -> None:
    chain = FakeChain(phases(0, *ROUND_PHASES), refuse={"commit_update": "CommitDeadlinePassed"})
    events = _run(tmp_path, chain)
    missed = [i for k, i in events if k == "missed"]
    assert missed == [{"task": TASK_ID, "round": 0, "step": "commit",
                       "reason": "CommitDeadlinePassed"}]
    assert event_line("missed", missed[0]) == (
        "round 0: commit refused (CommitDeadlinePassed); sat out")
    assert chain.names() == ["commit_update"]  # never revealed what it did not commit


def test_a_done_refusal_counts_as_done(tmp_path: Path) -> None:
    chain = FakeChain(phases(0, *ROUND_PHASES), refuse={"reveal_update": "AlreadyRevealed"})
    events = _run(tmp_path, chain)
    assert ("reveal", {"task": TASK_ID, "round": 0, "already": True}) in events
    assert events[-1][1]["rounds"] == 1
    assert isinstance(PalletError("DecentralMl", "AlreadyRevealed"), PalletError)


def test_when_the_node_goes_away_the_driver_reconnects_and_carries_on(tmp_path: Path) -> None:
    from decentralml_client.chain.errors import ConnectionLost

    class Flaky(FakeChain):
        url = "ws://fake"
        reconnects = 0
        fail_at = 3

        def query(self, storage, params=None, **kw):  # noqa: ANN001, ANN003, ANN202
            if storage == "Tasks" and self.reads == self.fail_at and not self.reconnects:
                raise ConnectionLost("the websocket closed")
            return super().query(storage, params, **kw)

        def reconnect(self, timeout: float = 0) -> None:
            self.reconnects += 1

    chain = Flaky(phases(0, *ROUND_PHASES))
    events = _run(tmp_path, chain)
    assert chain.reconnects == 1 and ("reconnecting" in [k for k, _ in events])
    assert chain.names() == ["commit_update", "reveal_update"]  # each sent once
    assert [k for k, _ in events].count("joined") == 1 and events[-1][1]["rounds"] == 1
