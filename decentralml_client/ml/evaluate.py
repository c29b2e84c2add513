"""Evaluation of a model (or a model with an update applied) on held-out data.

Runs the Keras model built from the model spec (no TFF, no helper process) and computes the
mean sparse categorical cross-entropy (probabilities clipped to [1e-7, 1 − 1e-7], as Keras
does) and the accuracy in numpy.

Inside :func:`numpy_forward` (what the simulator's sampled rounds use, to judge thousands of
updates per round), a plain stack of biased ``Dense`` layers (relu, softmax or linear, like
the examples' MLPs) runs in numpy float32 instead: the same function, without Keras' per-call
overhead; its outputs differ from Keras' only by float32 rounding.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np
from numpy.typing import NDArray

from decentralml_client.ml.data import check_dataset
from decentralml_client.ml.errors import MLError
from decentralml_client.ml.model_spec import ModelSpec, build_model

_MODELS: dict[str, Any] = {}
_LOCK = threading.Lock()
_BATCH = 4096
_NUMPY_FORWARD: ContextVar[bool] = ContextVar("numpy_forward", default=False)
_DENSE: dict[int, tuple[ModelSpec, list[str] | None]] = {}  # id(spec) -> (spec, activations)
_ACTIVATIONS = ("relu", "softmax", "linear")


@contextmanager
def numpy_forward() -> Iterator[None]:
    """Within this block, :func:`predict_proba` runs plain Dense stacks in numpy."""
    token = _NUMPY_FORWARD.set(True)
    try:
        yield
    finally:
        _NUMPY_FORWARD.reset(token)


def dense_activations(model_spec: ModelSpec) -> list[str] | None:
    """The activations of a model that is a Sequential stack of biased Dense layers on a
    flat input (kernel and bias per layer, in order); None for any other model."""
    cfg = model_spec.model_config
    if cfg.get("class_name") != "Sequential" or len(model_spec.input_shape) != 1:
        return None
    acts: list[str] = []
    for layer in cfg.get("config", {}).get("layers", []):
        name, conf = layer.get("class_name"), layer.get("config", {})
        if name == "InputLayer":
            continue
        if name != "Dense" or not conf.get("use_bias") or conf.get("activation") not in \
                _ACTIVATIONS:
            return None
        acts.append(str(conf["activation"]))
    shapes = [w.shape for w in model_spec.weights]
    if not acts or "softmax" in acts[:-1] or len(shapes) != 2 * len(acts):
        return None
    if any(len(shapes[2 * k]) != 2 for k in range(len(acts))):
        return None
    return acts


def _dense(model_spec: ModelSpec) -> list[str] | None:
    hit = _DENSE.get(id(model_spec))
    if hit is None or hit[0] is not model_spec:
        if len(_DENSE) >= 8:
            _DENSE.pop(next(iter(_DENSE)))
        hit = _DENSE[id(model_spec)] = (model_spec, dense_activations(model_spec))
    return hit[1]


def _numpy_predict(acts: Sequence[str], weights: Sequence[NDArray[Any]],
                   x: NDArray[Any]) -> NDArray[Any]:
    h = np.asarray(x, np.float32)
    with np.errstate(all="ignore"):
        for k, act in enumerate(acts):
            h = h @ np.asarray(weights[2 * k], np.float32) + np.asarray(weights[2 * k + 1],
                                                                       np.float32)
            if act == "relu":
                h = np.maximum(h, np.float32(0.0))
            elif act == "softmax":
                e = np.exp(h - h.max(axis=1, keepdims=True))
                h = e / e.sum(axis=1, keepdims=True)
    out: NDArray[Any] = h.astype(np.float64)
    return out


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
    if _NUMPY_FORWARD.get() and (acts := _dense(model_spec)) is not None:
        if len(weights) != len(model_spec.weights) or any(
                np.shape(w) != s.shape for w, s in zip(weights, model_spec.weights, strict=True)):
            raise MLError("the weights do not fit the model spec")
        return _numpy_predict(acts, weights, np.asarray(x, np.float32))
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
    one float64 array per weight tensor (eager TensorFlow; nothing is trained; in numpy
    within :func:`numpy_forward` for a plain Dense stack)."""
    from decentralml_client.ml._tf import tf

    xa, ya = check_dataset(x, y, model_spec)
    if _NUMPY_FORWARD.get() and (acts := _dense(model_spec)) is not None:
        return _numpy_gradient(acts, weights, np.asarray(xa, np.float32), np.asarray(ya))
    model = _model(model_spec)
    with _LOCK:
        _assign(model, weights)
        with tf.GradientTape() as tape:
            p = model(xa, training=False)
            picked = tf.clip_by_value(tf.gather(p, ya, axis=1, batch_dims=1), 1e-7, 1 - 1e-7)
            loss = -tf.reduce_mean(tf.math.log(picked))
        grads = tape.gradient(loss, model.trainable_weights)
    return [np.asarray(g, np.float64) for g in grads]


def _numpy_gradient(acts: Sequence[str], weights: Sequence[NDArray[Any]], x: NDArray[Any],
                    y: NDArray[Any]) -> list[NDArray[Any]]:
    """:func:`loss_gradient` of a Dense stack by hand-written backpropagation (float64)."""
    ws = [np.asarray(w, np.float64) for w in weights]
    inputs, pre = [], []
    h = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        for k, act in enumerate(acts):
            inputs.append(h)
            z = h @ ws[2 * k] + ws[2 * k + 1]
            pre.append(z)
            if act == "relu":
                h = np.maximum(z, 0.0)
            elif act == "softmax":
                e = np.exp(z - z.max(axis=1, keepdims=True))
                h = e / e.sum(axis=1, keepdims=True)
            else:
                h = z
        n, rows = len(y), np.arange(len(y))
        picked = h[rows, y]
        live = (picked > 1e-7) & (picked < 1 - 1e-7)  # the clip passes no gradient beyond
        g = np.zeros_like(h)
        g[rows, y] = np.where(live, -1.0 / (n * np.where(live, picked, 1.0)), 0.0)
        grads: list[NDArray[Any]] = [np.zeros(0)] * len(ws)
        for k in reversed(range(len(acts))):
            if acts[k] == "relu":
                g = g * (pre[k] > 0)
            elif acts[k] == "softmax":
                g = h * (g - np.sum(g * h, axis=1, keepdims=True))  # the last layer's

            grads[2 * k] = inputs[k].T @ g
            grads[2 * k + 1] = g.sum(axis=0)
            g = g @ ws[2 * k].T
    return grads
