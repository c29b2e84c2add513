"""The one acceptance rule for model updates: what a validator accepts, and the score it gives.

Both the validator role and the simulator call :func:`judge_updates`, so ``decentralml
simulate`` shows what the network does. For each update of a round, in ascending submission
index, a validator

1. refuses anything it could not fetch, verify or decode (the caller passes the exception);
2. refuses an update that did no work: a zero delta, or one whose L2 norm is below
   ``near_zero`` × the median norm of the round's updates (near-zero noise), and one whose
   norm is above ``max_norm`` × that median (a boosted update that would dominate the mean);
3. refuses a copy: a delta (almost) equal to an earlier submission of the round, or to the
   previous round's global step (the old model re-sent as "work");
4. applies the update **at its share of the aggregate**, ``M_r + Δ/k`` with ``k`` the number
   of updates left after steps 1–3, and measures the cross-entropy on its own held-out data.
   The **score** is the relative loss improvement scaled back to a whole step,
   ``10 000 · k · (L(M_r) − L(M_r + Δ/k)) / L(M_r)`` basis points, clipped to 0..10 000: the
   first-order contribution of the update to the next model. (Applying an honest update
   whole measures the contributor's local model, which late in training is often worse on
   other data than the global model, so a whole-step test rejects honest work.)
5. measures what the update adds **beyond public history**: everything earlier rounds made
   public (the global model ``M_r``, the previous rounds' revealed updates and global steps)
   spans a subspace ``H``; the update's *fresh part* is ``r = Δ − proj_H(Δ)``, and its
   **fresh value** is the loss the round's aggregate loses when that part is taken out of it,
   ``10 000 · k · (L(A − r/k) − L(A)) / L(M_r)`` basis points with ``A = M_r + mean(Δ)`` over
   the ``k`` updates left after 1–3 (leave-one-out, of the fresh part only). A copy of any
   earlier update, global model or global step, any linear combination of them, perturbed or
   not, has a fresh part that is only its perturbation: noise that adds nothing;
6. accepts when the signed gain reaches the task's ``min_improvement`` less a margin for
   measurement noise and data heterogeneity, ``max(margin_floor, margin_mads × MAD)`` of the
   round's gains on this validator's data (honest updates from skewed, non-IID data often
   have a small negative first-order gain on a balanced validation set and cluster with the
   others; poisoned updates fall many MADs below them), **and** the fresh value is positive
   (at least ``min_fresh``): an update that adds nothing beyond history does not enter the
   aggregate.

The **score** — what contributors are paid by (the bond-weighted median of the validators'
scores, see :mod:`decentralml_client.protocol.consensus`) — is the fresh value clipped to
0..10 000: a claimed example count buys nothing, an idle or re-used update scores 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from decentralml_client.ml.evaluate import apply_delta, evaluate
from decentralml_client.ml.model_spec import ModelSpec

MAX_SCORE = 10_000


@dataclass(frozen=True)
class AcceptancePolicy:
    """The knobs of the rule. ``min_improvement`` comes from the task spec."""

    min_improvement: int = 0  # basis points of whole-step relative loss improvement
    margin_floor: int = 25  # basis points
    margin_mads: float = 8.0
    near_zero: float = 0.05  # relative to the round's median update norm
    max_norm: float = 3.0  # relative to the round's median update norm
    copy_cosine: float = 0.9999  # cosine above which two deltas count as the same
    copy_norm_ratio: float = 0.01  # ... when their norms also differ by less than this
    min_fresh: int = 1  # basis points of fresh value an accepted update must reach


@dataclass(frozen=True)
class Judgement:
    """A validator's verdict on one update."""

    accept: bool
    score: int  # basis points, 0..10 000 (what goes on chain)
    reason: str | None = None
    loss: float | None = None
    gain: float | None = None  # signed whole-step gain, basis points
    fresh: float | None = None  # signed fresh value (beyond public history), basis points


def _flat(delta: Sequence[NDArray[Any]]) -> NDArray[Any]:
    return np.concatenate([np.asarray(d, np.float64).reshape(-1) for d in delta])


def _same(a: NDArray[Any], na: float, b: NDArray[Any], nb: float, policy: AcceptancePolicy) -> bool:
    if na == 0.0 or nb == 0.0 or a.shape != b.shape:
        return False
    cos = float(a @ b) / (na * nb)
    return cos >= policy.copy_cosine and abs(na / nb - 1.0) <= policy.copy_norm_ratio


def history_basis(vectors: Sequence[NDArray[Any]], rtol: float = 1e-9) -> NDArray[Any]:
    """An orthonormal basis (columns) of the span of the flat ``vectors`` (directions whose
    singular value is below ``rtol`` × the largest are dropped)."""
    cols = [v for v in vectors if v.size and float(np.linalg.norm(v)) > 0.0]
    if not cols:
        return np.zeros((0, 0))
    u, sv, _ = np.linalg.svd(np.stack(cols, axis=1), full_matrices=False)
    result: NDArray[Any] = u[:, sv > rtol * sv[0]]
    return result


def fresh_part(flat: NDArray[Any], basis: NDArray[Any]) -> NDArray[Any]:
    """``flat`` less its projection on the span of ``basis`` (what history does not explain)."""
    if basis.size == 0:
        return flat
    result: NDArray[Any] = flat - basis @ (basis.T @ flat)
    return result


def _unflat(flat: NDArray[Any], like: Sequence[NDArray[Any]]) -> list[NDArray[Any]]:
    out, offset = [], 0
    for t in like:
        n = int(np.size(t))
        out.append(flat[offset:offset + n].reshape(np.shape(t)))
        offset += n
    return out


def whole_step_gain(base_loss: float, loss: float, share: int = 1) -> float:
    """Relative loss improvement of a step taken at ``1/share``, scaled to a whole step, in
    basis points (signed; ``-inf`` when a loss is not finite)."""
    if not (math.isfinite(base_loss) and math.isfinite(loss)) or base_loss <= 0:
        return -math.inf
    return (base_loss - loss) / base_loss * share * MAX_SCORE


def spread(gains: Sequence[float]) -> float:
    """The median absolute deviation of the round's gains."""
    if not gains:
        return 0.0
    g = np.asarray(gains, np.float64)
    return float(np.median(np.abs(g - np.median(g))))


def score_of(gain: float) -> int:
    """The on-chain score of a gain: basis points clipped to 0..10 000."""
    return 0 if not math.isfinite(gain) else max(0, min(MAX_SCORE, round(gain)))


def judge_updates(
    model_spec: ModelSpec,
    base: Sequence[NDArray[Any]],
    candidates: Mapping[int, Sequence[NDArray[Any]] | BaseException],
    x: NDArray[Any],
    y: NDArray[Any],
    *,
    policy: AcceptancePolicy = AcceptancePolicy(),
    previous_step: Sequence[NDArray[Any]] | None = None,
    base_loss: float | None = None,
    history: Sequence[Sequence[NDArray[Any]]] = (),
) -> dict[int, Judgement]:
    """Judge every candidate update of a round (index → delta, or the error that made it
    unreadable) on the validator's data ``(x, y)``. ``history`` holds the public deltas of
    earlier rounds (revealed updates, global steps; see :data:`HISTORY_ROUNDS`); the base
    model and ``previous_step`` are part of history too."""
    if base_loss is None:
        base_loss = evaluate(model_spec, base, x, y)["loss"]
    flats: dict[int, tuple[NDArray[Any], float]] = {}
    out: dict[int, Judgement] = {}
    for i in sorted(candidates):
        c = candidates[i]
        if isinstance(c, BaseException):
            out[i] = Judgement(False, 0, f"{type(c).__name__}: {c}")
            continue
        f = _flat(c)
        norm = float(np.linalg.norm(f))
        if not math.isfinite(norm):
            out[i] = Judgement(False, 0, "the update holds non-finite values")
            continue
        flats[i] = (f, norm)
    norms = [n for _, n in flats.values()]
    median_norm = float(np.median(norms)) if norms else 0.0
    prev = None
    if previous_step is not None:
        pf = _flat(previous_step)
        prev = (pf, float(np.linalg.norm(pf)))
    seen: list[tuple[int, NDArray[Any], float]] = []
    survivors: list[int] = []
    for i in sorted(flats):
        f, norm = flats[i]
        if norm == 0.0 or norm < policy.near_zero * median_norm:
            out[i] = Judgement(False, 0, f"no training: update norm {norm:.3g} against the "
                                         f"round's median {median_norm:.3g}")
            continue
        if norm > policy.max_norm * median_norm:
            out[i] = Judgement(False, 0, f"update norm {norm:.3g} is over {policy.max_norm}x "
                                         f"the round's median {median_norm:.3g}")
            continue
        if prev is not None and _same(f, norm, prev[0], prev[1], policy):
            out[i] = Judgement(False, 0, "re-sends the previous round's global step")
            continue
        twin = next((j for j, g, ng in seen if _same(f, norm, g, ng, policy)), None)
        seen.append((i, f, norm))
        if twin is not None:
            out[i] = Judgement(False, 0, f"copy of submission {twin}")
            continue
        survivors.append(i)
    share = max(1, len(survivors))
    gains: dict[int, tuple[float, float]] = {}
    for i in survivors:
        delta = candidates[i]
        assert not isinstance(delta, BaseException)
        step = [np.asarray(d, np.float64) / share for d in delta]
        loss = evaluate(model_spec, apply_delta(base, step), x, y)["loss"]
        gains[i] = (whole_step_gain(base_loss, loss, share), loss)
    fresh = _fresh_values(model_spec, base, base_loss, {i: flats[i][0] for i in survivors},
                          x, y, history, previous_step)
    finite = [g for g, _ in gains.values() if math.isfinite(g)]
    margin = max(float(policy.margin_floor), policy.margin_mads * spread(finite))
    threshold = policy.min_improvement - margin
    for i, (gain, loss) in gains.items():
        value = fresh[i]
        if not math.isfinite(gain) or not math.isfinite(value):
            out[i] = Judgement(False, 0, "the updated model outputs non-finite values")
        elif gain < threshold:
            out[i] = Judgement(False, 0,
                               f"gain {gain:.0f} bp below the threshold {threshold:.0f} bp "
                               f"(task minimum {policy.min_improvement} bp less a margin of "
                               f"{margin:.0f} bp)", loss, gain, value)
        elif value < policy.min_fresh:
            out[i] = Judgement(False, 0,
                               f"adds nothing beyond public history: fresh value {value:.1f} bp "
                               f"(needs {policy.min_fresh} bp)", loss, gain, value)
        else:
            out[i] = Judgement(True, score_of(value), None, loss, gain, value)
    return dict(sorted(out.items()))


#: How many earlier rounds' revealed updates and global steps a validator holds as history.
HISTORY_ROUNDS = 2


def _fresh_values(
    model_spec: ModelSpec,
    base: Sequence[NDArray[Any]],
    base_loss: float,
    survivors: Mapping[int, NDArray[Any]],
    x: NDArray[Any],
    y: NDArray[Any],
    history: Sequence[Sequence[NDArray[Any]]],
    previous_step: Sequence[NDArray[Any]] | None,
) -> dict[int, float]:
    """The fresh value of each survivor (flat delta): leave-one-out of its part beyond
    history in the round's aggregate, in whole-step basis points."""
    if not survivors:
        return {}
    k = len(survivors)
    past = [_flat(base)] + [_flat(h) for h in history]
    if previous_step is not None:
        past.append(_flat(previous_step))
    basis = history_basis([p for p in past if np.all(np.isfinite(p))])
    mean = np.mean(np.stack(list(survivors.values())), axis=0)
    shape_of = [np.asarray(b) for b in base]
    loss_all = evaluate(model_spec, apply_delta(base, _unflat(mean, shape_of)), x, y)["loss"]
    out: dict[int, float] = {}
    for i, flat in survivors.items():
        without = mean - fresh_part(flat, basis) / k
        loss = evaluate(model_spec, apply_delta(base, _unflat(without, shape_of)), x, y)["loss"]
        if not (math.isfinite(loss) and math.isfinite(loss_all)) or base_loss <= 0:
            out[i] = -math.inf
        else:
            out[i] = (loss - loss_all) / base_loss * k * MAX_SCORE
    return out
