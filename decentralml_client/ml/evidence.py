"""Evidence of evaluation: the probe every validator measures on every update of a round.

A sealed vote hides a validator's verdicts from the others, but not from the past: once a
round ends, its consensus is public, and a validator that downloads nothing could replay it.
So each verdict carries a **probe**: a number only a validator that fetched this round's update
and ran the updated model can produce, and on which every honest validator agrees.

* The **probe seed** is ``blake2_256("dml-probe" ‖ task ‖ round ‖ attempt ‖ the round's
  revealed update hashes in submission order)``: fixed by the chain only when the reveal phase
  has closed (the hashes are sealed in commitments until then), the same for every validator.
* The **probe batch** is ``PROBE_BATCH`` inputs of the model's input shape, generated from the
  seed by blake2b in counter mode (not by a library random generator, whose streams may change
  between versions), uniform over the task's feature range.
* The **probe** of update Δ is ``10⁹ × mean over the batch of Σ_c |f(M_r + Δ)(x)_c −
  f(M_r)(x)_c|``: how far the update moves the model's outputs on inputs nobody could know in
  advance. It depends on every coordinate of Δ that reaches the outputs, so it cannot be had
  without the update's bytes; it is not the public consensus of any earlier round.

Honest validators compute it with the same float32 forward pass and agree to about 10⁻⁷; the
pallet counts a verdict as evidenced when its probe is within ``ProbeTolerance`` (0.1 %) or
``ProbeFloor`` (10⁻⁶) of the bond-weighted median probe (see
:mod:`decentralml_client.protocol.consensus`). An update that cannot be fetched, verified or
decoded, or whose outputs are not finite, has probe 0: every honest validator sees the same.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from decentralml_client.ml.evaluate import apply_delta, predict_proba
from decentralml_client.ml.model_spec import ModelSpec

PROBE_BATCH = 64
PROBE_SCALE = 1_000_000_000  # probe units per unit of mean L1 output distance
PROBE_MAX = 2**32 - 1  # the on-chain field is a u32


def probe_seed(task_id: int, round_: int, attempt: int, update_hashes: Sequence[bytes]) -> bytes:
    """The round attempt's probe seed from its revealed update hashes (submission order)."""
    h = hashlib.blake2b(digest_size=32)
    h.update(b"dml-probe" + struct.pack("<III", task_id, round_, attempt))
    for u in update_hashes:
        h.update(u)
    return h.digest()


def probe_batch(model_spec: ModelSpec, seed: bytes, size: int = PROBE_BATCH) -> NDArray[Any]:
    """``size`` inputs of the model's input shape, uniform over the task's feature range,
    derived from ``seed`` alone (the same bytes on every machine)."""
    per = int(np.prod(model_spec.input_shape))
    words = size * per
    stream = bytearray()
    counter = 0
    while len(stream) < 4 * words:
        stream += hashlib.blake2b(seed + struct.pack("<Q", counter), digest_size=64).digest()
        counter += 1
    u = np.frombuffer(bytes(stream[: 4 * words]), dtype="<u4").astype(np.float64) / 2.0**32
    lo, hi = _feature_range(model_spec)
    x = lo + (hi - lo) * u
    if model_spec.input_dtype.startswith("int"):
        x = np.floor(x)
    return x.reshape((size, *model_spec.input_shape)).astype(model_spec.input_dtype)


def _feature_range(model_spec: ModelSpec) -> tuple[float, float]:
    rng = (model_spec.data or {}).get("feature_range")
    if isinstance(rng, (list, tuple)) and len(rng) == 2:
        try:
            lo, hi = float(rng[0]), float(rng[1])
            if np.isfinite(lo) and np.isfinite(hi) and hi > lo:
                return lo, hi
        except (TypeError, ValueError):
            pass
    return -1.0, 1.0


class Prober:
    """Probes of one round's updates: the base model's outputs on the batch are computed once."""

    def __init__(self, model_spec: ModelSpec, base: Sequence[NDArray[Any]], seed: bytes) -> None:
        self.model_spec = model_spec
        self.base = list(base)
        self.batch = probe_batch(model_spec, seed)
        self._base_out = predict_proba(model_spec, self.base, self.batch)

    def probe(self, delta: Sequence[NDArray[Any]] | BaseException) -> int:
        """The probe of ``delta`` (0 for an update that could not be read or whose outputs are
        not finite)."""
        if isinstance(delta, BaseException):
            return 0
        try:
            out = predict_proba(self.model_spec, apply_delta(self.base, delta), self.batch)
        except Exception:  # wrong shapes: the same for every validator
            return 0
        if not np.isfinite(out).all():
            return 0
        distance = float(np.mean(np.sum(np.abs(out - self._base_out), axis=1)))
        return int(min(PROBE_MAX, round(distance * PROBE_SCALE)))
