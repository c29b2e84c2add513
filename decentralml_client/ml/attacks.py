"""How malicious or idle contributors deviate: one definition shared by ``simulate``, the
contributor role (``--attack``, for demos and tests of the defences) and the benchmarks.

Poisoning attacks start from the contributor's honest delta Δ:

* ``sign-flip``: ``−s·Δ`` (boosted sign flip; default ``s`` 4);
* ``scale``: ``s·Δ`` (default 10);
* ``noise``: ``Δ + N(0, s²)`` per coordinate (default 1.0);
* ``nan``: Δ with NaN entries (refused by decoding);
* ``label-flip``: trains honestly on labels mapped ``y → (C − 1) − y`` (the data is poisoned,
  not the update).

Free-riding:

* ``free-rider``: trains nothing, sends a zero delta and claims ``max_examples`` examples;
* ``copy``: trains nothing and re-sends the previous round's global step ``M_r − M_{r−1}`` as
  its own work (commit–reveal hides this round's updates), claiming ``max_examples``.

Re-using public history (trains nothing; ``s = attack_scale`` is the strength of the
perturbation that makes the bytes differ, relative to the copied vector's norm: noise of norm
``s·‖h‖``):

* ``replay``: another contributor's update revealed in the previous round, perturbed;
* ``replay-old``: another contributor's update revealed two rounds ago (an older update is a
  larger step: it scored higher than current work before fresh value was measured), perturbed;
* ``history-mix``: a linear combination of public history, ``1.5 × mean(previous round's
  revealed updates) + 0.5 × previous global step``, perturbed;
* ``noise-rider``: random noise of norm ``s × ‖previous global step‖`` (default ``s`` 1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from decentralml_client.ml.errors import MLError

HISTORY_ATTACKS = ("replay", "replay-old", "history-mix", "noise-rider")
ATTACKS = ("sign-flip", "scale", "noise", "nan", "label-flip", "free-rider", "copy",
           *HISTORY_ATTACKS)
DEFAULT_ATTACK_SCALE = {"sign-flip": 4.0, "scale": 10.0, "noise": 1.0, "nan": 0.0,
                        "label-flip": 0.0, "free-rider": 0.0, "copy": 0.0, "replay": 0.1,
                        "replay-old": 0.1, "history-mix": 0.1, "noise-rider": 1.0}
IDLE = ("free-rider", "copy", *HISTORY_ATTACKS)


@dataclass
class PublicHistory:
    """What earlier rounds made public: each round's revealed updates (contributor account →
    delta) and its global step, oldest first."""

    updates: list[Mapping[int, Sequence[NDArray[Any]]]] = field(default_factory=list)
    steps: list[Sequence[NDArray[Any]]] = field(default_factory=list)

    def add(self, updates: Mapping[int, Sequence[NDArray[Any]]],
            step: Sequence[NDArray[Any]] | None, keep: int) -> None:
        """Record a finished round (``step`` None: it failed); keep the last ``keep``."""
        self.updates = [*self.updates, dict(updates)][-keep:]
        if step is not None:
            self.steps = [*self.steps, list(step)][-keep:]

    def deltas(self) -> list[Sequence[NDArray[Any]]]:
        """Every public delta held, for :func:`~.acceptance.judge_updates`' ``history``."""
        return [d for rnd in self.updates for _, d in sorted(rnd.items())] + list(self.steps)

    def not_own(self, account: int) -> list[Sequence[NDArray[Any]]]:
        """The public deltas that are not ``account``'s own earlier work: other accounts'
        updates and the global steps (what :func:`~.acceptance.judge_updates` refuses copies
        of, as ``not_own``)."""
        return [d for rnd in self.updates for a, d in sorted(rnd.items()) if a != account] \
            + list(self.steps)


def _other(round_updates: Mapping[int, Sequence[NDArray[Any]]], me: int
           ) -> Sequence[NDArray[Any]] | None:
    """The largest other update of a round (the most valuable one to copy)."""
    others = sorted((a for a in round_updates if a != me),
                    key=lambda a: -sum(float(np.sum(np.square(t))) for t in round_updates[a]))
    return round_updates[others[0]] if others else None


def _perturbed(vector: Sequence[NDArray[Any]], strength: float,
               rng: np.random.Generator) -> list[NDArray[Any]]:
    flat = np.concatenate([np.asarray(v, np.float64).reshape(-1) for v in vector])
    norm = float(np.linalg.norm(flat))
    out = []
    for v in vector:
        noise = rng.normal(0.0, 1.0, np.shape(v)) * strength * norm / np.sqrt(max(1, flat.size))
        out.append((np.asarray(v, np.float64) + noise).astype(np.float32))
    return out


def history_delta(attack: str, scale: float, rng: np.random.Generator, like: Sequence[NDArray[Any]],
                  history: PublicHistory, me: int) -> list[NDArray[Any]]:
    """The update of a contributor re-using public history (see the module docs); a zero
    delta when the history it needs does not exist yet."""
    zero = [np.zeros(np.shape(d), np.float32) for d in like]
    source: Sequence[NDArray[Any]] | None = None
    if attack == "replay" and history.updates:
        source = _other(history.updates[-1], me)
    elif attack == "replay-old" and history.updates:
        source = _other(history.updates[0] if len(history.updates) >= 2 else history.updates[-1],
                        me)
    elif attack == "history-mix" and history.updates and history.updates[-1]:
        last = list(history.updates[-1].values())
        mean = [np.mean([np.asarray(u[t], np.float64) for u in last], axis=0)
                for t in range(len(like))]
        step = history.steps[-1] if history.steps else zero
        source = [1.5 * m + 0.5 * np.asarray(s, np.float64) for m, s in zip(mean, step,
                                                                           strict=True)]
    elif attack == "noise-rider" and history.steps:
        step = history.steps[-1]
        return [(v - np.asarray(s, np.float64)).astype(np.float32)
                for v, s in zip(_perturbed(step, scale, rng), step, strict=True)]
    if source is None:
        return zero
    return _perturbed(source, scale, rng)


def check_attack(attack: str) -> None:
    if attack not in ATTACKS:
        raise MLError(f"unknown attack {attack!r}; choose one of {ATTACKS}")


def trains(attack: str | None) -> bool:
    """Whether a contributor with this attack runs local training at all."""
    return attack not in IDLE


def attack_labels(y: NDArray[Any], attack: str | None, num_classes: int) -> NDArray[Any]:
    """The labels a contributor trains on (flipped for ``label-flip``)."""
    if attack == "label-flip":
        return (num_classes - 1 - np.asarray(y)).astype(np.asarray(y).dtype)
    return y


def attack_delta(
    delta: list[NDArray[Any]], attack: str, scale: float, rng: np.random.Generator,
    previous_step: list[NDArray[Any]] | None = None,
) -> list[NDArray[Any]]:
    """A malicious contributor's update, made from its honest delta (or, for ``copy``, from
    the previous round's global step)."""
    if attack == "sign-flip":
        return [(-scale * d).astype(np.float32) for d in delta]
    if attack == "scale":
        return [(scale * d).astype(np.float32) for d in delta]
    if attack == "noise":
        return [(d + rng.normal(0.0, scale, d.shape)).astype(np.float32) for d in delta]
    if attack == "nan":
        out = [d.copy() for d in delta]
        out[0].reshape(-1)[:: max(1, out[0].size // 7)] = np.nan
        return out
    if attack == "label-flip":
        return delta
    if attack == "free-rider" or (attack == "copy" and previous_step is None):
        return [np.zeros_like(d, dtype=np.float32) for d in delta]
    if attack == "copy":
        assert previous_step is not None
        return [np.asarray(p, np.float32) for p in previous_step]
    raise MLError(f"unknown attack {attack!r}; choose one of {ATTACKS}")


def claimed_examples(attack: str | None, trained: int, cap: int) -> int:
    """The ``num_examples`` a contributor claims: a free-rider claims the cap."""
    return cap if attack in IDLE else trained
