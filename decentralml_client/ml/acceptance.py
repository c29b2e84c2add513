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
   The **gain** is the relative loss improvement scaled back to a whole step,
   ``10 000 · k · (L(M_r) − L(M_r + Δ/k)) / L(M_r)`` basis points — the harm test. (Applying
   an honest update whole measures the contributor's local model, which late in training is
   often worse on other data than the global model, so a whole-step test rejects honest work.)
5. measures what the update adds **beyond public history**: everything earlier rounds made
   public (the global model ``M_r``, the last ``HISTORY_ROUNDS`` rounds' revealed updates and
   global steps) spans a subspace ``H``; the update's *fresh part* is ``r = Δ − proj_H(Δ)``.
   With ``g`` the gradient of the loss on this validator's data at ``M_r``, also taken off
   ``H``, the fresh part's **fresh value** is its first-order loss decrease
   ``10 000 · (−g·r) / L(M_r)`` basis points, and its **freshness** is the same alignment as a
   z-score, ``z = cos(r, −g) · √(d − dim H)``. A re-use of history — a copy of any earlier
   update, global model or step, any linear combination of them, perturbed at any strength —
   has a fresh part that is only its perturbation, chosen without data: ``z`` is then a
   standard normal draw whatever the perturbation's size. An honest update's fresh part is what
   its data taught it this round (``z`` of 6–9 at the median on digits);
6. refuses **copies of others' public work**: an update whose cosine with another account's
   earlier update or a global step reaches ``copy_history_cosine`` (scaled, or perturbed by up
   to a third of its norm; an update's own previous update is not held against it: on skewed
   shards consecutive honest updates of one contributor point the same way), and **noise**:
   an update whose fresh part is not informative (``z < pay_z``) while more than
   ``noise_share`` of it lies beyond other accounts' history and the global models (a noise
   rider, or a copy carrying more noise than signal; honest updates keep 20–75 %);
7. accepts when the signed gain reaches the task's ``min_improvement`` less a margin for
   measurement noise and data heterogeneity, ``max(margin_floor, margin_mads × MAD)`` of the
   round's gains on this validator's data (honest updates from skewed, non-IID data often
   have a small negative first-order gain on a balanced validation set and cluster with the
   others; poisoned updates fall many MADs below them), and 6 did not refuse it.

The **score** — what contributors are paid by (the bond-weighted median of the validators'
scores, see :mod:`decentralml_client.protocol.consensus`) — is the fresh value, clipped to
0..10 000, when the fresh part is informative (``z ≥ pay_z``) and 0 otherwise: a claimed
example count buys nothing; idle, copied and re-used work scores 0 (a re-user draws
``z ≥ pay_z`` about 0.1 % of the time, and then only a small value). Honest work whose fresh part
was not informative this round is accepted into the aggregate but not paid for that round.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from decentralml_client.hashing import blake2_256
from decentralml_client.ml.evaluate import apply_delta, evaluate, loss_gradient
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
    copy_history_cosine: float = 0.95  # cosine with another's public delta that is a copy
    pay_z: float = 3.0  # freshness (z) at which an update's fresh value is paid
    noise_share: float = 0.8  # share of its norm beyond history that marks an update as noise


@dataclass(frozen=True)
class Judgement:
    """A validator's verdict on one update."""

    accept: bool
    score: int  # basis points, 0..10 000 (what goes on chain)
    reason: str | None = None
    loss: float | None = None
    gain: float | None = None  # signed whole-step gain, basis points
    fresh: float | None = None  # signed fresh value (beyond public history), basis points
    freshness: float | None = None  # z-score of the fresh part's alignment with the descent


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
    not_own: Mapping[int, Sequence[Sequence[NDArray[Any]]]] | None = None,
) -> dict[int, Judgement]:
    """Judge every candidate update of a round (index → delta, or the error that made it
    unreadable) on the validator's data ``(x, y)``. ``history`` holds the public deltas of
    earlier rounds (revealed updates, global steps; see :data:`HISTORY_ROUNDS`); the base
    model and ``previous_step`` are part of history too. ``not_own`` maps a candidate to the
    public deltas that are not its contributor's own work (other accounts' updates and the
    global steps, :meth:`~.attacks.PublicHistory.not_own`); default: all of ``history``."""
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
    past = _History.of(base, previous_step, history)
    fresh = _freshness(model_spec, base_loss, {i: flats[i][0] for i in survivors}, x, y, past,
                       base, not_own)
    finite = [g for g, _ in gains.values() if math.isfinite(g)]
    margin = max(float(policy.margin_floor), policy.margin_mads * spread(finite))
    threshold = policy.min_improvement - margin
    for i, (gain, loss) in gains.items():
        fr = fresh[i]
        value, z = fr.value, fr.z
        paid = score_of(value) if z >= policy.pay_z else 0
        if not math.isfinite(gain) or not math.isfinite(value):
            out[i] = Judgement(False, 0, "the updated model outputs non-finite values")
        elif gain < threshold:
            out[i] = Judgement(False, 0,
                               f"gain {gain:.0f} bp below the threshold {threshold:.0f} bp "
                               f"(task minimum {policy.min_improvement} bp less a margin of "
                               f"{margin:.0f} bp)", loss, gain, value, z)
        elif (copied := past.copied(flats[i][0], flats[i][1],
                                    history if not_own is None else not_own.get(i, history),
                                    policy.copy_history_cosine)) is not None:
            out[i] = Judgement(False, 0,
                               f"copies public history: cosine {copied:.3f} with another "
                               "account's earlier update or a global step",
                               loss, gain, value, z)
        elif z < policy.pay_z and history and fr.ratio > policy.noise_share:
            out[i] = Judgement(False, 0,
                               f"its part beyond public history is noise: freshness z = {z:.1f}"
                               f" and {100 * fr.ratio:.0f} % of the update is not explained by "
                               "other accounts' earlier updates and the global models",
                               loss, gain, value, z)
        else:
            out[i] = Judgement(True, paid, None, loss, gain, value, z)
    return dict(sorted(out.items()))


#: How many earlier rounds' revealed updates and global steps a validator holds as history.
HISTORY_ROUNDS = 2

#: The last :class:`_History` built (:meth:`_History.of`): (key, the objects, the history).
_LAST_HISTORY: list[tuple[Any, tuple[Any, ...], _History]] = []



@dataclass(frozen=True)
class Freshness:
    """What an update adds beyond public history, on one validator's data."""

    value: float  # first-order loss decrease of the fresh part, whole-step basis points
    z: float  # alignment of the fresh part with the descent direction, as a z-score
    ratio: float  # norm beyond the history that is not its own / norm of the update


class _History:
    """The public history a validator holds, flattened once: its orthonormal basis (with the
    base model and the previous step), and each vector's coordinates in it, so that the span
    of *other accounts'* history is had from a small SVD in those coordinates."""

    def __init__(self, base: Sequence[NDArray[Any]],
                 previous_step: Sequence[NDArray[Any]] | None,
                 history: Sequence[Sequence[NDArray[Any]]]) -> None:
        self._flat: dict[int, NDArray[Any]] = {}
        self.head = [_flat(base)] + ([_flat(previous_step)] if previous_step is not None else [])
        size = self.head[0].size
        self.items = [h for h in history if self.flat(h).size == size
                      and np.all(np.isfinite(self.flat(h)))]
        self._valid = {id(h) for h in self.items}
        self.basis = history_basis(self.head + [self.flat(h) for h in self.items])
        self._coords: dict[int, NDArray[Any]] = {}
        self._units: dict[int, NDArray[Any] | None] = {}
        self._spans: dict[tuple[int, ...], NDArray[Any]] = {}  # public vectors -> their span
        self._rows: dict[tuple[int, ...], NDArray[Any]] = {}  # public vectors -> unit rows
        self._unit_ids: list[int] = []
        self._unit_matrix: NDArray[Any] | None = None

    @classmethod
    def of(cls, base: Sequence[NDArray[Any]], previous_step: Sequence[NDArray[Any]] | None,
           history: Sequence[Sequence[NDArray[Any]]]) -> _History:
        """The history of these very objects, built once: validators judging a round with the
        same base model, step and history (the simulator's panel) share its bases and
        projections. Keyed by the objects' identity and the base's bytes, and the objects are
        held, so that an identity is not reused while the entry lives."""
        refs = (base, previous_step, *history)
        key = (tuple(id(v) for v in refs),
               blake2_256(b"".join(np.asarray(w).tobytes() for w in base)))
        if _LAST_HISTORY and _LAST_HISTORY[0][0] == key:
            return _LAST_HISTORY[0][2]
        past = cls(base, previous_step, history)
        _LAST_HISTORY[:] = [(key, refs, past)]
        return past

    def flat(self, vector: Sequence[NDArray[Any]]) -> NDArray[Any]:
        key = id(vector)
        if key not in self._flat:
            self._flat[key] = _flat(vector)
        return self._flat[key]

    def coords(self, vector: NDArray[Any]) -> NDArray[Any]:
        result: NDArray[Any] = self.basis.T @ vector
        return result

    def copied(self, flat: NDArray[Any], norm: float,
               public: Sequence[Sequence[NDArray[Any]]], threshold: float) -> float | None:
        """The largest cosine of ``flat`` with a public delta, when it reaches ``threshold``."""
        if self._unit_matrix is None:
            units = [(id(v), u) for v in self.items if (u := self._unit(v)) is not None]
            self._unit_ids = [k for k, _ in units]
            self._unit_matrix = (np.stack([u for _, u in units]) if units
                                 else np.zeros((0, flat.size)))
        used = tuple(id(v) for v in public if id(v) in self._valid)
        rows = self._rows.get(used)
        if rows is None:
            wanted = set(used)
            rows = self._rows[used] = np.array(
                [r for r, k in enumerate(self._unit_ids) if k in wanted], dtype=np.int64)
        if not rows.size or norm == 0.0:
            return None
        best = float(np.max((self._unit_matrix @ flat)[rows])) / norm
        return best if best >= threshold else None

    def _unit(self, vector: Sequence[NDArray[Any]]) -> NDArray[Any] | None:
        key = id(vector)
        if key not in self._units:
            v = self.flat(vector)
            n = float(np.linalg.norm(v))
            self._units[key] = v / n if n > 0.0 else None
        return self._units[key]

    def beyond(self, flat: NDArray[Any], public: Sequence[Sequence[NDArray[Any]]]) -> float:
        """The norm of ``flat`` beyond the span of ``public`` and the head (a subspace of the
        history's span, so the projection is computed in the basis' coordinates, with a QR
        whose negligible pivots are dropped)."""
        if self.basis.size == 0:
            return float(np.linalg.norm(flat))
        used = tuple(id(v) for v in public if id(v) in self._valid)
        sub = self._spans.get(used)
        if sub is None:  # most updates of a round see the same public vectors: one QR
            cols = [self.coords(v) for v in self.head]
            for vector in public:
                key = id(vector)
                if key not in self._valid:
                    continue
                if key not in self._coords:
                    self._coords[key] = self.coords(self.flat(vector))
                cols.append(self._coords[key])
            q, r = np.linalg.qr(np.stack(cols, axis=1))
            pivots = np.abs(np.diag(r))
            sub = self._spans[used] = q[:, pivots > 1e-9 * max(float(pivots.max()), 1e-300)]
        total = float(flat @ flat)
        inside = self.coords(flat)
        explained = float(np.sum(np.square(sub.T @ inside))) if sub.size else 0.0
        return math.sqrt(max(0.0, total - explained))


def _freshness(
    model_spec: ModelSpec,
    base_loss: float,
    survivors: Mapping[int, NDArray[Any]],
    x: NDArray[Any],
    y: NDArray[Any],
    past: _History,
    base: Sequence[NDArray[Any]],
    not_own: Mapping[int, Sequence[Sequence[NDArray[Any]]]] | None = None,
) -> dict[int, Freshness]:
    """The :class:`Freshness` of each survivor (flat delta). Value and z are measured beyond
    all of history; the share the noise test looks at, beyond what is not the contributor's
    own (an honest contributor with a skewed shard repeats its own direction round after
    round: that is not a copy)."""
    if not survivors:
        return {}
    basis = past.basis
    descent = fresh_part(-_flat(loss_gradient(model_spec, base, x, y)), basis)
    dims = max(1, descent.size - (basis.shape[1] if basis.size else 0))
    d_norm = float(np.linalg.norm(descent))
    out: dict[int, Freshness] = {}
    for i, flat in survivors.items():
        r = fresh_part(flat, basis)
        r_norm = float(np.linalg.norm(r))
        total = float(np.linalg.norm(flat))
        along = float(r @ descent)
        z = along / (r_norm * d_norm) * math.sqrt(dims) if r_norm > 0 and d_norm > 0 else 0.0
        value = along / base_loss * MAX_SCORE if base_loss > 0 else -math.inf
        others = not_own.get(i) if not_own is not None else None
        beyond = r_norm if others is None else past.beyond(flat, others)
        out[i] = Freshness(value, z, beyond / total if total > 0 else 0.0)
    return out
