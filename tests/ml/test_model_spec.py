"""Model specs: canonical bytes, hash, and refusal of anything that carries code."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from decentralml_client.ml.errors import ModelSpecError
from decentralml_client.ml.model_spec import (
    ModelSpec,
    build_model,
    check_keras_config,
    default_digits_spec,
    make_initial_weights,
    spec_from_keras,
)

M = default_digits_spec()


def test_default_digits_spec() -> None:
    assert M.input_shape == (64,) and M.num_classes == 10 and M.label_set == tuple(range(10))
    assert M.weight_shapes == ((64, 32), (32,), (32, 10), (10,))
    assert M.num_params == 64 * 32 + 32 + 32 * 10 + 10
    assert (M.optimizer, M.learning_rate, M.batch_size, M.local_epochs) == ("sgd", 0.1, 32, 1)
    assert M.initial_weights_hash is not None and M.initial_weights_hash.startswith("0x")
    assert default_digits_spec(seed=1).initial_weights_hash != M.initial_weights_hash


def test_canonical_bytes_round_trip_and_hash() -> None:
    b = M.to_bytes()
    assert (
        b
        == json.dumps(
            json.loads(b), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    )
    again = ModelSpec.from_bytes(b)
    assert again == M and again.to_bytes() == b and again.hash() == M.hash()
    assert len(M.hash()) == 66


def test_from_bytes_refuses_unknown_and_missing_fields() -> None:
    d = json.loads(M.to_bytes())
    with pytest.raises(ModelSpecError, match="unknown model spec field"):
        ModelSpec.from_dict({**d, "code": "print(1)"})
    d.pop("weights")
    with pytest.raises(ModelSpecError, match="missing required field"):
        ModelSpec.from_dict(d)
    with pytest.raises(ModelSpecError, match="not UTF-8 JSON"):
        ModelSpec.from_bytes(b"\xff{")


def _with_layer(layer: dict) -> dict:
    cfg = copy.deepcopy(dict(M.model_config))
    cfg["config"]["layers"].insert(1, layer)
    return cfg


LAMBDA = {
    "module": "keras.layers",
    "class_name": "Lambda",
    "registered_name": None,
    "config": {
        "name": "l",
        "function": ["4wEAAAAA", None, None],
        "function_type": "lambda",
        "module": "__main__",
        "arguments": {},
    },
}


@pytest.mark.parametrize(
    "layer,match",
    [
        (LAMBDA, "Lambda"),
        (
            {
                "module": "my_pkg",
                "class_name": "Evil",
                "registered_name": "Custom>Evil",
                "config": {},
            },
            "Evil",
        ),
        (
            {
                "module": "keras.layers",
                "class_name": "Dense",
                "registered_name": "Custom>Dense",
                "config": {"name": "d", "units": 3},
            },
            "custom registered object",
        ),
        (
            {
                "module": "os",
                "class_name": "Dense",
                "registered_name": None,
                "config": {"name": "d", "units": 3},
            },
            "module 'os' refused",
        ),
        (
            {
                "module": "keras.layers",
                "class_name": "Dense",
                "registered_name": None,
                "config": {"name": "d", "units": 3, "activation": "my_act"},
            },
            "activation 'my_act'",
        ),
        (
            {
                "module": "keras.layers",
                "class_name": "Dense",
                "registered_name": None,
                "config": {
                    "name": "d",
                    "units": 3,
                    "activation": {"class_name": "X", "config": {}},
                },
            },
            "activation",
        ),
        (
            {
                "module": "keras.layers",
                "class_name": "Dense",
                "registered_name": None,
                "config": {
                    "name": "d",
                    "units": 3,
                    "kernel_initializer": {"class_name": "MyInit", "config": {}},
                },
            },
            "MyInit",
        ),
    ],
)
def test_code_carrying_or_unknown_classes_are_refused(layer: dict, match: str) -> None:
    cfg = _with_layer(layer)
    with pytest.raises(ModelSpecError, match=match):
        check_keras_config(cfg)
    d = json.loads(M.to_bytes())
    d["model_config"] = cfg
    with pytest.raises(ModelSpecError, match=match):
        ModelSpec.from_bytes(json.dumps(d).encode())


def test_build_model_matches_spec_and_refuses_mismatch() -> None:
    model = build_model(M)
    assert [tuple(v.shape) for v in model.trainable_weights] == list(M.weight_shapes)
    w = make_initial_weights(M, 0)
    model.set_weights(w)
    out = model(np.zeros((2, 64), np.float32)).numpy()
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    from dataclasses import replace

    from decentralml_client.ml.model_spec import WeightSpec

    wrong = replace(M, weights=(WeightSpec("hidden0/kernel", (64, 33)), *M.weights[1:]))
    with pytest.raises(ModelSpecError, match="differ"):
        build_model(wrong)


def test_spec_from_keras_round_trip_and_lambda_refused() -> None:
    from decentralml_client.ml._tf import tf

    model = tf.keras.Sequential(
        [
            tf.keras.layers.InputLayer(input_shape=(8, 8, 1)),
            tf.keras.layers.Conv2D(4, 3, activation="relu"),
            tf.keras.layers.MaxPooling2D(),
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dropout(0.1),
            tf.keras.layers.Dense(10, activation="softmax"),
        ]
    )
    m = spec_from_keras(model, learning_rate=0.05, batch_size=16)
    assert m.input_shape == (8, 8, 1) and m.num_classes == 10 and len(m.weights) == 4
    m2 = ModelSpec.from_bytes(m.to_bytes())
    rebuilt = build_model(m2)
    assert [v.shape for v in rebuilt.trainable_weights] == [
        v.shape for v in model.trainable_weights
    ]

    lam = tf.keras.Sequential(
        [
            tf.keras.layers.InputLayer(input_shape=(4,)),
            tf.keras.layers.Lambda(lambda t: t * 2),
            tf.keras.layers.Dense(2, activation="softmax"),
        ]
    )
    with pytest.raises(ModelSpecError, match="Lambda"):
        spec_from_keras(lam)
    bn = tf.keras.Sequential(
        [
            tf.keras.layers.InputLayer(input_shape=(4,)),
            tf.keras.layers.BatchNormalization(),
            tf.keras.layers.Dense(2, activation="softmax"),
        ]
    )
    with pytest.raises(ModelSpecError):
        spec_from_keras(bn)


def test_hyperparameters_are_validated() -> None:
    from dataclasses import replace

    for kw, match in (
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"loss": "mse"}, "loss"),
        ({"initial_weights_hash": "abc"}, "initial_weights_hash"),
    ):
        with pytest.raises(ModelSpecError, match=match):
            replace(M, **kw)
