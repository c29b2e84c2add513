"""``decentralml simulate --model --data``: a user's own model and data, off chain."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from decentralml_client.cli.main import app

runner = CliRunner()


def _user_model_and_data(tmp_path: Path) -> tuple[Path, Path]:
    """A Keras model turned into a spec by `model init`, and a CSV of 120 labelled rows."""
    from decentralml_client.ml._tf import tf

    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(8, activation="relu"),
                                 tf.keras.layers.Dense(3, activation="softmax")])
    model.save(tmp_path / "m.keras")
    spec = tmp_path / "model-spec.json"
    res = runner.invoke(app, ["model", "init", "--from", str(tmp_path / "m.keras"), "--out",
                              str(spec)])
    assert res.exit_code == 0, res.output
    rng = np.random.default_rng(0)
    y = np.arange(120) % 3
    x = rng.normal(size=(120, 4)) + y[:, None]
    csv = tmp_path / "data.csv"
    rows = ["a,b,c,d,label"] + [",".join(f"{v:.4f}" for v in row) + f",{label}"
                                for row, label in zip(x, y, strict=True)]
    csv.write_text("\n".join(rows) + "\n")
    return spec, csv


def test_simulate_runs_the_users_model_and_data_with_rules_optimisers_and_attacks(
        tmp_path: Path) -> None:
    spec, csv = _user_model_and_data(tmp_path)
    res = runner.invoke(app, [
        "simulate", "--model", str(spec), "--data", str(csv), "-n", "4", "-r", "2",
        "--rule", "median", "--server-opt", "adam", "--malicious", "1", "--attack", "sign-flip",
        "--validators", "2", "--validator-strategy", "honest,accept-all", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    cfg = summary["config"]
    assert cfg["train_examples"] == 90 and cfg["test_examples"] == 30
    assert cfg["server_optimizer"] != "None" and cfg["attack"] == "sign-flip"
    assert len(summary["rounds"]) == 3 and summary["num_params"] == 4 * 8 + 8 + 8 * 3 + 3
    # Round 0 is the user's own initial weights (from the file beside the spec).
    assert [v["strategy"] for v in summary["validators"]] == ["honest", "accept-all"]


def test_simulate_compares_rules_on_the_users_model(tmp_path: Path) -> None:
    spec, csv = _user_model_and_data(tmp_path)
    res = runner.invoke(app, ["simulate", "--model", str(spec), "--data", str(csv), "-n", "3",
                              "-r", "1", "--rule", "fedavg,trimmed-mean", "--json"])
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.stdout)["runs"]) == 2


def test_simulate_wants_data_with_a_model_and_refuses_data_of_another_shape(
        tmp_path: Path) -> None:
    spec, _ = _user_model_and_data(tmp_path)
    res = runner.invoke(app, ["simulate", "--model", str(spec), "-r", "1"])
    assert res.exit_code == 2 and "--data" in res.output
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1,2,0\n3,4,1\n")
    res = runner.invoke(app, ["simulate", "--model", str(spec), "--data", str(bad), "-r", "1"])
    assert res.exit_code == 2 and "error" in res.output
