"""Aggregation rules (PROTOCOL §5): pure, deterministic functions of ``M_r`` and the updates.

Every rule takes the base model ``base`` (the list of float32 tensors of ``M_r``) and the
accepted updates ``deltas`` (each a list of tensors shaped like ``base``) **in ascending
submission index**, computes in float64 in that fixed order, and returns the new model
``M_{r+1}`` cast to float32. Anyone running the same numpy on the same inputs gets the same
bytes.

* ``fedavg``: ``M_{r+1} = M_r + (Σ_i n_i·Δ_i) / Σ_i n_i`` — the weighted sum is accumulated one
  update at a time (:class:`FedAvgAccumulator`), so memory does not grow with the number of
  updates.
* ``trimmed_mean``: per coordinate, drop the ``k = floor(β·n)`` smallest and ``k`` largest
  values and average the rest (unweighted).
* ``median``: per coordinate median (mean of the two middle values when ``n`` is even).
* ``multi_krum``: score each update by the sum of squared L2 distances to its ``n − f − 2``
  nearest others, keep the ``m`` lowest scores (ties: lower index), average them (unweighted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from decentralml_client.ml.errors import AggregationError
from decentralml_client.protocol.rules import (
    DEFAULT_EXAMPLE_WEIGHTING,
    check_rule,
    example_weighting,
)
from decentralml_client.units import PERMILL

Tensors = Sequence[NDArray[Any]]
_CHUNK = 1 << 15  # elements per chunk of the FedAvg inner loop (256 KiB of float64: in L2)


def _check_base(base: Tensors) -> list[tuple[int, ...]]:
    if not base:
        raise AggregationError("the base model has no tensors")
    return [tuple(np.shape(b)) for b in base]


def _check_delta(shapes: list[tuple[int, ...]], delta: Tensors, i: int) -> None:
    if len(delta) != len(shapes):
        raise AggregationError(f"update {i} has {len(delta)} tensors; the model has {len(shapes)}")
    for j, (d, s) in enumerate(zip(delta, shapes, strict=False)):
        if tuple(np.shape(d)) != s:
            raise AggregationError(
                f"update {i}, tensor {j}: shape {tuple(np.shape(d))} differs from the model's {s}"
            )


def _check_all(base: Tensors, deltas: Sequence[Tensors]) -> list[tuple[int, ...]]:
    shapes = _check_base(base)
    if len(deltas) == 0:
        raise AggregationError("no updates to aggregate (all rejected?)")
    for i, d in enumerate(deltas):
        _check_delta(shapes, d, i)
    return shapes


def _finish(base: Tensors, agg64: Sequence[NDArray[Any]]) -> list[NDArray[Any]]:
    return [(np.asarray(b, np.float64) + a).astype(np.float32)
            for b, a in zip(base, agg64, strict=False)]


class FedAvgAccumulator:
    """Streaming FedAvg: ``add`` one update at a time, then ``result``.

    Memory is bounded whatever the number of updates: one float64 buffer per tensor, a small
    scratch buffer, and references to at most ``group`` pending updates (do not modify an
    update after adding it until the next ``result``). Pending updates are folded in chunk by
    chunk so that each chunk of the float64 accumulator stays in cache while the group is
    added; every coordinate still receives ``acc += n_i·Δ_i`` in ascending update order, so
    the result is bit-identical to adding the updates one by one. Updates must be added in
    ascending submission index.
    """

    def __init__(self, base: Tensors, *, group: int = 16) -> None:
        self._shapes = _check_base(base)
        self._base = [np.asarray(b, np.float32) for b in base]
        self._acc = [np.zeros(s, np.float64) for s in self._shapes]
        self._scratch = np.empty(_CHUNK, np.float64)
        self._pending: list[tuple[list[NDArray[Any]], float]] = []
        self._group = max(1, int(group))
        self._result: list[NDArray[Any]] | None = None
        self._delta_taken = False
        self.total_examples = 0
        self.count = 0

    def add(self, delta: Tensors, num_examples: int) -> None:
        if isinstance(num_examples, bool) or int(num_examples) != num_examples or num_examples <= 0:
            raise AggregationError(f"num_examples must be a positive integer, got {num_examples!r}")
        if self._result is not None or self._delta_taken:
            raise AggregationError("result() was already taken; start a new accumulator")
        _check_delta(self._shapes, delta, self.count)
        flat = [np.asarray(d).reshape(-1) for d in delta]
        self._pending.append((flat, float(num_examples)))
        self.total_examples += int(num_examples)
        self.count += 1
        if len(self._pending) >= self._group:
            self._flush()

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        for j, acc in enumerate(self._acc):
            a = acc.reshape(-1)
            for s in range(0, a.size, _CHUNK):
                e = min(s + _CHUNK, a.size)
                tmp = self._scratch[: e - s]
                chunk = a[s:e]
                for flat, n in pending:
                    tmp[...] = flat[j][s:e]  # float32 -> float64, exact
                    tmp *= n  # exact: a float32 times an integer < 2**29 fits in float64
                    chunk += tmp

    def mean_delta(self) -> list[NDArray[Any]]:
        """``acc / Σn`` in float64 (the FedAvg delta a server optimiser takes). Ends the
        accumulation, like :meth:`result`; call one of the two."""
        if self._result is not None or self._delta_taken:
            raise AggregationError("the result was already taken; start a new accumulator")
        self._flush()
        if self.count == 0:
            raise AggregationError("no updates to aggregate (all rejected?)")
        total = float(self.total_examples)
        out = []
        for acc in self._acc:
            np.divide(acc, total, out=acc)
            out.append(acc)
        self._acc = []
        self._delta_taken = True
        return out

    def result(self) -> list[NDArray[Any]]:
        """``M_r + acc / Σn`` cast to float32. Ends the accumulation (later calls repeat it)."""
        if self._delta_taken:
            raise AggregationError("mean_delta() was already taken; start a new accumulator")
        if self._result is None:
            self._flush()
            if self.count == 0:
                raise AggregationError("no updates to aggregate (all rejected?)")
            total = float(self.total_examples)
            out = []
            # in place: no second float64 copy
            for acc, b in zip(self._acc, self._base, strict=False):
                np.divide(acc, total, out=acc)
                np.add(acc, b, out=acc)
                out.append(acc.astype(np.float32))
            self._acc = []
            self._result = out
        return [r.copy() for r in self._result]


def fedavg(
    base: Tensors, deltas: Sequence[Tensors], num_examples: Sequence[int]
) -> list[NDArray[Any]]:
    """``M_r + Σ n_i Δ_i / Σ n_i`` (float64 accumulation in the given order)."""
    if len(deltas) != len(num_examples):
        raise AggregationError(f"{len(deltas)} updates but {len(num_examples)} num_examples")
    _check_all(base, deltas)
    acc = FedAvgAccumulator(base)
    for d, n in zip(deltas, num_examples, strict=False):
        acc.add(d, n)
    return acc.result()


def _stacked(deltas: Sequence[Tensors], j: int) -> NDArray[Any]:
    return np.stack([np.asarray(d[j], np.float64) for d in deltas])


def trimmed_mean(base: Tensors, deltas: Sequence[Tensors], beta: float) -> list[NDArray[Any]]:
    """Coordinate-wise mean after dropping the ``floor(beta·n)`` lowest and highest values."""
    return _finish(base, trimmed_mean_delta(base, deltas, beta))


def trimmed_mean_delta(
    base: Tensors, deltas: Sequence[Tensors], beta: float
) -> list[NDArray[Any]]:
    """The float64 delta of :func:`trimmed_mean`."""
    if not (0.0 <= beta < 0.5):
        raise AggregationError(f"beta must be in [0, 0.5), got {beta!r}")
    _check_all(base, deltas)
    n = len(deltas)
    k = int(np.floor(beta * n + 1e-12))
    if n - 2 * k < 1:
        raise AggregationError(f"trimming {k} from each side of {n} updates leaves nothing")
    out = []
    for j in range(len(base)):
        s = np.sort(_stacked(deltas, j), axis=0, kind="stable")
        out.append(np.mean(s[k : n - k], axis=0))
    return out


def median(base: Tensors, deltas: Sequence[Tensors]) -> list[NDArray[Any]]:
    """Coordinate-wise median of the updates."""
    return _finish(base, median_delta(base, deltas))


def median_delta(base: Tensors, deltas: Sequence[Tensors]) -> list[NDArray[Any]]:
    """The float64 delta of :func:`median`."""
    _check_all(base, deltas)
    return [np.median(_stacked(deltas, j), axis=0) for j in range(len(base))]


def krum_scores(deltas: Sequence[Tensors], byzantine: int) -> NDArray[Any]:
    """Krum score of each update: sum of squared distances to its ``n − f − 2`` nearest."""
    n = len(deltas)
    nb = n - byzantine - 2
    if byzantine < 0 or nb < 1:
        raise AggregationError(
            f"Krum needs n > f + 2 updates (n={n}, f={byzantine}); reduce byzantine or add updates"
        )
    flat = [np.concatenate([np.asarray(t, np.float64).reshape(-1) for t in d]) for d in deltas]
    dist = np.zeros((n, n), np.float64)
    for i in range(n):
        for j in range(i + 1, n):
            diff = flat[i] - flat[j]
            dist[i, j] = dist[j, i] = float(np.dot(diff, diff))
    scores = np.empty(n, np.float64)
    for i in range(n):
        others = np.sort(np.delete(dist[i], i), kind="stable")
        scores[i] = float(np.sum(others[:nb]))
    return scores


def krum_select(deltas: Sequence[Tensors], byzantine: int, keep: int) -> list[int]:
    """Indices (ascending) of the ``keep`` updates with the lowest Krum scores."""
    n = len(deltas)
    if not 1 <= keep <= n:
        raise AggregationError(f"keep must be in 1..{n}, got {keep}")
    scores = krum_scores(deltas, byzantine)
    order = sorted(range(n), key=lambda i: (scores[i], i))
    return sorted(order[:keep])


def multi_krum(
    base: Tensors, deltas: Sequence[Tensors], byzantine: int, keep: int
) -> list[NDArray[Any]]:
    """Average (unweighted) of the ``keep`` updates Krum trusts most, assuming ``byzantine`` bad."""
    return _finish(base, multi_krum_delta(base, deltas, byzantine, keep))


def multi_krum_delta(
    base: Tensors, deltas: Sequence[Tensors], byzantine: int, keep: int
) -> list[NDArray[Any]]:
    """The float64 delta of :func:`multi_krum`."""
    _check_all(base, deltas)
    chosen = krum_select(deltas, byzantine, keep)
    out = []
    for j in range(len(base)):
        acc = np.zeros(np.shape(base[j]), np.float64)
        for i in chosen:
            acc += np.asarray(deltas[i][j], np.float64)
        out.append(acc / len(chosen))
    return out


def parse_rule(rule: str | Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Normalise a chain rule (``"FedAvg"``, ``{"TrimmedMean": {"beta": 100000}}``, …) as
    :func:`~decentralml_client.protocol.rules.check_rule` checks it: ``(name, params)`` with
    name in FedAvg/TrimmedMean/Median/MultiKrum; ``beta`` is in Permill as on chain."""
    try:
        return check_rule(rule)
    except ValueError as exc:
        raise AggregationError(str(exc)) from None


def effective_examples(
    claims: Sequence[int], cap: int, weighting: str | None = DEFAULT_EXAMPLE_WEIGHTING
) -> list[int]:
    """The example counts FedAvg weights the accepted updates by, per the task's example
    weighting (a name or the chain's ``ExampleWeighting`` value, see
    :func:`~decentralml_client.protocol.rules.example_weighting`):

    * ``median-capped`` (default): each claim capped by the task's ``max_examples`` and by
      the round's (lower) median claim, so that no claim buys more than an equal share of
      the aggregate (``docs/protocol.md``, free-riding);
    * ``claimed``: each claim capped by ``max_examples`` only — plain FedAvg weighting
      (McMahan et al.; TFF's weighted FedAvg), for tasks whose admission is not open.
    """
    try:
        mode = example_weighting(weighting)
    except ValueError as exc:
        raise AggregationError(str(exc)) from None
    if not claims:
        return []
    capped = [max(1, min(int(n), int(cap))) for n in claims]
    if mode == "claimed":
        return capped
    median_claim = sorted(capped)[(len(capped) - 1) // 2]
    return [min(n, median_claim) for n in capped]


def aggregate_delta(
    rule: str | Mapping[str, Any],
    base: Tensors,
    deltas: Sequence[Tensors],
    num_examples: Sequence[int],
) -> list[NDArray[Any]]:
    """The rule's combined delta of the accepted updates, in float64 (ascending submission
    index). ``M_r`` plus this delta, cast to float32, is :func:`aggregate`; a server optimiser
    (:mod:`~decentralml_client.ml.server_opt`) takes it as its pseudo-gradient instead."""
    name, p = parse_rule(rule)
    if len(deltas) != len(num_examples):
        raise AggregationError(f"{len(deltas)} updates but {len(num_examples)} num_examples")
    if name == "FedAvg":
        _check_all(base, deltas)
        acc = FedAvgAccumulator(base)
        for d, n in zip(deltas, num_examples, strict=False):
            acc.add(d, n)
        return acc.mean_delta()
    if name == "TrimmedMean":
        return trimmed_mean_delta(base, deltas, p["beta"] / PERMILL)
    if name == "Median":
        return median_delta(base, deltas)
    return multi_krum_delta(base, deltas, p["byzantine"], min(p["keep"], len(deltas)))


def aggregate(
    rule: str | Mapping[str, Any],
    base: Tensors,
    deltas: Sequence[Tensors],
    num_examples: Sequence[int],
) -> list[NDArray[Any]]:
    """Apply the chain's aggregation rule to the accepted updates (ascending submission index)."""
    return _finish(base, aggregate_delta(rule, base, deltas, num_examples))


def next_model(
    rule: str | Mapping[str, Any],
    server_optimizer: Any,
    base: Tensors,
    state: Any,
    deltas: Sequence[Tensors],
    num_examples: Sequence[int],
) -> tuple[list[NDArray[Any]], Any]:
    """``(M_{r+1}, server state)``: the rule's delta, then one step of the server optimiser
    (a :class:`~decentralml_client.ml.server_opt.ServerOptimizer` or its chain value).
    ``state`` is the :class:`~decentralml_client.ml.server_opt.ServerState` carried by ``M_r``
    (``None`` for the initial model). The one function the simulator, the aggregator and the
    validators call."""
    from decentralml_client.ml import server_opt

    opt = (server_optimizer if isinstance(server_optimizer, server_opt.ServerOptimizer)
           else server_opt.ServerOptimizer.from_chain(server_optimizer))
    delta = aggregate_delta(rule, base, deltas, num_examples)
    return server_opt.apply(opt, base, delta, state)
