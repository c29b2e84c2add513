"""Data sets, partitions and user loaders with schema checks."""

from __future__ import annotations

import numpy as np
import pytest

from decentralml_client.ml.data import (
    load_csv,
    load_digits_split,
    load_npz,
    partition_dirichlet,
    partition_iid,
)
from decentralml_client.ml.errors import DataError
from decentralml_client.ml.model_spec import default_digits_spec

M = default_digits_spec()


def test_digits_split_75_25() -> None:
    xtr, ytr, xte, _ = load_digits_split(0.25, seed=0)
    assert len(xtr) + len(xte) == 1797 and len(xte) == 450
    assert xtr.dtype == np.float32 and ytr.dtype == np.int32 and xtr.shape[1] == 64
    assert 0.0 <= xtr.min() and xtr.max() <= 1.0
    again = load_digits_split(0.25, seed=0)
    np.testing.assert_array_equal(again[0], xtr)


def test_iid_partition_covers_everything_once() -> None:
    xtr, ytr, _, _ = load_digits_split(seed=0)
    shards = partition_iid(xtr, ytr, 10, seed=3)
    sizes = [len(s[0]) for s in shards]
    assert sum(sizes) == len(xtr) and max(sizes) - min(sizes) <= 1
    assert sorted(np.concatenate([s[1] for s in shards]).tolist()) == sorted(ytr.tolist())


def test_dirichlet_partition_is_skewed_and_complete() -> None:
    xtr, ytr, _, _ = load_digits_split(seed=0)
    skewed = partition_dirichlet(xtr, ytr, 10, alpha=0.1, seed=0)
    flat = partition_dirichlet(xtr, ytr, 10, alpha=100.0, seed=0)
    assert sum(len(s[0]) for s in skewed) == len(xtr)

    def mean_classes(shards):
        return np.mean([len(np.unique(y)) for _, y in shards])

    assert mean_classes(skewed) < mean_classes(flat)
    with pytest.raises(DataError, match="alpha"):
        partition_dirichlet(xtr, ytr, 10, alpha=0.0)


def test_load_npz_and_csv(tmp_path) -> None:
    xtr, ytr, _, _ = load_digits_split(seed=0)
    p = tmp_path / "d.npz"
    np.savez(p, x=xtr[:20], y=ytr[:20])
    x, y = load_npz(p, M)
    assert x.shape == (20, 64) and y.dtype == np.int32
    c = tmp_path / "d.csv"
    header = ",".join([f"p{i}" for i in range(64)] + ["label"])
    rows = [",".join([*(f"{v:g}" for v in xtr[i]), str(ytr[i])]) for i in range(5)]
    c.write_text("\n".join([header, *rows]) + "\n")
    x, y = load_csv(c, M)
    np.testing.assert_allclose(x, xtr[:5], atol=1e-6)
    np.testing.assert_array_equal(y, ytr[:5])


def test_loaders_refuse_bad_schemas(tmp_path) -> None:
    p = tmp_path / "bad.npz"
    np.savez(p, x=np.zeros((3, 63)), y=np.zeros(3))
    with pytest.raises(
        DataError, match="shape \\(63,\\) per example; the model spec expects \\(64,\\)"
    ):
        load_npz(p, M)
    np.savez(p, x=np.zeros((3, 64)), y=np.array([0, 1, 12]))
    with pytest.raises(DataError, match="outside the label set"):
        load_npz(p, M)
    np.savez(p, features=np.zeros((3, 64)))
    with pytest.raises(DataError, match="named 'x' and 'y'"):
        load_npz(p, M)
    np.savez(p, x=np.full((2, 64), np.nan), y=np.array([0, 1]))
    with pytest.raises(DataError, match="NaN"):
        load_npz(p, M)
    c = tmp_path / "bad.csv"
    c.write_text("a,b,label\n1,2,3\n")
    with pytest.raises(DataError, match="2 feature columns; the model spec expects 64"):
        load_csv(c, M)
    c.write_text(",".join([f"p{i}" for i in range(64)]) + "\n")
    with pytest.raises(DataError, match="no 'label' column"):
        load_csv(c, M)
