"""Evaluation of a model (or a model with an update applied) on held-out data.

Runs the Keras model built from the model spec (no TFF, no helper process) and computes the
mean sparse categorical cross-entropy (probabilities clipped to [1e-7, 1 − 1e-7], as Keras
does) and the accuracy in numpy.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from decentralml_client.ml.data import check_dataset
from decentralml_client.ml.errors import MLError
from decentralml_client.ml.model_spec import ModelSpec, build_model

_MODELS: dict[str, Any] = {}
_LOCK = threading.Lock()
_BATCH = 4096


def apply_delta(weights: Sequence[NDArray[Any]],
                delta: Sequence[NDArray[Any]]) -> list[NDArray[Any]]:
    """``weights + delta`` tensor by tensor (float64 sum, float32 result)."""
    if len(weights) != len(delta):
        raise MLError(f"{len(delta)} delta tensors for {len(weights)} weight tensors")
    out = []
    for i, (w, d) in enumerate(zip(weights, delta, strict=False)):
        if np.shape(w) != np.shape(d):
            raise MLError(
                f"tensor {i}: delta shape {np.shape(d)} differs from weight shape {np.shape(w)}"
            )
        out.append((np.asarray(w, np.float64) + np.asarray(d, np.float64)).astype(np.float32))
    return out


def _model(model_spec: ModelSpec) -> Any:
    key = model_spec.hash()
    with _LOCK:
        m = _MODELS.get(key)
        if m is None:
            if len(_MODELS) >= 8:
                _MODELS.pop(next(iter(_MODELS)))
            m = _MODELS[key] = build_model(model_spec)
        return m


def predict_proba(
    model_spec: ModelSpec, weights: Sequence[NDArray[Any]], x: NDArray[Any]
) -> NDArray[Any]:
    """Class probabilities of the model with ``weights`` on features ``x``."""
    try:
        return _predict(_model(model_spec), weights, x)
    except ValueError as e:
        # Keras invalidates eager models when another model is built inside a v1 graph (as
        # TFF does when it builds its computations): rebuild once and retry.
        if "invalid state" not in str(e):
            raise
        with _LOCK:
            _MODELS.pop(model_spec.hash(), None)
        return _predict(_model(model_spec), weights, x)


def _assign(model: Any, weights: Sequence[NDArray[Any]]) -> None:
    """Load ``weights`` into ``model``'s variables (under :data:`_LOCK`)."""
    for v, w in zip(model.trainable_weights, weights, strict=False):
        if tuple(v.shape) != np.shape(w):
            raise MLError(
                f"weight shape {np.shape(w)} does not fit variable {v.name} {tuple(v.shape)}"
            )
        v.assign(np.asarray(w, np.float32))


def _predict(model: Any, weights: Sequence[NDArray[Any]], x: NDArray[Any]) -> NDArray[Any]:
    with _LOCK:
        _assign(model, weights)
        parts = [
            np.asarray(model(x[i : i + _BATCH], training=False)) for i in range(0, len(x), _BATCH)
        ]
    probabilities: NDArray[Any] = np.concatenate(parts).astype(np.float64)
    return probabilities


def evaluate(
    model_spec: ModelSpec, weights: Sequence[NDArray[Any]], x: Any, y: Any
) -> dict[str, float]:
    """``{"loss", "accuracy", "num_examples"}`` of the model with ``weights`` on ``(x, y)``."""
    xa, ya = check_dataset(x, y, model_spec)
    if len(weights) != len(model_spec.weights):
        raise MLError(
            f"{len(weights)} weight tensors given; the model spec has {len(model_spec.weights)}"
        )
    p = predict_proba(model_spec, weights, xa)
    if not np.isfinite(p).all():
        return {"loss": float("inf"), "accuracy": 0.0, "num_examples": len(ya)}
    eps = 1e-7
    picked = np.clip(p[np.arange(len(ya)), ya], eps, 1 - eps)
    return {
        "loss": float(-np.mean(np.log(picked))),
        "accuracy": float(np.mean(np.argmax(p, axis=1) == ya)),
        "num_examples": len(ya),
    }


def centralised_baseline(model_spec: Any, x_tr: Any, y_tr: Any, x_te: Any, y_te: Any, *,
                         epochs: int, seed: int) -> float:
    """Accuracy of the same model trained on all the data in one place, same epoch budget."""
    from decentralml_client.ml._tf import tf
    from decentralml_client.ml.model_spec import make_initial_weights

    tf.keras.utils.set_random_seed(seed)
    model = build_model(model_spec)
    model.set_weights(make_initial_weights(model_spec, seed))
    opt = (tf.keras.optimizers.SGD(model_spec.learning_rate) if model_spec.optimizer == "sgd"
           else tf.keras.optimizers.Adam(model_spec.learning_rate))
    model.compile(optimizer=opt, loss=tf.keras.losses.SparseCategoricalCrossentropy())
    model.fit(x_tr, y_tr, epochs=epochs * model_spec.local_epochs, batch_size=model_spec.batch_size,
              shuffle=True, verbose=0)
    return float(evaluate(model_spec, model.get_weights(), x_te, y_te)["accuracy"])


def loss_gradient(
    model_spec: ModelSpec, weights: Sequence[NDArray[Any]], x: Any, y: Any
) -> list[NDArray[Any]]:
    """The gradient of the mean cross-entropy of :func:`evaluate` at ``weights`` on ``(x, y)``,
    one float64 array per weight tensor (eager TensorFlow; nothing is trained)."""
    from decentralml_client.ml._tf import tf

    xa, ya = check_dataset(x, y, model_spec)
    model = _model(model_spec)
    with _LOCK:
        _assign(model, weights)
        with tf.GradientTape() as tape:
            p = model(xa, training=False)
            picked = tf.clip_by_value(tf.gather(p, ya, axis=1, batch_dims=1), 1e-7, 1 - 1e-7)
            loss = -tf.reduce_mean(tf.math.log(picked))
        grads = tape.gradient(loss, model.trainable_weights)
    return [np.asarray(g, np.float64) for g in grads]
