"""The built-in examples: shipped data (nothing fetched), a model spec each, consistent splits;
the tabular one learns in the simulator through `simulate --example breast-cancer`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from decentralml_client.ml.data import load_digits_split
from decentralml_client.ml.errors import DataError
from decentralml_client.ml.examples import EXAMPLES, get_example


def test_the_tabular_example_ships_its_csv_and_describes_it() -> None:
    ex = get_example("breast-cancer")
    x, y = ex.load()
    assert x.shape == (569, 30) and x.dtype == np.float32
    assert np.bincount(y).tolist() == [212, 357]
    assert abs(float(x.mean())) < 1e-3 and abs(float(x.std()) - 1) < 1e-3  # standardised
    spec = ex.spec(0)
    assert spec.input_shape == (30,) and spec.num_classes == 2
    assert spec.data["labels"] == {"0": "malignant", "1": "benign"}
    assert spec.initial_weights_hash == ex.spec(0).initial_weights_hash
    assert spec.initial_weights_hash != ex.spec(1).initial_weights_hash


def test_splits_and_shards_are_the_same_everywhere() -> None:
    xtr, ytr, xte, yte = get_example("digits").split(0)
    for a, b in zip((xtr, ytr, xte, yte), load_digits_split(seed=0), strict=True):
        np.testing.assert_array_equal(a, b)
    ex = get_example("breast-cancer")
    shards = [ex.shard("test", i, 3) for i in range(3)]
    assert sum(len(s[1]) for s in shards) == len(ex.split(0)[3])
    np.testing.assert_array_equal(ex.shard("train", 1, 2)[0], ex.shard("train", 1, 2)[0])


def test_an_unknown_example_names_the_known_ones() -> None:
    with pytest.raises(DataError, match="digits, breast-cancer"):
        get_example("iris")
    assert list(EXAMPLES) == ["digits", "breast-cancer"]


def test_simulate_learns_the_tabular_example() -> None:
    from typer.testing import CliRunner

    from decentralml_client.cli.main import app

    res = CliRunner().invoke(app, ["simulate", "--example", "breast-cancer", "--contributors",
                                   "3", "--rounds", "3", "--validators", "1", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["num_params"] == 30 * 16 + 16 + 16 * 2 + 2
    assert summary["config"]["test_examples"] == 143
    assert summary["final_accuracy"] > 0.9 > summary["initial_accuracy"]
