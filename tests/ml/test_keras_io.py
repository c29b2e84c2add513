"""Keras models in and out: .keras, SavedModel and JSON + weights read into a model spec and
its initial weights; Lambda, custom and non-softmax models refused by name; models written back
load in Keras with no custom objects and predict exactly what the weights predict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from decentralml_client.ml.codec import decode_tensors, file_hash
from decentralml_client.ml.errors import ModelFileError, ModelSpecError
from decentralml_client.ml.evaluate import predict_proba
from decentralml_client.ml.keras_io import (
    describe_spec,
    hyper_from_compile,
    import_keras,
    update_sizes,
    weights_file_for,
    write_model,
)
from decentralml_client.ml.model_spec import ModelSpec, default_digits_spec


def _tabular_model(compile_: bool = True):  # noqa: ANN202 (a Keras model)
    from decentralml_client.ml._tf import tf

    tf.keras.utils.set_random_seed(1)
    inputs = tf.keras.Input((30,), name="features")
    h = tf.keras.layers.Dense(8, activation="relu", name="hidden")(inputs)
    h = tf.keras.layers.Dropout(0.1, name="drop")(h)
    outputs = tf.keras.layers.Dense(2, activation="softmax", name="out")(h)
    model = tf.keras.Model(inputs, outputs, name="tumours")
    if compile_:
        model.compile(optimizer=tf.keras.optimizers.Adam(0.01),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_a_keras_file_becomes_a_spec_with_its_own_weights(tmp_path: Path) -> None:
    model = _tabular_model()
    model.save(tmp_path / "m.keras")
    got = import_keras(tmp_path / "m.keras", local_epochs=2)
    spec = got.spec
    assert got.source == "keras"
    assert spec.input_shape == (30,) and spec.num_classes == 2
    assert spec.weight_names == ("hidden/kernel", "hidden/bias", "out/kernel", "out/bias")
    assert (spec.optimizer, spec.learning_rate, spec.local_epochs) == ("adam", 0.01, 2)
    assert spec.initial_weights_hash == file_hash(got.weights_file)
    decoded = decode_tensors(got.weights_file, spec, kind="weights").tensors
    for a, b in zip(decoded, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert ModelSpec.from_bytes(spec.to_bytes()) == spec


def test_savedmodel_and_json_with_weights_give_the_same_spec(tmp_path: Path) -> None:
    model = _tabular_model(compile_=False)
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "saved", save_format="tf")
    (tmp_path / "m.json").write_text(model.to_json())
    model.save_weights(tmp_path / "m.weights.h5")
    base = import_keras(tmp_path / "m.keras")
    saved = import_keras(tmp_path / "saved")
    plain = import_keras(tmp_path / "m.json", tmp_path / "m.weights.h5")
    assert (saved.source, plain.source) == ("savedmodel", "json")
    for other in (saved, plain):
        assert other.spec.weights == base.spec.weights
        assert other.weights_file == base.weights_file
    with pytest.raises(ModelFileError, match="--weights"):
        import_keras(tmp_path / "m.json")


def test_a_lambda_layer_is_refused_by_name_before_keras_loads_it(tmp_path: Path) -> None:
    from decentralml_client.ml._tf import tf

    model = tf.keras.Sequential([
        tf.keras.layers.InputLayer(input_shape=(4,)),
        tf.keras.layers.Lambda(lambda t: t * 2, name="doubler"),
        tf.keras.layers.Dense(2, activation="softmax"),
    ])
    model.save(tmp_path / "lam.keras")
    with pytest.raises(ModelSpecError, match=r"'doubler' \(Lambda\) is refused: a Lambda layer "
                                             r"carries Python code"):
        import_keras(tmp_path / "lam.keras")
    with pytest.raises(ModelFileError, match="legacy HDF5"):
        import_keras(tmp_path / "model.h5")


def test_a_model_without_softmax_output_or_with_another_loss_is_refused(tmp_path: Path) -> None:
    from decentralml_client.ml._tf import tf

    logits = tf.keras.Sequential([tf.keras.layers.InputLayer(input_shape=(4,)),
                                  tf.keras.layers.Dense(3, name="logits")])
    logits.save(tmp_path / "logits.keras")
    with pytest.raises(ModelSpecError, match="'logits'.*softmax"):
        import_keras(tmp_path / "logits.keras")
    with pytest.raises(ModelSpecError, match="loss 'mse'"):
        hyper_from_compile({"loss": "mse"})
    with pytest.raises(ModelSpecError, match="rmsprop"):
        hyper_from_compile({"optimizer": {"class_name": "RMSprop", "config": {}}})
    assert hyper_from_compile({"optimizer": {"class_name": "SGD", "config": {
        "learning_rate": 0.05000000074505806, "momentum": 0.9}}}) == {
        "optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.9}


def test_describe_counts_parameters_and_update_bytes_without_tensorflow() -> None:
    spec = default_digits_spec()
    info = describe_spec(spec)
    assert info["params"] == 64 * 32 + 32 + 32 * 10 + 10
    assert [lay["params"] for lay in info["layers"]] == [0, 64 * 32 + 32, 32 * 10 + 10]
    sizes = update_sizes(spec)
    assert sizes["f32"] > sizes["f16"] > sizes["int8"] > sizes["int8 top-10%"]
    assert 4 * info["params"] < sizes["f32"] < 4 * info["params"] + 2_000
    assert weights_file_for(Path("a/spec.json")) == Path("a/spec.weights.safetensors")


def test_written_models_load_without_custom_objects(tmp_path: Path) -> None:
    import subprocess
    import sys

    spec = default_digits_spec()
    from decentralml_client.ml.model_spec import make_initial_weights

    weights = make_initial_weights(spec, 3)
    x = np.random.default_rng(0).random((5, 64), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    write_model(spec, weights, tmp_path / "m.keras")
    write_model(spec, weights, tmp_path / "m.npz", "npz")
    write_model(spec, weights, tmp_path / "m.safetensors", "safetensors")
    with pytest.raises(ModelFileError, match=r"\.keras"):
        write_model(spec, weights, tmp_path / "m.h5")
    script = (
        "import numpy as np, keras, sys\n"
        f"m = keras.models.load_model({str(tmp_path / 'm.keras')!r})\n"
        f"np.save({str(tmp_path / 'p.npy')!r}, m.predict(np.load({str(tmp_path / 'x.npy')!r}),"
        " verbose=0))\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), predict_proba(spec, weights, x),
                               atol=1e-6)
    with np.load(tmp_path / "m.npz") as z:
        np.testing.assert_array_equal(z["hidden0/kernel"], weights[0])
    from safetensors.numpy import load_file

    st = load_file(str(tmp_path / "m.safetensors"))
    np.testing.assert_array_equal(st["output/bias"], weights[3])
    assert json.loads(spec.to_bytes())["format"] == "decentralml-manifest/1"
