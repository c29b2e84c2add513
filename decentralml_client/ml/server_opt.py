"""Server optimisers (Reddi et al., *Adaptive Federated Optimization*): how a round's aggregate
delta moves the global model. Pure, deterministic functions, float64 arithmetic in a fixed
operation order, float32 storage.

An aggregation rule (:mod:`~decentralml_client.ml.aggregate`) combines the accepted updates
into one float64 delta ``Δ``; the server optimiser treats ``g = −Δ`` as a pseudo-gradient and
takes one step. The update formulas are those of TensorFlow Federated's optimisers
(``tff.learning.optimizers.build_sgdm`` / ``build_adam`` / ``build_yogi``), so a task and TFF's
``build_weighted_fed_avg(server_optimizer_fn=...)`` reach the same model:

* ``none``: ``w ← w + Δ`` (plain FedAvg; bit-identical to the rules without an optimiser).
* ``momentum`` (FedAvgM): ``m ← μ·m + g``; ``w ← w − lr·m``.
* ``adam`` (FedAdam): ``t ← t+1``; ``m ← m + (g − m)(1 − β₁)``; ``v ← v + (g² − v)(1 − β₂)``;
  ``w ← w − η_t·m / (√v + τ)`` with ``η_t = lr·√(1 − β₂ᵗ) / (1 − β₁ᵗ)``; ``m₀ = v₀ = 0``.
* ``yogi`` (FedYogi): as Adam but ``v ← v + (1 − β₂)·sign(g² − v)·g²`` and ``v₀ = τ²``.

Determinism: every step is an IEEE-754 float64 ``+ − × ÷ √`` (correctly rounded on every
machine); ``βᵗ`` is a product of ``t`` factors taken in order, never ``pow``. The state
(``m``, ``v``: float32 tensors; ``t``: integer) is cast to float32 after each step and travels
in the next global weights file (:func:`~decentralml_client.ml.codec.encode_weights`), so
anyone recomputes round ``r+2`` from the files of round ``r+1`` alone.

On chain the hyper-parameters are integers (the chain holds no floats): ``lr`` in millionths,
``momentum``/``beta1``/``beta2`` in Permill, ``tau`` in Perbill; :meth:`ServerOptimizer.
from_chain` divides once, in float64.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from decentralml_client.ml.errors import AggregationError
from decentralml_client.units import PERMILL

KINDS = ("none", "momentum", "adam", "yogi")
_CHAIN_NAMES = {"None": "none", "Momentum": "momentum", "Adam": "adam", "Yogi": "yogi"}
LR_UNIT = 1_000_000  # chain: lr in millionths
PERBILL = 1_000_000_000
MAX_LR = 100.0

Tensors = Sequence[NDArray[Any]]


@dataclass(frozen=True)
class ServerOptimizer:
    """A server optimiser and its hyper-parameters (as floats; see :meth:`from_chain`)."""

    kind: str = "none"
    lr: float = 1.0
    momentum: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.99
    tau: float = 1e-3

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise AggregationError(f"unknown server optimiser {self.kind!r}; known: {KINDS}")
        if self.kind == "none":
            return
        if not (0.0 < self.lr <= MAX_LR):
            raise AggregationError(f"server lr must be in (0, {MAX_LR}], got {self.lr}")
        if self.kind == "momentum" and not 0.0 <= self.momentum < 1.0:
            raise AggregationError(f"server momentum must be in [0, 1), got {self.momentum}")
        if self.kind in ("adam", "yogi"):
            if not (0.0 <= self.beta1 < 1.0 and 0.0 <= self.beta2 < 1.0):
                raise AggregationError(
                    f"beta1 and beta2 must be in [0, 1), got {self.beta1}, {self.beta2}"
                )
            if not 0.0 < self.tau <= 1.0:
                raise AggregationError(f"tau must be in (0, 1], got {self.tau}")

    @property
    def slots(self) -> tuple[str, ...]:
        """Names of the per-variable state tensors this optimiser keeps."""
        return {"none": (), "momentum": ("m",), "adam": ("m", "v"), "yogi": ("m", "v")}[self.kind]

    # -- chain form --------------------------------------------------------------------
    def to_chain(self) -> str | dict[str, Any]:
        """The chain's ``ServerOptimizer`` value (integers: lr in millionths, Permill, Perbill)."""
        if self.kind == "none":
            return "None"
        lr = round(self.lr * LR_UNIT)
        if self.kind == "momentum":
            return {"Momentum": {"lr": lr, "momentum": round(self.momentum * PERMILL)}}
        body = {
            "lr": lr,
            "beta1": round(self.beta1 * PERMILL),
            "beta2": round(self.beta2 * PERMILL),
            "tau": round(self.tau * PERBILL),
        }
        return {"Adam" if self.kind == "adam" else "Yogi": body}

    @classmethod
    def from_chain(cls, value: Any) -> ServerOptimizer:
        """Read the chain's value (``"None"``, ``{"Adam": {...}}``; ``None`` = no optimiser)."""
        if value is None:
            return cls()
        params: dict[str, Any]
        if isinstance(value, str):
            name, params = value, {}
        elif isinstance(value, Mapping) and len(value) == 1:
            ((name, params),) = value.items()
            params = dict(params or {})
        else:
            raise AggregationError(f"cannot read server optimiser {value!r}")
        kind = _CHAIN_NAMES.get(str(name))
        if kind is None:
            raise AggregationError(
                f"unknown server optimiser {name!r}; known: {list(_CHAIN_NAMES)}"
            )
        want = {"none": set(), "momentum": {"lr", "momentum"},
                "adam": {"lr", "beta1", "beta2", "tau"}, "yogi": {"lr", "beta1", "beta2", "tau"}}
        if set(params) != want[kind] or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in params.values()
        ):
            raise AggregationError(
                f"server optimiser {name} needs integer {sorted(want[kind])}, got {params}"
            )
        if kind == "none":
            return cls()
        if kind == "momentum":
            return cls(kind, lr=params["lr"] / LR_UNIT, momentum=params["momentum"] / PERMILL)
        return cls(
            kind,
            lr=params["lr"] / LR_UNIT,
            beta1=params["beta1"] / PERMILL,
            beta2=params["beta2"] / PERMILL,
            tau=params["tau"] / PERBILL,
        )

    def describe(self) -> str:
        """A short human-readable name with the hyper-parameters."""
        if self.kind == "none":
            return "none"
        if self.kind == "momentum":
            return f"momentum(lr={self.lr:g}, momentum={self.momentum:g})"
        return (f"{self.kind}(lr={self.lr:g}, beta1={self.beta1:g}, beta2={self.beta2:g}, "
                f"tau={self.tau:g})")


@dataclass
class ServerState:
    """The optimiser's state after ``step`` steps: per slot, one float32 tensor per variable."""

    step: int = 0
    slots: dict[str, list[NDArray[Any]]] = field(default_factory=dict)


def init_state(opt: ServerOptimizer, base: Tensors) -> ServerState:
    """The state before the first step: zeros, except Yogi's ``v₀ = τ²``."""
    slots: dict[str, list[NDArray[Any]]] = {}
    for s in opt.slots:
        fill = np.float32(opt.tau * opt.tau) if (opt.kind == "yogi" and s == "v") else 0.0
        slots[s] = [np.full(np.shape(b), fill, np.float32) for b in base]
    return ServerState(step=0, slots=slots)


def check_state(opt: ServerOptimizer, base: Tensors, state: ServerState | None) -> ServerState:
    """``state`` checked against the optimiser and the model (``None``: the initial state)."""
    if state is None:
        return init_state(opt, base)
    if tuple(sorted(state.slots)) != tuple(sorted(opt.slots)):
        raise AggregationError(
            f"the global model carries server state {sorted(state.slots)}; "
            f"the task's optimiser {opt.kind} needs {sorted(opt.slots)}"
        )
    if isinstance(state.step, bool) or not isinstance(state.step, int) or state.step < 0:
        raise AggregationError(f"server state step must be an integer >= 0, got {state.step!r}")
    for s, ts in state.slots.items():
        if len(ts) != len(base) or any(
            tuple(np.shape(t)) != tuple(np.shape(b)) for t, b in zip(ts, base, strict=False)
        ):
            raise AggregationError(f"server state {s!r} does not match the model's shapes")
    return state


def _power(beta: float, t: int) -> float:
    p = 1.0
    for _ in range(t):
        p *= beta
    return p


def apply(
    opt: ServerOptimizer,
    base: Tensors,
    delta: Sequence[NDArray[Any]],
    state: ServerState | None = None,
) -> tuple[list[NDArray[Any]], ServerState]:
    """One server step: ``(M_{r+1} as float32, new state)`` from ``M_r``, the rule's float64
    delta and the state carried by ``M_r`` (``None`` before the first step)."""
    if len(delta) != len(base):
        raise AggregationError(f"{len(delta)} delta tensors for a model of {len(base)}")
    st = check_state(opt, base, state)
    b64 = [np.asarray(b, np.float64) for b in base]
    d64 = [np.asarray(d, np.float64) for d in delta]
    if opt.kind == "none":
        return [(b + d).astype(np.float32) for b, d in zip(b64, d64, strict=False)], ServerState()
    out: list[NDArray[Any]] = []
    new: dict[str, list[NDArray[Any]]] = {s: [] for s in opt.slots}
    step = st.step + 1
    if opt.kind == "momentum":
        for j, (b, d) in enumerate(zip(b64, d64, strict=False)):
            m = opt.momentum * np.asarray(st.slots["m"][j], np.float64) - d  # μ·m + g, g = −Δ
            out.append((b - opt.lr * m).astype(np.float32))
            new["m"].append(m.astype(np.float32))
        return out, ServerState(step=step, slots=new)
    # Adam / Yogi (TFF's formulas, bias-corrected learning rate)
    eta = opt.lr * math.sqrt(1.0 - _power(opt.beta2, step)) / (1.0 - _power(opt.beta1, step))
    one_b1, one_b2 = 1.0 - opt.beta1, 1.0 - opt.beta2
    for j, (b, d) in enumerate(zip(b64, d64, strict=False)):
        g = -d
        m = np.asarray(st.slots["m"][j], np.float64)
        v = np.asarray(st.slots["v"][j], np.float64)
        m = m + (g - m) * one_b1
        g2 = g * g
        if opt.kind == "adam":
            v = v + (g2 - v) * one_b2
        else:
            v = v + one_b2 * np.sign(g2 - v) * g2
        out.append((b - eta * m / (np.sqrt(v) + opt.tau)).astype(np.float32))
        new["m"].append(m.astype(np.float32))
        new["v"].append(v.astype(np.float32))
    return out, ServerState(step=step, slots=new)


SERVER_OPTIMIZERS = ("none", "momentum", "adam", "yogi")
#: Defaults per server optimiser (tuned on digits, see docs/ml.md, Server optimisers).
SERVER_DEFAULTS: dict[str, dict[str, float]] = {
    "none": {},
    "momentum": {"lr": 1.0, "momentum": 0.9},
    "adam": {"lr": 0.1, "beta1": 0.9, "beta2": 0.99, "tau": 1e-3},
    "yogi": {"lr": 0.1, "beta1": 0.9, "beta2": 0.99, "tau": 1e-3},
}


def server_optimizer(
    name: str,
    *,
    lr: float | None = None,
    momentum: float | None = None,
    beta1: float | None = None,
    beta2: float | None = None,
    tau: float | None = None,
) -> Any:
    """The :class:`~decentralml_client.ml.server_opt.ServerOptimizer` for a user's name
    (``none``, ``momentum``/``fedavgm``, ``adam``/``fedadam``, ``yogi``/``fedyogi``); unset
    hyper-parameters take :data:`SERVER_DEFAULTS`. Raises ``ValueError`` on a bad name or value.
    Its ``to_chain()`` is the chain's ``ServerOptimizer`` value."""
    key = name.strip().lower().replace("_", "-")
    key = {"fedavgm": "momentum", "fedadam": "adam", "fedyogi": "yogi", "sgd": "none"}.get(key, key)
    if key not in SERVER_OPTIMIZERS:
        raise ValueError(
            f"unknown server optimiser {name!r}; choose one of {', '.join(SERVER_OPTIMIZERS)}"
        )
    given = {"lr": lr, "momentum": momentum, "beta1": beta1, "beta2": beta2, "tau": tau}
    params = dict(SERVER_DEFAULTS[key])
    for k, v in given.items():
        if v is not None and k in params:
            params[k] = float(v)
    try:
        return ServerOptimizer(key, **params)
    except AggregationError as exc:
        raise ValueError(str(exc)) from None


def server_optimizer_value(name: str, **hyper: float | None) -> Any:
    """The chain's ``ServerOptimizer`` value for a user's name (see :func:`server_optimizer`)."""
    return server_optimizer(name, **hyper).to_chain()
