"""Local training with TFF client work, evaluation, DP, and the helper-process shutdown."""

from __future__ import annotations

import math

import numpy as np
import pytest

from decentralml_client.ml.errors import DataError, TrainingError
from decentralml_client.ml.evaluate import apply_delta, evaluate
from decentralml_client.ml.model_spec import make_initial_weights
from decentralml_client.ml.tff_runtime import tff_session, worker_pids
from decentralml_client.ml.train import DPConfig, dp_epsilon, train_local


def test_train_local_gives_delta_metrics_and_stops_the_worker(model_spec, digits) -> None:
    xtr, ytr, xte, yte = digits
    w0 = make_initial_weights(model_spec, 0)
    res = train_local(model_spec, w0, xtr[:200], ytr[:200], seed=1)
    assert worker_pids() == []  # TFF's helper process is gone after the call
    assert res.num_examples == 200 and res.metrics["num_examples"] == 200
    assert [d.shape for d in res.delta] == list(model_spec.weight_shapes)
    assert all(d.dtype == np.float32 and np.isfinite(d).all() for d in res.delta)
    assert 0.0 <= res.metrics["accuracy"] <= 1.0 and res.metrics["loss"] > 0
    before = evaluate(model_spec, w0, xte, yte)
    after = evaluate(model_spec, apply_delta(w0, res.delta), xte, yte)
    assert after["loss"] < before["loss"]
    assert before["num_examples"] == len(yte)


def test_session_keeps_one_worker_then_stops_it(model_spec, digits) -> None:
    xtr, ytr, _, _ = digits
    w0 = make_initial_weights(model_spec, 0)
    with tff_session():
        a = train_local(model_spec, w0, xtr[:64], ytr[:64], seed=5)
        pids = worker_pids()
        b = train_local(model_spec, w0, xtr[:64], ytr[:64], seed=5)
        assert worker_pids() == pids and len(pids) == 1
    assert worker_pids() == []
    for x, y in zip(a.delta, b.delta):  # same data, same seed: same delta
        np.testing.assert_allclose(x, y, atol=1e-6)


def test_train_local_refuses_bad_inputs(model_spec, digits) -> None:
    xtr, ytr, _, _ = digits
    w0 = make_initial_weights(model_spec, 0)
    with pytest.raises(TrainingError, match="shape"):
        train_local(model_spec, [w0[0].T, *w0[1:]], xtr[:10], ytr[:10])
    with pytest.raises(DataError, match="per example"):
        train_local(model_spec, w0, xtr[:10, :60], ytr[:10])
    with pytest.raises(TrainingError, match="NaN"):
        train_local(model_spec, [np.full_like(w0[0], np.nan), *w0[1:]], xtr[:10], ytr[:10])


def test_dp_clips_and_noises(model_spec, digits) -> None:
    xtr, ytr, _, _ = digits
    w0 = make_initial_weights(model_spec, 0)
    clipped = train_local(model_spec, w0, xtr[:100], ytr[:100], seed=2, dp=DPConfig(0.01, 0.0))
    norm = math.sqrt(sum(float(np.sum(d.astype(np.float64) ** 2)) for d in clipped.delta))
    assert norm == pytest.approx(0.01, rel=1e-4)
    noisy = train_local(model_spec, w0, xtr[:100], ytr[:100], seed=2, dp=DPConfig(0.01, 1.0))
    diff = np.concatenate([(n - c).reshape(-1) for n, c in zip(noisy.delta, clipped.delta)])
    assert np.std(diff) == pytest.approx(0.01, rel=0.1)


def test_dp_epsilon_accounting() -> None:
    assert dp_epsilon(0.0, 10) == math.inf
    e1, e10 = dp_epsilon(1.0, 1), dp_epsilon(1.0, 10)
    assert 0 < e1 < e10
    assert dp_epsilon(2.0, 10) < e10
    # one Gaussian release with sigma=1, delta=1e-5: RDP bound is about 5.3
    assert 4.0 < e1 < 6.0
