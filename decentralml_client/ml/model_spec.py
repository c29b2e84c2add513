"""Model spec (PROTOCOL §4): what a task trains, as canonical JSON that carries no code.

A model spec holds the Keras *architecture* (``model.get_config()``), the input and label
description, the loss/metrics and the client hyperparameters, the ordered list of trainable
variables (name and shape, which fixes the tensor order of every weights/update file) and the
CID + blake2-256 hash of the initial weights.

Loading a model spec never executes code: the Keras config is checked against an allow-list of
built-in layer, initializer, regularizer and constraint classes and of activation names before
Keras sees it. ``Lambda`` layers, custom objects and unknown classes are refused with
:class:`ManifestError`. TensorFlow is imported only by :func:`build_model` and
:func:`spec_from_keras`; parsing and hashing a model spec need only the standard library.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from decentralml_client.canonical import canonical_json as _canonical_json
from decentralml_client.hashing import blake2_256_hex
from decentralml_client.ml.errors import ModelSpecError
from decentralml_client.ml.keras_allow import (
    ALLOWED_ACTIVATIONS as ALLOWED_ACTIVATIONS,
)
from decentralml_client.ml.keras_allow import (
    ALLOWED_HELPERS as ALLOWED_HELPERS,
)
from decentralml_client.ml.keras_allow import (
    ALLOWED_LAYERS as ALLOWED_LAYERS,
)
from decentralml_client.ml.keras_allow import (
    ALLOWED_MODELS as ALLOWED_MODELS,
)
from decentralml_client.ml.keras_allow import (
    ALLOWED_MODULES as ALLOWED_MODULES,
)
from decentralml_client.ml.keras_allow import (
    check_keras_config as check_keras_config,
)
from decentralml_client.ml.keras_allow import (
    refusal_reason as refusal_reason,
)

MODEL_SPEC_FORMAT = "decentralml-manifest/1"

ALLOWED_LOSSES = frozenset({"sparse_categorical_crossentropy"})
ALLOWED_METRICS = frozenset({"accuracy"})
ALLOWED_OPTIMIZERS = frozenset({"sgd", "adam"})
ALLOWED_DTYPES = frozenset({"float32"})

_FIELDS = (
    "format",
    "framework",
    "model_config",
    "input_shape",
    "input_dtype",
    "num_classes",
    "loss",
    "metrics",
    "optimizer",
    "learning_rate",
    "momentum",
    "local_epochs",
    "local_steps",
    "prox_mu",
    "batch_size",
    "weights",
    "initial_weights_cid",
    "initial_weights_hash",
    "data",
)


@dataclass(frozen=True)
class WeightSpec:
    """One trainable variable: its name in files and its shape."""

    name: str
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return int(math.prod(self.shape))


@dataclass(frozen=True)
class ModelSpec:
    """Everything a contributor, validator or aggregator needs to work on a task's model."""

    model_config: Mapping[str, Any]
    input_shape: tuple[int, ...]
    num_classes: int
    weights: tuple[WeightSpec, ...]
    loss: str = "sparse_categorical_crossentropy"
    metrics: tuple[str, ...] = ("accuracy",)
    optimizer: str = "sgd"
    learning_rate: float = 0.1
    momentum: float = 0.0
    local_epochs: int = 1
    #: FedProx proximal strength μ: the local objective adds ``μ/2·‖w − M_r‖²`` (0: FedAvg).
    prox_mu: float = 0.0
    #: Cap on local optimiser steps (batches) per round (``None``: all ``local_epochs``).
    local_steps: int | None = None
    batch_size: int = 32
    input_dtype: str = "float32"
    initial_weights_cid: str | None = None
    initial_weights_hash: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    framework: str = "keras"
    format: str = MODEL_SPEC_FORMAT

    def __post_init__(self) -> None:
        _validate(self)

    # -- derived views -------------------------------------------------------------------
    @property
    def label_set(self) -> tuple[int, ...]:
        """Labels are the integers ``0 .. num_classes-1``."""
        return tuple(range(self.num_classes))

    @property
    def weight_names(self) -> tuple[str, ...]:
        return tuple(w.name for w in self.weights)

    @property
    def weight_shapes(self) -> tuple[tuple[int, ...], ...]:
        return tuple(w.shape for w in self.weights)

    @property
    def num_params(self) -> int:
        return sum(w.size for w in self.weights)

    # -- canonical encoding --------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["model_config"] = _plain(self.model_config)
        d["data"] = _plain(self.data)
        d["input_shape"] = list(self.input_shape)
        d["metrics"] = list(self.metrics)
        d["weights"] = [{"name": w.name, "shape": list(w.shape)} for w in self.weights]
        # Written only when set, so model specs that do not use them keep their bytes and hash.
        if self.prox_mu == 0:
            del d["prox_mu"]
        if self.local_steps is None:
            del d["local_steps"]
        return d

    def to_bytes(self) -> bytes:
        """Canonical JSON: sorted keys, no whitespace, UTF-8. Equal model specs give equal bytes."""
        return canonical_json(self.to_dict())

    def hash(self) -> str:
        """blake2-256 of :meth:`to_bytes`, ``0x``-prefixed hex (the hash the chain stores)."""
        return blake2_256_hex(self.to_bytes())

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelSpec:
        if not isinstance(d, Mapping):
            raise ModelSpecError("a model spec must be a JSON object")
        unknown = sorted(set(d) - set(_FIELDS))
        missing = sorted(
            k for k in ("model_config", "input_shape", "num_classes", "weights") if k not in d
        )
        if unknown:
            raise ModelSpecError(f"unknown model spec field(s): {unknown}")
        if missing:
            raise ModelSpecError(f"model spec is missing required field(s): {missing}")
        kw = dict(d)
        try:
            kw["input_shape"] = tuple(_int_list(d["input_shape"], "input_shape"))
            kw["weights"] = tuple(
                WeightSpec(str(w["name"]), tuple(_int_list(w["shape"], f"shape of {w['name']}")))
                for w in d["weights"]
            )
            if "metrics" in d:
                kw["metrics"] = tuple(d["metrics"])
        except (TypeError, KeyError) as e:
            raise ModelSpecError(f"malformed model spec field: {e!r}") from None
        return cls(**kw)

    @classmethod
    def from_bytes(cls, data: bytes) -> ModelSpec:
        """Parse a model spec; refuse malformed JSON, unknown fields, disallowed Keras classes."""
        if len(data) > 1 << 20:
            raise ModelSpecError(f"model spec is {len(data)} bytes; the limit is 1 MiB")
        try:
            d = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ModelSpecError(f"model spec is not UTF-8 JSON: {e}") from None
        return cls.from_dict(d)

    def with_initial_weights(self, *, cid: str | None, hash_hex: str) -> ModelSpec:
        """A copy naming the initial weights file (its CID once uploaded, and its hash)."""
        return replace(self, initial_weights_cid=cid, initial_weights_hash=hash_hex)


def canonical_json(obj: Any) -> bytes:
    """The project's canonical JSON: sorted keys, compact separators, UTF-8, no NaN."""
    try:
        return _canonical_json(obj)
    except ValueError as e:
        raise ModelSpecError(f"value cannot be written as canonical JSON: {e}") from None


def _plain(obj: Any) -> Any:
    """Deep copy into plain JSON types (dict/list/str/int/float/bool/None)."""
    return json.loads(json.dumps(obj, allow_nan=False))


def _int_list(v: Any, what: str) -> list[int]:
    if not isinstance(v, (list, tuple)) or not all(
        isinstance(i, (int, np.integer)) and not isinstance(i, bool) and i > 0 for i in v
    ):
        raise ModelSpecError(f"{what} must be a list of positive integers, got {v!r}")
    return [int(i) for i in v]


def _validate(m: ModelSpec) -> None:
    if m.format != MODEL_SPEC_FORMAT:
        raise ModelSpecError(
            f"unsupported model spec format {m.format!r}; expected {MODEL_SPEC_FORMAT!r}"
        )
    if m.framework != "keras":
        raise ModelSpecError(f"unsupported framework {m.framework!r}; only 'keras' is supported")
    check_keras_config(m.model_config)
    _int_list(list(m.input_shape), "input_shape")
    if m.input_dtype not in ALLOWED_DTYPES:
        raise ModelSpecError(f"input_dtype {m.input_dtype!r} not in {sorted(ALLOWED_DTYPES)}")
    if not isinstance(m.num_classes, int) or isinstance(m.num_classes, bool) or m.num_classes < 2:
        raise ModelSpecError(f"num_classes must be an integer >= 2, got {m.num_classes!r}")
    if m.loss not in ALLOWED_LOSSES:
        raise ModelSpecError(f"loss {m.loss!r} not in {sorted(ALLOWED_LOSSES)}")
    if not set(m.metrics) <= ALLOWED_METRICS:
        raise ModelSpecError(f"metrics {list(m.metrics)} not within {sorted(ALLOWED_METRICS)}")
    if m.optimizer not in ALLOWED_OPTIMIZERS:
        raise ModelSpecError(f"optimizer {m.optimizer!r} not in {sorted(ALLOWED_OPTIMIZERS)}")
    for name in ("learning_rate", "momentum", "prox_mu"):
        v = getattr(m, name)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
            raise ModelSpecError(f"{name} must be a finite number >= 0, got {v!r}")
    if m.learning_rate <= 0:
        raise ModelSpecError("learning_rate must be > 0")
    for name in ("local_epochs", "batch_size"):
        v = getattr(m, name)
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 100_000:
            raise ModelSpecError(f"{name} must be an integer in 1..100000, got {v!r}")
    ls = m.local_steps
    if ls is not None and (not isinstance(ls, int) or isinstance(ls, bool)
                           or not 1 <= ls <= 1_000_000):
        raise ModelSpecError(f"local_steps must be null or an integer in 1..1000000, got {ls!r}")
    if not m.weights:
        raise ModelSpecError("weights: the model must have at least one trainable variable")
    names = [w.name for w in m.weights]
    if len(set(names)) != len(names):
        raise ModelSpecError(f"weights: duplicate variable names in {names}")
    for w in m.weights:
        if not w.name or ":" in w.name or len(w.name) > 200:
            raise ModelSpecError(f"weights: bad variable name {w.name!r} (no ':' , 1..200 chars)")
    for name in ("initial_weights_cid", "initial_weights_hash"):
        v = getattr(m, name)
        if v is not None and not isinstance(v, str):
            raise ModelSpecError(f"{name} must be a string or null")
    h = m.initial_weights_hash
    if h is not None and not (
        h.startswith("0x") and len(h) == 66 and all(c in "0123456789abcdef" for c in h[2:])
    ):
        raise ModelSpecError(f"initial_weights_hash must be 0x + 64 lowercase hex, got {h!r}")
    if not isinstance(m.data, Mapping):
        raise ModelSpecError("data must be a JSON object describing the expected data")
    _plain(m.data)


def spec_from_keras(model: Any, **hyper: Any) -> ModelSpec:
    """Describe a built Keras model. ``hyper`` sets any other :class:`ModelManifest` field."""
    cfg = json.loads(model.to_json())
    model_config = {"class_name": cfg["class_name"], "config": cfg["config"]}
    if model.non_trainable_weights:
        raise ModelSpecError(
            "the model has non-trainable variables "
            f"{[v.name for v in model.non_trainable_weights]}; only fully trainable models "
            "can be federated with model deltas"
        )
    weights = tuple(
        WeightSpec(_var_name(v), tuple(int(d) for d in v.shape)) for v in model.trainable_weights
    )
    input_shape = tuple(int(d) for d in model.input_shape[1:])
    num_classes = hyper.pop("num_classes", None) or int(model.output_shape[-1])
    return ModelSpec(
        model_config=model_config,
        input_shape=input_shape,
        num_classes=num_classes,
        weights=weights,
        **hyper,
    )


def _var_name(v: Any) -> str:
    name = str(v.name)
    return name[:-2] if name.endswith(":0") else name.replace(":", "_")


def build_model(model_spec: ModelSpec) -> Any:
    """Build the (uncompiled) Keras model from the model spec's allow-listed config."""
    check_keras_config(model_spec.model_config)
    from decentralml_client.ml._tf import tf

    text = json.dumps(_plain(model_spec.model_config))
    try:
        model = tf.keras.models.model_from_json(text, custom_objects={})
    except Exception as e:  # Keras raises many types for bad configs
        raise ModelSpecError(f"Keras could not build the model from its config: {e}") from None
    if not model.built:
        model.build((None, *model_spec.input_shape))
    got = [(_var_name(v), tuple(int(d) for d in v.shape)) for v in model.trainable_weights]
    want = [(w.name, w.shape) for w in model_spec.weights]
    if got != want:
        raise ModelSpecError(f"the built model's variables {got} differ from the spec's {want}")
    if model.non_trainable_weights:
        raise ModelSpecError("the model has non-trainable variables; refused")
    return model


# -- initial weights and the default task ----------------------------------------------------


def make_initial_weights(model_spec: ModelSpec, seed: int = 0) -> list[NDArray[Any]]:
    """Deterministic initial weights from numpy only: Glorot-uniform for rank >= 2 variables
    (fan-in/fan-out as Keras computes them), ones for normalisation gains, zeros otherwise."""
    rng = np.random.default_rng(seed)
    out: list[NDArray[Any]] = []
    for w in model_spec.weights:
        if len(w.shape) >= 2:
            receptive = int(math.prod(w.shape[:-2])) if len(w.shape) > 2 else 1
            fan_in, fan_out = w.shape[-2] * receptive, w.shape[-1] * receptive
            limit = math.sqrt(6.0 / (fan_in + fan_out))
            out.append(rng.uniform(-limit, limit, size=w.shape).astype(np.float32))
        elif w.name.endswith("gamma"):
            out.append(np.ones(w.shape, np.float32))
        else:
            out.append(np.zeros(w.shape, np.float32))
    return out


def _dense(name: str, units: int, activation: str, input_dim: int) -> dict[str, Any]:
    return {
        "module": "keras.layers",
        "class_name": "Dense",
        "registered_name": None,
        "build_config": {"input_shape": [None, input_dim]},
        "config": {
            "name": name,
            "trainable": True,
            "dtype": "float32",
            "units": units,
            "activation": activation,
            "use_bias": True,
            "kernel_initializer": {
                "module": "keras.initializers",
                "class_name": "GlorotUniform",
                "config": {"seed": None},
                "registered_name": None,
            },
            "bias_initializer": {
                "module": "keras.initializers",
                "class_name": "Zeros",
                "config": {},
                "registered_name": None,
            },
            "kernel_regularizer": None,
            "bias_regularizer": None,
            "activity_regularizer": None,
            "kernel_constraint": None,
            "bias_constraint": None,
        },
    }


def mlp_spec(
    input_dim: int = 64,
    hidden: Sequence[int] = (32,),
    num_classes: int = 10,
    *,
    data: Mapping[str, Any] | None = None,
    **hyper: Any,
) -> ModelSpec:
    """A dense ReLU MLP ``input_dim → hidden… → num_classes`` (softmax), built without TF."""
    layers: list[dict[str, Any]] = [
        {
            "module": "keras.layers",
            "class_name": "InputLayer",
            "registered_name": None,
            "config": {
                "batch_input_shape": [None, input_dim],
                "dtype": "float32",
                "sparse": False,
                "ragged": False,
                "name": "features",
            },
        }
    ]
    weights: list[WeightSpec] = []
    prev = input_dim
    dims = [*hidden, num_classes]
    for i, units in enumerate(dims):
        last = i == len(dims) - 1
        name = "output" if last else f"hidden{i}"
        layers.append(_dense(name, units, "softmax" if last else "relu", prev))
        weights += [
            WeightSpec(f"{name}/kernel", (prev, units)),
            WeightSpec(f"{name}/bias", (units,)),
        ]
        prev = units
    return ModelSpec(
        model_config={"class_name": "Sequential", "config": {"name": "mlp", "layers": layers}},
        input_shape=(input_dim,),
        num_classes=num_classes,
        weights=tuple(weights),
        data=dict(data or {}),
        **hyper,
    )


DIGITS_DATA = {
    "name": "scikit-learn digits (8x8 grey-level images of handwritten digits)",
    "feature_shape": [64],
    "feature_dtype": "float32",
    "feature_range": [0.0, 1.0],
    "preprocessing": "pixel / 16",
    "label_set": list(range(10)),
}


def default_digits_spec(
    seed: int = 0, *, initial_weights_cid: str | None = None
) -> ModelSpec:
    """The default task: MLP 64→32→10, SGD lr 0.1, batch 32, one local epoch, on digits.

    The model spec names the hash of the f32 weights file of :func:`make_initial_weights`
    with ``seed`` (see :func:`initial_weights_file`).
    """
    m = mlp_spec(
        64,
        (32,),
        10,
        data=DIGITS_DATA,
        optimizer="sgd",
        learning_rate=0.1,
        local_epochs=1,
        batch_size=32,
    )
    from decentralml_client.hashing import blake2_256_hex as _h

    return m.with_initial_weights(
        cid=initial_weights_cid, hash_hex=_h(initial_weights_file(m, seed))
    )


def initial_weights_file(model_spec: ModelSpec, seed: int = 0) -> bytes:
    """The f32 safetensors weights file of :func:`make_initial_weights` (round 0, task '')."""
    from decentralml_client.ml.codec import encode_weights

    return encode_weights(
        make_initial_weights(model_spec, seed), model_spec, task="", round=0, base_model_hash=""
    )


def with_client_options(
    model_spec: Any,
    *,
    prox_mu: float | None = None,
    local_epochs: int | None = None,
    local_steps: int | None = None,
) -> Any:
    """The model spec with the contributors' FedProx ``prox_mu``, ``local_epochs`` and
    ``local_steps`` set where given (they are hashed with the spec). Raises ``ValueError``."""
    from dataclasses import replace

    changes: dict[str, Any] = {}
    if prox_mu is not None:
        changes["prox_mu"] = float(prox_mu)
    if local_epochs is not None:
        changes["local_epochs"] = int(local_epochs)
    if local_steps is not None:
        changes["local_steps"] = int(local_steps)
    try:
        return replace(model_spec, **changes) if changes else model_spec
    except ModelSpecError as exc:
        raise ValueError(str(exc)) from None
