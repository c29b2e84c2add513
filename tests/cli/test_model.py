"""``decentralml model``: init from a Keras model, and the refusals a new user meets first.

The round trip through a task on the dev chain (pull, eval, lineage, a tampered file) is in
``tests/scenarios/test_model_round_trip.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from decentralml_client.cli._common import Exit
from decentralml_client.cli.main import app
from decentralml_client.ml.model_spec import ModelSpec

runner = CliRunner()


def _save(path: Path, *layers: object) -> None:
    from decentralml_client.ml._tf import tf

    tf.keras.Sequential([tf.keras.Input((6,)), *layers]).save(path)


def test_init_writes_the_spec_and_weights_and_prints_the_architecture(tmp_path: Path) -> None:
    from decentralml_client.ml._tf import tf

    _save(tmp_path / "m.keras", tf.keras.layers.Dense(4, activation="relu", name="h"),
          tf.keras.layers.Dense(3, activation="softmax", name="out"))
    out = tmp_path / "specs" / "task.json"
    res = runner.invoke(app, ["model", "init", "--from", str(tmp_path / "m.keras"), "--out",
                              str(out), "--print", "--batch-size", "8"])
    assert res.exit_code == 0, res.output
    for text in ("h", "out", "43", "f32", "int8 top-10%", "task create --model"):
        assert text in res.output
    spec = ModelSpec.from_bytes(out.read_bytes())
    assert spec.batch_size == 8 and spec.num_params == 6 * 4 + 4 + 4 * 3 + 3
    assert (tmp_path / "specs" / "task.weights.safetensors").is_file()

    again = runner.invoke(app, ["model", "init", "--from", str(tmp_path / "m.keras"), "--out",
                                str(out)])
    assert again.exit_code == Exit.USAGE and "--force" in again.output
    as_json = runner.invoke(app, ["--json", "model", "init", "--from", str(tmp_path / "m.keras"),
                                  "--out", str(out), "--force"])
    assert as_json.exit_code == 0, as_json.output
    info = json.loads(as_json.stdout)
    assert info["params"] == 43 and info["update_bytes"]["f32"] > 4 * 43


def test_a_lambda_layer_is_refused_by_name_without_a_traceback(tmp_path: Path) -> None:
    from decentralml_client.ml._tf import tf

    _save(tmp_path / "lam.keras", tf.keras.layers.Lambda(lambda t: t + 1, name="plus_one"),
          tf.keras.layers.Dense(2, activation="softmax"))
    res = runner.invoke(app, ["model", "init", "--from", str(tmp_path / "lam.keras"), "--out",
                              str(tmp_path / "spec.json")])
    assert res.exit_code == Exit.FAILED
    output = " ".join(res.output.split())  # rich wraps long lines
    assert "'plus_one' (Lambda) is refused: a Lambda layer carries Python code" in output
    assert "what to do" in output and "Traceback" not in output
    assert not (tmp_path / "spec.json").exists()


def test_pull_refuses_an_unknown_format_before_connecting() -> None:
    res = runner.invoke(app, ["model", "pull", "0", "--format", "onnx"])
    assert res.exit_code == Exit.USAGE and "keras, safetensors, npz" in res.output
