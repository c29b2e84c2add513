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
  its own work (the only work it can copy: commit–reveal hides this round's updates), claiming
  ``max_examples``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from decentralml_client.ml.errors import MLError

ATTACKS = ("sign-flip", "scale", "noise", "nan", "label-flip", "free-rider", "copy")
DEFAULT_ATTACK_SCALE = {"sign-flip": 4.0, "scale": 10.0, "noise": 1.0, "nan": 0.0,
                        "label-flip": 0.0, "free-rider": 0.0, "copy": 0.0}
IDLE = ("free-rider", "copy")


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
