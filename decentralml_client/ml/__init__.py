"""The learning engine: model specs, the update codec, TFF local training, evaluation,
aggregation rules, data sets and the off-chain simulator. Pure computation; no chain.

Attributes are imported lazily so that ``import decentralml_client.ml`` (and the codec,
aggregation and model-spec modules) do not pull in TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    # errors
    "MLError": "errors",
    "ModelSpecError": "errors",
    "CodecError": "errors",
    "OversizeError": "errors",
    "MalformedFileError": "errors",
    "SchemaMismatchError": "errors",
    "NonFiniteError": "errors",
    "AggregationError": "errors",
    "DataError": "errors",
    "TrainingError": "errors",
    "ModelFileError": "errors",
    # model spec
    "ModelSpec": "model_spec",
    "WeightSpec": "model_spec",
    "spec_from_keras": "model_spec",
    "build_model": "model_spec",
    "default_digits_spec": "model_spec",
    "mlp_spec": "model_spec",
    "make_initial_weights": "model_spec",
    "initial_weights_file": "model_spec",
    # Keras models in and out (import TensorFlow)
    "import_keras": "keras_io",
    "write_model": "keras_io",
    "describe_spec": "keras_io",
    # built-in examples
    "get_example": "examples",
    "EXAMPLES": "examples",
    # codec
    "encode_tensors": "codec",
    "decode_tensors": "codec",
    "encode_update": "codec",
    "encode_weights": "codec",
    "DecodedUpdate": "codec",
    "file_hash": "codec",
    # training and evaluation (import TensorFlow)
    "train_local": "train",
    "TrainResult": "train",
    "DPConfig": "train",
    "dp_epsilon": "train",
    "evaluate": "evaluate",
    "apply_delta": "evaluate",
    "tff_session": "tff_runtime",
    "stop_workers": "tff_runtime",
    # aggregation
    "fedavg": "aggregate",
    "FedAvgAccumulator": "aggregate",
    "trimmed_mean": "aggregate",
    "median": "aggregate",
    "multi_krum": "aggregate",
    "aggregate": "aggregate",
    "parse_rule": "aggregate",
    # data
    "load_digits_split": "data",
    "partition_iid": "data",
    "partition_dirichlet": "data",
    "load_npz": "data",
    "load_csv": "data",
    # simulation
    "run_simulation": "simulate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{mod}"), name)
