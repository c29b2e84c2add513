"""Aggregation rules against hand-computed cases (PROTOCOL §5)."""

from __future__ import annotations

import numpy as np
import pytest

from decentralml_client.ml.aggregate import (
    FedAvgAccumulator,
    aggregate,
    effective_examples,
    fedavg,
    krum_scores,
    krum_select,
    median,
    multi_krum,
    parse_rule,
    trimmed_mean,
)
from decentralml_client.ml.errors import AggregationError

BASE = [np.array([1.0, 2.0], np.float32), np.array([[0.5]], np.float32)]


def upd(a: float, b: float, c: float) -> list[np.ndarray]:
    return [np.array([a, b], np.float32), np.array([[c]], np.float32)]


def close(got: list[np.ndarray], want: list[list[float]]) -> None:
    for g, w in zip(got, want):
        assert g.dtype == np.float32
        np.testing.assert_allclose(
            g.reshape(-1), np.array(w, np.float64).reshape(-1), rtol=0, atol=1e-6
        )


def test_fedavg_weights_by_num_examples() -> None:
    # base + (1*[1,0,3] + 3*[5,4,-1]) / 4 = base + [4, 3, 0]
    got = fedavg(BASE, [upd(1, 0, 3), upd(5, 4, -1)], [1, 3])
    close(got, [[5.0, 5.0], [[0.5]]])


def test_fedavg_single_update_is_base_plus_delta() -> None:
    close(fedavg(BASE, [upd(0.25, -1, 2)], [7]), [[1.25, 1.0], [[2.5]]])


def test_fedavg_streaming_equals_batch_and_memory_is_constant() -> None:
    rng = np.random.default_rng(0)
    base = [rng.normal(size=(70_000,)).astype(np.float32)]
    deltas = [[rng.normal(size=(70_000,)).astype(np.float32)] for _ in range(5)]
    ns = [3, 1, 4, 1, 5]
    acc = FedAvgAccumulator(base, group=2)
    buffers = [a.nbytes for a in acc._acc]
    for d, n in zip(deltas, ns):
        acc.add(d, n)
        assert [a.nbytes for a in acc._acc] == buffers and len(acc._pending) < 2
    acc64 = np.zeros(70_000, np.float64)
    for d, n in zip(deltas, ns):  # the specified order: one update after the other
        acc64 += n * d[0].astype(np.float64)
    want = acc64 / 14 + base[0].astype(np.float64)
    np.testing.assert_array_equal(acc.result()[0], want.astype(np.float32))
    with pytest.raises(AggregationError, match="already"):
        acc.add(deltas[0], 1)
    np.testing.assert_array_equal(fedavg(base, deltas, ns)[0], acc.result()[0])


def test_fedavg_is_bitwise_deterministic() -> None:
    rng = np.random.default_rng(1)
    deltas = [upd(*rng.normal(size=3)) for _ in range(9)]
    a = fedavg(BASE, deltas, list(range(1, 10)))
    b = fedavg(BASE, deltas, list(range(1, 10)))
    assert all(x.tobytes() == y.tobytes() for x, y in zip(a, b))


def test_trimmed_mean_drops_extremes() -> None:
    deltas = [upd(v, -v, 10 * v) for v in (1.0, 2.0, 3.0, 4.0, 100.0)]
    # beta 0.2 of 5 -> trim 1 each side -> mean of 2,3,4 = 3
    close(trimmed_mean(BASE, deltas, 0.2), [[4.0, -1.0], [[30.5]]])
    # beta 0 is the plain mean
    close(trimmed_mean(BASE, deltas, 0.0), [[23.0, -20.0], [[220.5]]])


def test_trimmed_mean_beta_bounds() -> None:
    # beta < 0.5 always leaves at least one value: with 2 updates nothing is trimmed
    close(trimmed_mean(BASE, [upd(1, 1, 1), upd(3, 3, 3)], 0.4999), [[3.0, 4.0], [[2.5]]])
    for beta in (0.5, -0.1):
        with pytest.raises(AggregationError, match="beta"):
            trimmed_mean(BASE, [upd(1, 1, 1)], beta)


def test_median_odd_and_even() -> None:
    close(median(BASE, [upd(1, 5, 0), upd(9, 1, 0), upd(2, 2, -3)]), [[3.0, 4.0], [[0.5]]])
    close(
        median(BASE, [upd(1, 5, 0), upd(9, 1, 0), upd(2, 2, -3), upd(4, 0, 1)]),
        [[4.0, 3.5], [[0.5]]],
    )


def test_krum_scores_by_hand() -> None:
    # 1-D points 0, 1, 2, 10 ; f=1 -> n-f-2 = 1 nearest neighbour
    deltas = [[np.array([v], np.float32)] for v in (0.0, 1.0, 2.0, 10.0)]
    np.testing.assert_allclose(krum_scores(deltas, 1), [1.0, 1.0, 1.0, 64.0])
    assert krum_select(deltas, 1, 2) == [0, 1]  # ties broken by lower index
    got = multi_krum([np.zeros(1, np.float32)], deltas, byzantine=1, keep=3)
    np.testing.assert_allclose(got[0], [1.0])


def test_multi_krum_excludes_outlier() -> None:
    good = [upd(1, 1, 1), upd(1.1, 0.9, 1), upd(0.9, 1.1, 1), upd(1, 1.05, 0.95), upd(1.02, 1, 1)]
    bad = [upd(-50, -50, -50)]
    got = multi_krum(BASE, good + bad, byzantine=1, keep=5)
    assert abs(got[0][0] - 2.004) < 1e-5
    with pytest.raises(AggregationError, match="n > f \\+ 2"):
        multi_krum(BASE, good[:3], byzantine=1, keep=2)


@pytest.mark.parametrize(
    "fn",
    [
        lambda d: fedavg(BASE, d, [1] * len(d)),
        lambda d: trimmed_mean(BASE, d, 0.1),
        lambda d: median(BASE, d),
        lambda d: multi_krum(BASE, d, 0, 1),
    ],
)
def test_empty_and_mismatched_inputs_are_refused(fn) -> None:
    with pytest.raises(AggregationError, match="no updates"):
        fn([])
    with pytest.raises(AggregationError, match="shape"):
        fn([upd(1, 1, 1), [np.zeros(3, np.float32), np.zeros((1, 1), np.float32)]])
    with pytest.raises(AggregationError, match="tensors"):
        fn([[np.zeros(2, np.float32)]])


def test_fedavg_refuses_bad_num_examples() -> None:
    with pytest.raises(AggregationError, match="positive"):
        fedavg(BASE, [upd(1, 1, 1)], [0])
    with pytest.raises(AggregationError, match="num_examples"):
        fedavg(BASE, [upd(1, 1, 1)], [1, 2])


def test_aggregate_dispatches_chain_rules() -> None:
    d = [upd(1, 0, 0), upd(2, 0, 0), upd(30, 0, 0)]
    close(aggregate("FedAvg", BASE, d, [1, 1, 1]), [[12.0, 2.0], [[0.5]]])
    close(aggregate({"TrimmedMean": {"beta": 334_000}}, BASE, d, [1, 1, 1]), [[3.0, 2.0], [[0.5]]])
    close(aggregate({"TrimmedMean": 334_000}, BASE, d, [1, 1, 1]), [[3.0, 2.0], [[0.5]]])
    close(aggregate("Median", BASE, d, [1, 5, 1]), [[3.0, 2.0], [[0.5]]])
    close(
        aggregate({"MultiKrum": {"byzantine": 0, "keep": 2}}, BASE, d, [1, 1, 1]),
        [[2.5, 2.0], [[0.5]]],
    )
    for bad in (
        "Mean",
        {"TrimmedMean": {"beta": 600_000}},
        {"MultiKrum": {"keep": 1}},
        {"FedAvg": {"x": 1}},
    ):
        with pytest.raises(AggregationError):
            parse_rule(bad)


def test_effective_examples_median_capped_caps_at_max_examples_and_the_lower_median() -> None:
    # caps 600 -> 500 (max_examples); lower median of [100, 200, 300, 500] is 200
    assert effective_examples([100, 300, 200, 600], 500) == [100, 200, 200, 200]
    assert effective_examples([100, 300, 200, 600], 500, "median-capped") == \
        [100, 200, 200, 200]
    assert effective_examples([100, 300, 200, 600], 500, "MedianCapped") == \
        [100, 200, 200, 200]  # the chain's value works too
    assert effective_examples([100, 300, 200, 600], 500, None) == [100, 200, 200, 200]
    # an inflated claim weighs no more than the typical one
    assert effective_examples([500, 600, 550, 10_000], 10_000) == [500, 550, 550, 550]
    assert effective_examples([], 10) == []
    assert effective_examples([0, 5], 10) == [1, 1]  # at least 1 each


def test_effective_examples_claimed_caps_at_max_examples_only() -> None:
    # unequal honest shards keep their sizes: plain FedAvg (TFF's weighted FedAvg)
    assert effective_examples([100, 300, 200, 400], 500, "claimed") == [100, 300, 200, 400]
    assert effective_examples([100, 300, 200, 400], 500, "Claimed") == [100, 300, 200, 400]
    # an inflated claim keeps its max_examples cap, and no more
    assert effective_examples([500, 600, 550, 10_000], 1_000, "claimed") == \
        [500, 600, 550, 1_000]
    assert effective_examples([0, 5], 10, "claimed") == [1, 5]
    assert effective_examples([], 10, "claimed") == []


def test_effective_examples_weighting_changes_the_fedavg_aggregate() -> None:
    deltas = [upd(1, 0, 0), upd(0, 1, 0), upd(0, 0, 4)]
    claims = [100, 100, 400]
    capped = fedavg(BASE, deltas, effective_examples(claims, 1_000, "median-capped"))
    claimed = fedavg(BASE, deltas, effective_examples(claims, 1_000, "claimed"))
    close(capped, [[1.0 + 1 / 3, 2.0 + 1 / 3], [[0.5 + 4 / 3]]])  # equal weights 100 each
    close(claimed, [[1.0 + 1 / 6, 2.0 + 1 / 6], [[0.5 + 16 / 6]]])  # 100:100:400


def test_effective_examples_refuses_an_unknown_weighting() -> None:
    with pytest.raises(AggregationError, match="example weighting"):
        effective_examples([1, 2], 10, "uncapped")
