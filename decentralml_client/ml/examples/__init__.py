"""Built-in examples: a model spec and a data set each, shipped with the package.

Nothing is fetched at run time. ``demo --example NAME``, ``simulate --example NAME`` and
``task create --example NAME`` take a name from :data:`EXAMPLES`:

* ``digits`` — scikit-learn's 8×8 handwritten digits (bundled with scikit-learn), an MLP
  64→32→10.
* ``breast-cancer`` — a tabular classifier: the Breast Cancer Wisconsin (Diagnostic) data set
  (569 tumours, 30 measurements each, malignant or benign), shipped here as
  ``breast_cancer.csv`` with every feature standardised (z-score), classified by a small
  dense network 30→16→2.

Every example splits its data the same way everywhere (stratified, ``test_size`` 0.25, seed
0 unless told otherwise), so contributors, validators and the creator see consistent shards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from numpy.typing import NDArray

from decentralml_client.ml.errors import DataError
from decentralml_client.ml.model_spec import ModelSpec, default_digits_spec, mlp_spec

Split = tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]

BREAST_CANCER_DATA = {
    "name": "Breast Cancer Wisconsin (Diagnostic): 30 measurements of a tumour's cell nuclei",
    "feature_shape": [30],
    "feature_dtype": "float32",
    "preprocessing": "each feature standardised: (value - mean) / std over the 569 examples",
    "label_set": [0, 1],
    "labels": {"0": "malignant", "1": "benign"},
    "file": "csv with a header row: 30 feature columns, then 'label'",
}


def breast_cancer_spec(seed: int = 0, *, initial_weights_cid: str | None = None) -> ModelSpec:
    """Dense 30→16(ReLU)→2(softmax), SGD lr 0.1, batch 16, one local epoch."""
    from decentralml_client.ml.codec import file_hash
    from decentralml_client.ml.model_spec import initial_weights_file

    m = mlp_spec(30, (16,), 2, data=BREAST_CANCER_DATA, optimizer="sgd", learning_rate=0.1,
                 local_epochs=1, batch_size=16)
    return m.with_initial_weights(cid=initial_weights_cid,
                                  hash_hex=file_hash(initial_weights_file(m, seed)))


def _breast_cancer_xy() -> tuple[NDArray[Any], NDArray[Any]]:
    from decentralml_client.ml.data import load_csv

    source = resources.files(__name__).joinpath("breast_cancer.csv")
    with resources.as_file(source) as path:
        return load_csv(path, breast_cancer_spec())


def _digits_xy() -> tuple[NDArray[Any], NDArray[Any]]:
    from decentralml_client.ml.data import load_digits_xy

    return load_digits_xy()


@dataclass(frozen=True)
class Example:
    """A built-in task: its model spec (by seed of the initial weights) and its data."""

    name: str
    title: str
    spec: Callable[[int], ModelSpec]
    load: Callable[[], tuple[NDArray[Any], NDArray[Any]]]

    def split(self, seed: int = 0, test_size: float = 0.25) -> Split:
        """Stratified ``(x_train, y_train, x_test, y_test)``."""
        from sklearn.model_selection import train_test_split

        x, y = self.load()
        xtr, xte, ytr, yte = train_test_split(x, y, test_size=test_size, random_state=seed,
                                              stratify=y)
        return xtr, ytr, xte, yte

    def shard(self, part: str, index: int, count: int, seed: int = 0
              ) -> tuple[NDArray[Any], NDArray[Any]]:
        """Shard ``index`` of ``count`` (IID) of the ``train`` or ``test`` split."""
        from decentralml_client.ml.data import partition_iid

        xtr, ytr, xte, yte = self.split(seed)
        x, y = (xtr, ytr) if part == "train" else (xte, yte)
        return partition_iid(x, y, count, seed=seed)[index]


EXAMPLES: dict[str, Example] = {
    "digits": Example("digits", "handwritten digits 8×8 (images), MLP 64→32→10",
                      default_digits_spec, _digits_xy),
    "breast-cancer": Example("breast-cancer",
                             "Breast Cancer Wisconsin (tabular, from CSV), dense 30→16→2",
                             breast_cancer_spec, _breast_cancer_xy),
}


def get_example(name: str) -> Example:
    """The built-in example called ``name``."""
    try:
        return EXAMPLES[name]
    except KeyError:
        raise DataError(f"unknown example {name!r}; the built-in examples are "
                        f"{', '.join(EXAMPLES)}",
                        hint=f"pass --example {' or --example '.join(EXAMPLES)}.") from None
