"""The allow-list a model spec's Keras config is checked against before Keras sees it:
built-in layer, initializer, regularizer and constraint classes and activation names only
(no ``Lambda``, no custom objects, no code). Pure standard library."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from decentralml_client.ml.errors import ModelSpecError

#: Built-in Keras layer classes a model spec may use. Every one of them has only trainable
#: variables, so a model's state is exactly what TFF's model-delta client work federates.
#: (BatchNormalization is left out on purpose: its moving statistics are non-trainable
#: variables that FedAvg's model delta does not carry.)
ALLOWED_LAYERS = frozenset(
    {
        "InputLayer",
        "Dense",
        "Conv1D",
        "Conv2D",
        "Flatten",
        "Reshape",
        "Dropout",
        "Activation",
        "MaxPooling1D",
        "MaxPooling2D",
        "AveragePooling1D",
        "AveragePooling2D",
        "GlobalAveragePooling1D",
        "GlobalAveragePooling2D",
        "GlobalMaxPooling1D",
        "GlobalMaxPooling2D",
        "LayerNormalization",
        "ReLU",
        "Softmax",
    }
)
ALLOWED_MODELS = frozenset({"Sequential", "Functional"})
ALLOWED_HELPERS = frozenset(
    {
        # initializers
        "GlorotUniform",
        "GlorotNormal",
        "HeUniform",
        "HeNormal",
        "LecunUniform",
        "LecunNormal",
        "Zeros",
        "Ones",
        "Constant",
        "RandomUniform",
        "RandomNormal",
        "TruncatedNormal",
        "Orthogonal",
        "Identity",
        "VarianceScaling",
        # regularizers and constraints
        "L1",
        "L2",
        "L1L2",
        "MaxNorm",
        "MinMaxNorm",
        "NonNeg",
        "UnitNorm",
    }
)
ALLOWED_MODULES = frozenset(
    {"keras.layers", "keras.initializers", "keras.regularizers", "keras.constraints"}
)
ALLOWED_ACTIVATIONS = frozenset(
    {
        "linear",
        "relu",
        "relu6",
        "elu",
        "selu",
        "gelu",
        "sigmoid",
        "hard_sigmoid",
        "tanh",
        "softmax",
        "softplus",
        "softsign",
        "swish",
        "silu",
        "exponential",
        None,
    }
)
#: Config keys that can only carry code (Lambda and friends).
_CODE_KEYS = frozenset({"function", "function_type", "output_shape_module", "module_objects"})
_STRING_HELPER_KEYS = frozenset(
    {
        "kernel_initializer",
        "bias_initializer",
        "gamma_initializer",
        "beta_initializer",
        "depthwise_initializer",
        "pointwise_initializer",
        "kernel_regularizer",
        "bias_regularizer",
        "activity_regularizer",
        "kernel_constraint",
        "bias_constraint",
    }
)
_ALLOWED_HELPER_STRINGS = frozenset(
    {
        "glorot_uniform",
        "glorot_normal",
        "he_uniform",
        "he_normal",
        "lecun_uniform",
        "lecun_normal",
        "zeros",
        "ones",
        "random_uniform",
        "random_normal",
        "truncated_normal",
        "orthogonal",
        "identity",
        "l1",
        "l2",
        "l1_l2",
        "max_norm",
        "non_neg",
        "unit_norm",
    }
)


def check_keras_config(config: Any) -> None:
    """Refuse any Keras config that names a class, module or function outside the allow-lists."""
    if not isinstance(config, Mapping) or set(config) - {"class_name", "config"}:
        raise ModelSpecError(
            "model_config must be {'class_name': ..., 'config': ...} as from model.to_json()"
        )
    if config.get("class_name") not in ALLOWED_MODELS:
        raise ModelSpecError(
            f"model class {config.get('class_name')!r} refused; allowed: {sorted(ALLOWED_MODELS)}"
        )
    inner = config.get("config")
    if not isinstance(inner, Mapping) or not isinstance(inner.get("layers"), list):
        raise ModelSpecError("model_config.config.layers must be a list of layer configs")
    for i, layer in enumerate(inner["layers"]):
        if not isinstance(layer, Mapping):
            raise ModelSpecError(f"layer {i} is not an object")
        cls = layer.get("class_name")
        if cls not in ALLOWED_LAYERS:
            inner_cfg = layer.get("config")
            name = inner_cfg.get("name") if isinstance(inner_cfg, Mapping) else None
            raise ModelSpecError(
                f"layer {i} {name!r} ({cls}) is refused: {refusal_reason(cls)}; "
                f"allowed layers: {', '.join(sorted(ALLOWED_LAYERS))}",
                hint="rewrite the model with built-in Keras layers from the allow-list "
                "(docs/ml.md, Model spec), then run the command again.",
            )
    _walk(config, path="model_config")


#: Why a well-known layer class is refused (the default reason covers everything else).
_REFUSAL_REASONS = {
    "Lambda": "a Lambda layer carries Python code, which would run on every participant's "
    "machine",
    "BatchNormalization": "its moving statistics are non-trainable variables that federated "
    "averaging of model deltas does not carry",
    "Normalization": "its mean and variance are non-trainable variables that federated "
    "averaging of model deltas does not carry",
    "TFOpLambda": "it wraps a TensorFlow operation called from Python code",
}


def refusal_reason(class_name: Any) -> str:
    """Why a layer class is not allowed in a model spec, in one phrase."""
    return _REFUSAL_REASONS.get(
        str(class_name),
        "it is not a built-in Keras layer on the allow-list (custom layers carry code)",
    )


def _walk(obj: Any, path: str) -> None:
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            if not isinstance(k, str):
                raise ModelSpecError(f"{path}: non-string key {k!r}")
            if k in _CODE_KEYS:
                raise ModelSpecError(f"{path}.{k}: configs that carry code are refused")
            if k == "registered_name" and v is not None and v != obj.get("class_name"):
                raise ModelSpecError(f"{path}: custom registered object {v!r} refused")
            if k == "module" and v not in ALLOWED_MODULES:
                raise ModelSpecError(
                    f"{path}: module {v!r} refused; allowed {sorted(ALLOWED_MODULES)}"
                )
            if k == "class_name" and v not in ALLOWED_LAYERS | ALLOWED_MODELS | ALLOWED_HELPERS:
                raise ModelSpecError(f"{path}: class {v!r} is not an allowed built-in Keras class")
            if k == "activation" and (
                not (isinstance(v, str) or v is None) or v not in ALLOWED_ACTIVATIONS
            ):
                raise ModelSpecError(
                    f"{path}.activation {v!r} refused; allowed: "
                    f"{sorted(a for a in ALLOWED_ACTIVATIONS if a)}"
                )
            if k in _STRING_HELPER_KEYS and isinstance(v, str) and v not in _ALLOWED_HELPER_STRINGS:
                raise ModelSpecError(f"{path}.{k} {v!r} is not a built-in Keras name")
            _walk(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _walk(v, f"{path}[{i}]")
    elif not (obj is None or isinstance(obj, (str, int, float, bool))):
        raise ModelSpecError(f"{path}: value of type {type(obj).__name__} is not JSON")


# -- Keras bridge (imports TensorFlow lazily) ---------------------------------------------
