"""Local training with TensorFlow Federated's client work (PROTOCOL §6).

A contributor trains the task's model from the global weights ``M_r`` on its own data with
``tff.learning.templates.build_model_delta_client_work`` — the same client step that
``tff.learning.algorithms.build_weighted_fed_avg`` runs — and gets back the weight delta
``Δ = trained − M_r``, ``num_examples`` and its local metrics.

FedProx (``model_spec.prox_mu > 0``, Li et al., *Federated Optimization in Heterogeneous
Networks*): every local step minimises ``loss(w) + μ/2·‖w − M_r‖²``, so its gradient is
``∇loss + μ·(w − M_r)`` and the local model is pulled *towards* the global one. The same TFF
client work runs, on a Keras model that carries ``M_r`` as non-trainable anchor variables and
adds the proximal term to its losses (:func:`proximal_model_fn`). TFF's own
``build_weighted_fed_prox`` (0.87) is not used: it adds ``μ·(M_r − w)``, the opposite sign
(docs/ml.md, FedProx). ``local_steps`` caps the number of local batches per round (after
``local_epochs`` epochs of data).

The TFF computation is built once per model spec and cached; each call only runs it. The TFF
helper process is stopped at the end of every call unless the caller holds an outer
:func:`~decentralml_client.ml.tff_runtime.tff_session` (the simulator does, for speed).

Differential privacy (optional, :class:`DPConfig`): the delta is clipped to L2 norm ``C`` and
Gaussian noise ``N(0, (σC)²)`` is added to every coordinate before the update leaves the
contributor. See :func:`dp_epsilon` and ``docs/ml.md`` for the accounting.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from decentralml_client.ml.data import check_dataset
from decentralml_client.ml.errors import TrainingError
from decentralml_client.ml.model_spec import ModelSpec, build_model
from decentralml_client.ml.tff_runtime import tf, tff, tff_session, worker_safe_streams


@dataclass(frozen=True)
class DPConfig:
    """Client-side differential privacy: clip the delta to ``clip_norm`` (L2), add
    ``N(0, (noise_multiplier·clip_norm)²)`` noise per coordinate."""

    clip_norm: float
    noise_multiplier: float

    def __post_init__(self) -> None:
        if not (self.clip_norm > 0 and math.isfinite(self.clip_norm)):
            raise TrainingError(f"clip_norm must be a finite number > 0, got {self.clip_norm}")
        if not (self.noise_multiplier >= 0 and math.isfinite(self.noise_multiplier)):
            raise TrainingError(f"noise_multiplier must be >= 0, got {self.noise_multiplier}")


@dataclass
class TrainResult:
    """The outcome of one local training run."""

    delta: list[NDArray[Any]]
    num_examples: int
    metrics: dict[str, float] = field(default_factory=dict)


def keras_model_fn(model_spec: ModelSpec) -> Any:
    """A no-argument function building a fresh ``tff.learning`` model of the model spec."""

    def model_fn() -> Any:
        return _tff_model(build_model(model_spec), model_spec)

    return model_fn


def _tff_model(keras_model: Any, model_spec: ModelSpec) -> Any:
    """The ``tff.learning`` model of a Keras model of the model spec: sparse categorical
    cross-entropy on probabilities, accuracy as the metric."""
    return tff.learning.models.from_keras_model(
        keras_model,
        loss=tf.keras.losses.SparseCategoricalCrossentropy(),
        input_spec=(
            tf.TensorSpec([None, *model_spec.input_shape], tf.float32),
            tf.TensorSpec([None], tf.int32),
        ),
        metrics=[tf.keras.metrics.SparseCategoricalAccuracy()],
    )


def proximal_model_fn(model_spec: ModelSpec) -> Any:
    """A no-argument function building the FedProx ``tff.learning`` model of the model spec:
    the model's trainable variables as they are, plus one non-trainable anchor per trainable
    variable (the anchors are loaded with ``M_r``: pass ``ModelWeights(trainable=M_r,
    non_trainable=M_r)``), and the loss ``μ/2·Σ‖w − anchor‖²`` added to the batch loss."""
    mu = float(model_spec.prox_mu)

    class Proximal(tf.keras.Model):  # type: ignore[misc]
        def __init__(self, base: Any) -> None:
            super().__init__()
            self.base = base
            self.anchors = [
                self.add_weight(name=f"anchor_{i}", shape=v.shape, dtype=v.dtype,
                                initializer="zeros", trainable=False)
                for i, v in enumerate(base.trainable_weights)
            ]
            # A callable loss is evaluated in the graph that reads ``losses`` (TFF's forward
            # pass), like a Keras weight regulariser.
            self.add_loss(self.proximal_term)

        def proximal_term(self) -> Any:
            return tf.multiply(0.5 * mu, tf.add_n([
                tf.reduce_sum(tf.square(w - a))
                for w, a in zip(self.base.trainable_weights, self.anchors, strict=True)
            ]))

        def call(self, inputs: Any, training: Any = None) -> Any:
            return self.base(inputs, training=training)

    def model_fn() -> Any:
        keras_model = Proximal(build_model(model_spec))
        keras_model.build((None, *model_spec.input_shape))
        return _tff_model(keras_model, model_spec)

    return model_fn


def client_optimizer(model_spec: ModelSpec) -> Any:
    """The TFF optimizer named by the model spec."""
    if model_spec.optimizer == "sgd":
        return tff.learning.optimizers.build_sgdm(
            learning_rate=model_spec.learning_rate, momentum=model_spec.momentum or None
        )
    return tff.learning.optimizers.build_adam(learning_rate=model_spec.learning_rate)


def make_client_dataset(model_spec: ModelSpec, x: NDArray[Any], y: NDArray[Any],
                        seed: int) -> Any:
    """The local ``tf.data`` pipeline: for each of ``local_epochs`` a fresh seeded numpy
    permutation, batched by ``batch_size`` (last batch of an epoch may be short); at most
    ``local_steps`` batches when the model spec sets it."""
    rng = np.random.default_rng(seed)
    ds = None
    for _ in range(model_spec.local_epochs):
        p = rng.permutation(len(x))
        e = tf.data.Dataset.from_tensor_slices((x[p], y[p])).batch(model_spec.batch_size)
        ds = e if ds is None else ds.concatenate(e)
    if model_spec.local_steps is not None and ds is not None:
        ds = ds.take(model_spec.local_steps)
    return ds


def build_client_work(model_spec: ModelSpec) -> Any:
    """TFF's model-delta client work for the model spec (the one ``build_weighted_fed_avg``
    runs), on the FedProx model of :func:`proximal_model_fn` when ``prox_mu > 0``."""
    model_fn = proximal_model_fn if model_spec.prox_mu > 0 else keras_model_fn
    return tff.learning.templates.build_model_delta_client_work(
        model_fn(model_spec),
        client_optimizer(model_spec),
        tff.learning.ClientWeighting.NUM_EXAMPLES,
    )


class _Engine:
    """The TFF client work of one model spec, built once."""

    def __init__(self, model_spec: ModelSpec) -> None:
        self.model_spec = model_spec
        self.process = build_client_work(model_spec)
        self._state: Any = None

    def state(self) -> Any:
        if self._state is None:
            self._state = self.process.initialize()
        return self._state


_ENGINES: dict[str, _Engine] = {}
_ENGINES_LOCK = threading.Lock()
_TRAIN_LOCK = threading.Lock()
_MAX_ENGINES = 8


def _engine(model_spec: ModelSpec) -> _Engine:
    # The computation depends on the architecture and hyperparameters only, not on which
    # initial weights or data description the model spec names.
    key = replace(model_spec, initial_weights_cid=None, initial_weights_hash=None, data={}).hash()
    with _ENGINES_LOCK:
        eng = _ENGINES.get(key)
        if eng is None:
            if len(_ENGINES) >= _MAX_ENGINES:
                _ENGINES.pop(next(iter(_ENGINES)))
            eng = _ENGINES[key] = _Engine(model_spec)
        return eng


def _check_weights(model_spec: ModelSpec, weights: Sequence[NDArray[Any]]) -> list[NDArray[Any]]:
    if len(weights) != len(model_spec.weights):
        raise TrainingError(
            f"{len(weights)} weight tensors given; the model spec has {len(model_spec.weights)}"
        )
    out = []
    for w, spec in zip(weights, model_spec.weights, strict=False):
        a = np.asarray(w, np.float32)
        if a.shape != spec.shape:
            raise TrainingError(f"weight {spec.name!r} has shape {a.shape}; expected {spec.shape}")
        if not np.isfinite(a).all():
            raise TrainingError(f"weight {spec.name!r} holds NaN or Inf")
        out.append(a)
    return out


def train_local(
    model_spec: ModelSpec,
    global_weights: Sequence[NDArray[Any]],
    x: Any,
    y: Any,
    *,
    seed: int = 0,
    dp: DPConfig | None = None,
) -> TrainResult:
    """Train from ``global_weights`` on ``(x, y)`` with TFF client work; return the delta."""
    weights = _check_weights(model_spec, global_weights)
    xa, ya = check_dataset(x, y, model_spec)
    eng = _engine(model_spec)
    ds = make_client_dataset(model_spec, xa, ya, seed)
    # FedProx's anchors (non-trainable) start at M_r, as the trainable weights do.
    anchors = tuple(weights) if model_spec.prox_mu > 0 else ()
    mw = tff.learning.models.ModelWeights(trainable=tuple(weights), non_trainable=anchors)
    # One TFF call at a time per process (roles hosted as threads share the TFF worker).
    with _TRAIN_LOCK, tff_session(), worker_safe_streams():
        out = eng.process.next(eng.state(), [mw], [ds])
    client = out.result[0]
    if float(client.update_weight) == 0.0:
        raise TrainingError("local training diverged (non-finite weights); lower the learning rate")
    delta = [(-np.asarray(u, np.float32)).astype(np.float32) for u in client.update]
    m = out.measurements["train"]
    metrics = {
        "loss": float(m["loss"]),
        "accuracy": float(m["sparse_categorical_accuracy"]),
        "num_examples": int(m["num_examples"]),
    }
    if dp is not None:
        delta = privatize(delta, dp, np.random.default_rng([seed, 0xD1FF]))
    return TrainResult(delta=delta, num_examples=len(xa), metrics=metrics)


def privatize(
    delta: Sequence[NDArray[Any]], dp: DPConfig, rng: np.random.Generator
) -> list[NDArray[Any]]:
    """Clip the whole delta to L2 norm ``dp.clip_norm`` and add Gaussian noise."""
    norm = math.sqrt(sum(float(np.sum(np.square(d, dtype=np.float64))) for d in delta))
    factor = min(1.0, dp.clip_norm / norm) if norm > 0 else 1.0
    sigma = dp.noise_multiplier * dp.clip_norm
    return [
        (np.asarray(d, np.float64) * factor + rng.normal(0.0, sigma, size=np.shape(d))).astype(
            np.float32
        )
        for d in delta
    ]


def dp_epsilon(noise_multiplier: float, rounds: int, delta: float = 1e-5) -> float:
    """ε of ``rounds`` releases of the clipped, noised delta, for user-level add/remove
    adjacency (the whole local data set present or absent: sensitivity ``C``; for replacement
    adjacency the sensitivity is ``2C``, so pass ``noise_multiplier / 2``), via Rényi DP: each
    release is ``α/(2σ²)``-RDP at order ``α``; RDP adds up
    over rounds; ``ε = min_α rounds·α/(2σ²) + log(1/δ)/(α−1)``. No subsampling amplification
    is claimed (every contributor takes part in every round it trains in)."""
    if noise_multiplier <= 0:
        return math.inf
    if rounds <= 0:
        return 0.0
    orders = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 1025))
    return min(
        rounds * a / (2 * noise_multiplier**2) + math.log(1 / delta) / (a - 1) for a in orders
    )
