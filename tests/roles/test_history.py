"""What the roles read from earlier rounds: last round's public consensus per contributor
account, the public history validators judge against (and history attackers re-use), the
probes a validator commits to, and a history attacker's update."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from decentralml_client.chain.api import permill
from decentralml_client.keys import dev_account
from decentralml_client.ml.attacks import PublicHistory
from decentralml_client.ml.codec import decode_tensors
from decentralml_client.ml.evidence import Prober, probe_seed
from decentralml_client.ml.model_spec import default_digits_spec, make_initial_weights
from decentralml_client.ml.validators import Outcome
from decentralml_client.roles import updates as updates_module
from decentralml_client.roles import validator
from decentralml_client.roles.common import RoleContext, account_key
from decentralml_client.roles.contributor import ContributorOptions, run_contributor
from tests.roles.fakes import ROUND_PHASES, TASK_ID, FakeChain, phases, role_context

ALICE, BOB, CAROL = (dev_account(n).ss58_address for n in ("alice", "bob", "charlie"))
V1, V2 = dev_account("dave").ss58_address, dev_account("eve").ss58_address
DML = 10**12


class RoundsChain(FakeChain):
    """The roles' fake chain with per-round storage (``Submissions``, ``Votes``,
    ``Electorate``), as the pallet keys them by ``(task, round)``."""

    def __init__(self, script: list[Any], rounds: dict[int, dict[str, Any]], **kw: Any) -> None:
        super().__init__(script, **kw)
        self.rounds = rounds

    def query(self, storage: str, params: list[Any] | None = None, **kw: Any) -> Any:
        if storage == "Electorate":
            return list(self.rounds.get(params[0][1], {}).get("Electorate", {}).items())
        if storage == "RoundSummaries":
            return self.rounds.get(params[0][1], {}).get("RoundSummaries")
        return super().query(storage, params, **kw)

    def query_map(self, storage: str, params: list[Any] | None = None,
                  **kw: Any) -> list[tuple[Any, Any]]:
        if storage in ("Submissions", "Votes") and params:
            return list(self.rounds.get(params[0][1], {}).get(storage, {}).items())
        return super().query_map(storage, params, **kw)


def _sub(who: str, status: str, digest: str = "0x" + "ab" * 32) -> dict[str, Any]:
    return {"contributor": who, "status": status, "cid": "bafy", "update_hash": digest,
            "num_examples": 10, "commitment": "0x" + "00" * 32, "accept_stake": 0,
            "reject_stake": 0}


def _v(sub: int, accept: bool, score: int, probe: int) -> dict[str, Any]:
    return {"submission": sub, "accept": accept, "score": score, "probe": probe}


def test_last_consensus_follows_the_contributor_account_not_the_index(tmp_path: Path) -> None:
    rounds = {
        0: {"Submissions": {0: _sub(ALICE, "Accepted"), 1: _sub(BOB, "Rejected")},
            "Electorate": {V1: 30 * DML, V2: 10 * DML},
            "Votes": {V1: [_v(0, True, 8000, 500_000), _v(1, False, 0, 300_000)],
                      V2: [_v(0, True, 9000, 500_100), _v(1, True, 7000, 1)]}},
        # round 1: the commit order changed; CAROL is new
        1: {"Submissions": {0: _sub(BOB, "Revealed"), 1: _sub(CAROL, "Revealed"),
                            2: _sub(ALICE, "Revealed")}},
    }
    chain = RoundsChain(phases(1, "VoteCommit"), rounds)
    ctx = role_context(chain, tmp_path)
    last = ctx.last_consensus(TASK_ID, chain.record())
    # V2's probe on BOB's update is far off V1's (the 30-of-40 median): its score of 7000
    # is not evidence, so BOB's consensus score is V1's 0
    assert last == {0: Outcome(False, 0, 300_000), 2: Outcome(True, 8000, 500_000)}
    assert role_context(RoundsChain(phases(0, "VoteCommit"), rounds), tmp_path
                        ).last_consensus(TASK_ID, chain.record(round=0)) == {}


def _tensors(value: float) -> list[NDArray[Any]]:
    return [np.full((2, 2), value, np.float32), np.full((2,), value, np.float32)]


def test_public_history_holds_the_last_rounds_by_account_and_is_fetched_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rounds: dict[int, dict[str, Any]] = {
        r: {"Submissions": {0: _sub(ALICE, "Accepted"), 1: _sub(BOB, "Rejected"),
                            2: _sub(CAROL, "Revealed"), 3: _sub(V1, "Committed")}}
        for r in range(4)}
    chain = RoundsChain(phases(3, "VoteCommit"), rounds)
    ctx = role_context(chain, tmp_path)
    loads: list[tuple[int, int]] = []

    def load(c: RoleContext, task_id: int, task: Any, index: int,
             sub: Any, *, round_: int, base_hash: str) -> Any:
        loads.append((round_, index))
        assert base_hash == f"M{round_}"  # checked against the model that round started from
        if sub.contributor == CAROL:
            raise ValueError("unavailable")  # left out of history
        return _tensors(10 * round_ + index), 10

    models = {r: _tensors(float(r * r)) for r in range(5)}
    monkeypatch.setattr(updates_module, "load_update", load)
    monkeypatch.setattr(ctx, "_round_start_ref", lambda t, task, r: (f"cid{r}", f"M{r}"))
    monkeypatch.setattr(ctx, "_round_start", lambda t, task, r: models[r])

    history = ctx.public_history(TASK_ID, chain.record())
    assert isinstance(history, PublicHistory)
    # rounds 1 and 2 (HISTORY_ROUNDS = 2 before round 3); revealed statuses only
    assert [sorted(u) for u in history.updates] == [sorted([account_key(ALICE),
                                                            account_key(BOB)])] * 2
    assert float(history.updates[0][account_key(BOB)][0][0, 0]) == 11.0
    assert float(history.updates[1][account_key(ALICE)][0][0, 0]) == 20.0
    # the global steps M_2 − M_1 and M_3 − M_2
    assert [float(s[0][0, 0]) for s in history.steps] == [3.0, 5.0]
    assert len(history.deltas()) == 6
    assert sorted(loads) == [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]

    # the next round fetches only the new round, and forgets the one out of the window
    loads.clear()
    chain.script = phases(4, "VoteCommit")
    again = ctx.public_history(TASK_ID, chain.record(round=4))
    assert sorted(loads) == [(3, 0), (3, 1), (3, 2)]
    assert len(again.updates) == 2 and [float(s[0][0, 0]) for s in again.steps] == [5.0, 7.0]
    assert sorted(k[1] for k in ctx._history) == [2, 3]


def test_the_validator_commits_a_probe_for_every_revealed_update(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = default_digits_spec()
    base = make_initial_weights(spec)
    rng = np.random.default_rng(1)
    good = [rng.normal(0, 0.01, w.shape).astype(np.float32) for w in base]
    hashes = ["0x" + "11" * 32, "0x" + "22" * 32]
    rounds = {1: {"Submissions": {0: _sub(ALICE, "Revealed", hashes[0]),
                                  1: _sub(BOB, "Revealed", hashes[1]),
                                  2: _sub(CAROL, "Committed")},
                  "Electorate": {V1: 2 * DML, V2: 2 * DML}}}  # no committee: both judge all
    chain = RoundsChain(phases(1, "VoteCommit", retries=1), rounds)
    ctx = role_context(chain, tmp_path, name="dave")
    history = PublicHistory(updates=[{account_key(CAROL): _tensors(0.0)}], steps=[])
    seen: dict[str, Any] = {}

    def load(c: Any, task_id: int, task: Any, index: int, sub: Any) -> Any:
        if index == 1:
            raise ValueError("swapped content")
        return good, 10

    from decentralml_client.ml import acceptance
    real_judge = acceptance.judge_updates

    def judge(*args: Any, **kw: Any) -> Any:
        seen.update(kw)
        return real_judge(*args, **kw)

    monkeypatch.setattr(validator, "load_update", load)
    monkeypatch.setattr(acceptance, "judge_updates", judge)
    monkeypatch.setattr(ctx, "model_spec", lambda task: spec)
    monkeypatch.setattr(ctx, "global_model", lambda task: (base, "0xbase"))
    monkeypatch.setattr(ctx, "previous_step", lambda t, task: None)
    monkeypatch.setattr(ctx, "public_history", lambda t, task: history)
    monkeypatch.setattr(ctx, "last_consensus", lambda t, task: {})
    x = rng.uniform(0, 16, (40, 64)).astype(np.float32)
    y = rng.integers(0, 10, 40)

    verdicts, reasons = validator._judge(ctx, TASK_ID, chain.record(), x, y, {},
                                         validator.ValidatorOptions())

    assert verdicts is not None and [len(v) for v in verdicts] == [4, 4]
    prober = Prober(spec, base, probe_seed(TASK_ID, 1, 1, [bytes.fromhex(h[2:])
                                                           for h in hashes]))
    assert verdicts[0][3] == prober.probe(good) > 0
    assert verdicts[1][:4] == (1, False, 0, 0)  # unreadable: probe 0, as every validator sees
    assert "swapped content" in reasons[1]
    assert len(seen["history"]) == 1  # judged against the public history


def test_a_history_attacker_replays_another_accounts_update_without_training(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = default_digits_spec()
    base = make_initial_weights(spec)
    other = [np.full(w.shape, 0.5, np.float32) for w in base]
    mine = [np.full(w.shape, 9.0, np.float32) for w in base]
    chain = FakeChain(phases(1, *ROUND_PHASES))
    ctx = role_context(chain, tmp_path, name="alice")
    stored: list[bytes] = []

    class Store:
        def add(self, data: bytes) -> str:
            stored.append(data)
            return f"bafy{len(stored)}"

    ctx.store = Store()  # type: ignore[assignment]
    history = PublicHistory(updates=[{account_key(ctx.address): mine,
                                      account_key(BOB): other}], steps=[])
    monkeypatch.setattr(ctx, "model_spec", lambda task: spec)
    monkeypatch.setattr(ctx, "global_model", lambda task: (base, "0x" + "00" * 32))
    monkeypatch.setattr(ctx, "public_history", lambda t, task: history)

    def no_training(*a: Any, **k: Any) -> Any:
        raise AssertionError("a history attacker does not train")

    monkeypatch.setattr("decentralml_client.ml.train.train_local", no_training)
    chain.spec.update(max_examples=777, quorum=permill(2 / 3))

    run_contributor(ctx, TASK_ID, np.zeros((1, 64)), np.zeros(1),
                    ContributorOptions(attack="replay", max_rounds=1))

    update = decode_tensors(stored[0], spec, kind="delta")
    assert update.num_examples == 777  # claims like the other idle attacks
    flat = np.concatenate([t.reshape(-1) for t in update.tensors])
    want = np.concatenate([t.reshape(-1) for t in other])
    # BOB's update (not its own), perturbed by noise of 0.1 x its norm
    assert np.linalg.norm(flat - want) == pytest.approx(0.1 * np.linalg.norm(want), rel=0.1)
