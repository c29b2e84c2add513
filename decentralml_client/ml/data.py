"""Data sets: scikit-learn's bundled digits, IID / Dirichlet partitions, and user loaders.

Features are float32 arrays shaped ``(n, *model_spec.input_shape)``; labels are int32 in
``0 .. num_classes-1``. Nothing here downloads anything.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from decentralml_client.ml.errors import DataError

Split = tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]


def load_digits_xy() -> tuple[NDArray[Any], NDArray[Any]]:
    """All 1797 digits: ``x`` float32 (n, 64) scaled to [0, 1] (pixel / 16), ``y`` int32."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.data / 16.0).astype(np.float32), d.target.astype(np.int32)


def load_digits_split(test_size: float = 0.25, seed: int = 0) -> Split:
    """Stratified train/test split of digits: ``(x_train, y_train, x_test, y_test)``."""
    from sklearn.model_selection import train_test_split

    x, y = load_digits_xy()
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=test_size, random_state=seed, stratify=y)
    return xtr, ytr, xte, yte


def partition_iid(
    x: NDArray[Any], y: NDArray[Any], n: int, seed: int = 0
) -> list[tuple[NDArray[Any], NDArray[Any]]]:
    """Shuffle and deal the examples into ``n`` shards of (almost) equal size."""
    _check_xy(x, y)
    if not 1 <= n <= len(x):
        raise DataError(f"cannot split {len(x)} examples into {n} non-empty shards")
    perm = np.random.default_rng(seed).permutation(len(x))
    return [(x[p], y[p]) for p in np.array_split(perm, n)]


def partition_dirichlet(
    x: NDArray[Any], y: NDArray[Any], n: int, alpha: float, seed: int = 0, min_size: int = 2
) -> list[tuple[NDArray[Any], NDArray[Any]]]:
    """Label-skewed non-IID shards: each class is split among the ``n`` shards with
    proportions drawn from ``Dirichlet(alpha)`` (small ``alpha`` → more skew). Draws are
    repeated (same seed stream) until every shard holds at least ``min_size`` examples."""
    _check_xy(x, y)
    if alpha <= 0:
        raise DataError(f"alpha must be > 0, got {alpha}")
    if not 1 <= n * min_size <= len(x):
        raise DataError(f"cannot give {n} shards at least {min_size} examples from {len(x)}")
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    for _ in range(1000):
        shards: list[list[int]] = [[] for _ in range(n)]
        for c in classes:
            idx = rng.permutation(np.flatnonzero(y == c))
            props = rng.dirichlet(np.full(n, alpha))
            cuts = (np.cumsum(props) * len(idx)).astype(int)[:-1]
            for s, part in enumerate(np.split(idx, cuts)):
                shards[s].extend(part.tolist())
        if min(len(s) for s in shards) >= min_size:
            return [(x[np.sort(s)], y[np.sort(s)]) for s in shards]
    raise DataError(
        f"could not draw a Dirichlet({alpha}) partition with {min_size}+ examples per shard"
    )


def _check_xy(x: NDArray[Any], y: NDArray[Any]) -> None:
    if len(x) != len(y):
        raise DataError(f"{len(x)} feature rows but {len(y)} labels")


def check_dataset(x: Any, y: Any, model_spec: Any) -> tuple[NDArray[Any], NDArray[Any]]:
    """Validate and convert ``(x, y)`` against the model spec's input shape and label set."""
    try:
        xa = np.asarray(x, dtype=np.float32)
        ya_raw = np.asarray(y)
    except (TypeError, ValueError) as e:
        raise DataError(f"features/labels are not numeric arrays: {e}") from None
    want = tuple(model_spec.input_shape)
    if xa.ndim == 2 and len(want) > 1 and xa.shape[1] == int(np.prod(want)):
        xa = xa.reshape((len(xa), *want))
    if xa.shape[1:] != want:
        raise DataError(
            f"features have shape {xa.shape[1:]} per example; the model spec expects {want}"
        )
    if ya_raw.ndim != 1 or len(ya_raw) != len(xa):
        raise DataError(f"labels must be a vector of {len(xa)} entries, got shape {ya_raw.shape}")
    if len(xa) == 0:
        raise DataError("the data set is empty")
    if ya_raw.dtype.kind == "f":
        if not np.all(ya_raw == np.round(ya_raw)):
            raise DataError("labels must be integers")
    elif ya_raw.dtype.kind not in "iu":
        raise DataError(f"labels must be integers, got dtype {ya_raw.dtype}")
    ya = ya_raw.astype(np.int64)
    bad = sorted(set(np.unique(ya).tolist()) - set(range(model_spec.num_classes)))
    if bad:
        raise DataError(
            f"labels {bad[:10]} are outside the label set 0..{model_spec.num_classes - 1}"
        )
    if not np.isfinite(xa).all():
        raise DataError("features hold NaN or Inf")
    return np.ascontiguousarray(xa), ya.astype(np.int32)


def load_npz(path: str | Path, model_spec: Any) -> tuple[NDArray[Any], NDArray[Any]]:
    """Load ``x`` and ``y`` arrays from an ``.npz`` (pickle disabled) and check them."""
    try:
        with np.load(Path(path), allow_pickle=False) as z:
            if "x" not in z.files or "y" not in z.files:
                raise DataError(f"{path}: an npz needs arrays named 'x' and 'y', found {z.files}")
            x, y = z["x"], z["y"]
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: cannot read npz: {e}") from None
    return check_dataset(x, y, model_spec)


def load_csv(
    path: str | Path, model_spec: Any, *, label_column: str = "label"
) -> tuple[NDArray[Any], NDArray[Any]]:
    """Load a CSV with a header row: one ``label`` column, the rest are features in order."""
    n_features = int(np.prod(model_spec.input_shape))
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        raise DataError(f"{path}: cannot read csv: {e}") from None
    if not rows:
        raise DataError(f"{path}: the file is empty")
    header, body = rows[0], rows[1:]
    if label_column not in header:
        raise DataError(f"{path}: no {label_column!r} column in header {header[:8]}...")
    li = header.index(label_column)
    if len(header) - 1 != n_features:
        raise DataError(
            f"{path}: {len(header) - 1} feature columns; the model spec expects {n_features}"
        )
    xs, ys = [], []
    for lineno, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DataError(f"{path}:{lineno}: {len(row)} fields, header has {len(header)}")
        try:
            ys.append(float(row[li]))
            xs.append([float(v) for i, v in enumerate(row) if i != li])
        except ValueError as e:
            raise DataError(f"{path}:{lineno}: not a number: {e}") from None
    return check_dataset(
        np.array(xs, np.float32).reshape(len(xs), n_features), np.array(ys), model_spec
    )


def load_file(path: str | Path, model_spec: Any) -> tuple[NDArray[Any], NDArray[Any]]:
    """A user's data file by its suffix: ``.npz`` (arrays ``x``, ``y``) or ``.csv``."""
    suffix = Path(path).suffix.lower()
    if suffix == ".npz":
        return load_npz(path, model_spec)
    if suffix == ".csv":
        return load_csv(path, model_spec)
    raise DataError(f"{path}: use a .npz (x, y arrays) or .csv (features..., label) file")


def split_dataset(x: NDArray[Any], y: NDArray[Any], test_size: float = 0.25, seed: int = 0
                  ) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]:
    """A user's examples split into ``(x_train, y_train, x_test, y_test)``: stratified by
    label when every label has at least two examples, shuffled otherwise."""
    from sklearn.model_selection import train_test_split

    _check_xy(x, y)
    _, counts = np.unique(y, return_counts=True)
    stratify = y if len(counts) > 1 and counts.min() >= 2 else None
    try:
        xtr, xte, ytr, yte = train_test_split(x, y, test_size=test_size, random_state=seed,
                                              stratify=stratify)
    except ValueError as exc:  # too few examples for a test split
        raise DataError(f"cannot split {len(x)} examples into train and test: {exc}") from None
    return xtr, ytr, xte, yte


def client_seed(seed: int, rnd: int, client: int) -> int:
    """The seed of contributor ``client``'s local batches in round ``rnd`` of a run seeded
    ``seed`` (the simulator's, the TFF reference's and the benchmark's: all see the same
    batches)."""
    return seed * 1_000_003 + rnd * 1009 + client
