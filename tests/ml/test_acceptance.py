"""The one acceptance rule (ml/acceptance.py): honest updates pass, idle, copied, boosted and
poisoned ones are refused with a reason, and scores follow the measured gain."""

from __future__ import annotations

import numpy as np
import pytest

from decentralml_client.ml.acceptance import AcceptancePolicy, judge_updates, whole_step_gain
from decentralml_client.ml.attacks import attack_delta, attack_labels
from decentralml_client.ml.data import partition_iid
from decentralml_client.ml.errors import NonFiniteError
from decentralml_client.ml.model_spec import DIGITS_DATA, make_initial_weights, mlp_spec

FAST = mlp_spec(64, (32,), 10, data=DIGITS_DATA, learning_rate=0.5)


@pytest.fixture(scope="module")
def round_inputs(digits):
    from decentralml_client.ml.tff_runtime import tff_session
    from decentralml_client.ml.train import train_local

    x_tr, y_tr, x_te, y_te = digits
    base = make_initial_weights(FAST, 0)
    shards = partition_iid(x_tr, y_tr, 5, seed=0)
    with tff_session():
        honest = [train_local(FAST, base, x, y, seed=i).delta for i, (x, y) in enumerate(shards)]
        x, y = shards[0]
        flipped = train_local(FAST, base, x, attack_labels(y, "label-flip", 10), seed=9).delta
    return base, honest, flipped, (x_te, y_te)


def _judge(round_inputs, extra: dict, **kw):
    base, honest, _, (x, y) = round_inputs
    candidates = {i: d for i, d in enumerate(honest)}
    candidates.update(extra)
    return judge_updates(FAST, base, candidates, x, y, **kw)


def test_honest_updates_are_accepted_with_positive_scores(round_inputs) -> None:
    judged = _judge(round_inputs, {})
    assert all(j.accept for j in judged.values()), judged
    assert all(j.score > 0 and j.reason is None for j in judged.values())


def test_zero_and_near_zero_deltas_earn_nothing(round_inputs) -> None:
    base, honest, _, _ = round_inputs
    rng = np.random.default_rng(0)
    zero = attack_delta(honest[0], "free-rider", 0.0, rng)
    tiny = [(1e-4 * rng.standard_normal(d.shape)).astype(np.float32) for d in honest[0]]
    judged = _judge(round_inputs, {5: zero, 6: tiny})
    for i in (5, 6):
        assert not judged[i].accept and judged[i].score == 0
        assert "no training" in (judged[i].reason or "")
    assert all(judged[i].accept for i in range(5))


def test_copies_and_the_previous_global_step_are_refused(round_inputs) -> None:
    base, honest, _, _ = round_inputs
    copy = [d.copy() for d in honest[1]]
    judged = _judge(round_inputs, {5: copy})
    assert not judged[5].accept and judged[5].reason == "copy of submission 1"
    assert judged[1].accept  # the earlier submission keeps its verdict
    previous = [np.asarray(d, np.float64) for d in honest[2]]
    judged = judge_updates(FAST, base, {0: honest[0], 1: honest[2], 2: honest[3]},
                           *round_inputs[3], previous_step=previous)
    assert not judged[1].accept and "previous round's global step" in (judged[1].reason or "")


def test_poisoned_and_boosted_updates_are_refused(round_inputs) -> None:
    base, honest, flipped, _ = round_inputs
    rng = np.random.default_rng(1)
    extra = {5: attack_delta(honest[0], "sign-flip", 4.0, rng),
             6: attack_delta(honest[0], "scale", 10.0, rng),
             7: attack_delta(honest[0], "noise", 1.0, rng),
             8: flipped,
             9: NonFiniteError("tensor 0 holds NaN")}
    judged = _judge(round_inputs, extra)
    for i in extra:
        assert not judged[i].accept, (i, judged[i])
    assert "NonFiniteError" in (judged[9].reason or "")
    assert "over 3.0x" in (judged[6].reason or "")
    assert all(judged[i].accept for i in range(5))


def test_a_task_threshold_above_every_gain_rejects_all(round_inputs) -> None:
    judged = _judge(round_inputs, {}, policy=AcceptancePolicy(min_improvement=10_000,
                                                              margin_floor=0))
    assert not any(j.accept for j in judged.values())
    assert all("below the threshold" in (j.reason or "") for j in judged.values())


def test_gain_scale() -> None:
    assert whole_step_gain(2.0, 1.9, share=1) == pytest.approx(500.0)
    assert whole_step_gain(2.0, 1.99, share=10) == pytest.approx(500.0)
    assert whole_step_gain(2.0, float("nan")) == float("-inf")
