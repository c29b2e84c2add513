"""Keras models in and out of a task.

In: :func:`import_keras` reads a creator's model — a ``.keras`` file, a SavedModel directory,
or Keras JSON (``model.to_json()``) plus a weights file — into a :class:`ModelSpec` and the
initial weights file of the task. The architecture is checked against the model spec's
allow-list *before* Keras sees it, so a ``Lambda`` or custom layer is refused by name and
no code from the file ever runs; a ``.keras`` file is then opened with
``load_model(..., safe_mode=True, compile=False)``, a SavedModel or JSON model is rebuilt from
its (checked) config and its variables are read from the checkpoint/HDF5 file.

Out: :func:`write_model` writes a task's weights as a ``.keras`` file (built-in layers only:
``keras.models.load_model`` opens it with no custom objects), as the safetensors weights file
itself, or as an ``.npz`` of named arrays.

:func:`describe_spec` summarises a model spec (layers, parameters, update size per encoding)
without TensorFlow.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from decentralml_client.ml import codec
from decentralml_client.ml.errors import ModelFileError, ModelSpecError
from decentralml_client.ml.model_spec import (
    ALLOWED_OPTIMIZERS,
    ModelSpec,
    build_model,
    check_keras_config,
    spec_from_keras,
)

MODEL_FORMATS = ("keras", "safetensors", "npz")
#: Update encodings shown by :func:`describe_spec` (name → encode_update keyword arguments).
UPDATE_ENCODINGS: dict[str, dict[str, Any]] = {
    "f32": {"encoding": "f32"},
    "f16": {"encoding": "f16"},
    "int8": {"encoding": "int8"},
    "f32 top-10%": {"encoding": "f32", "topk": 0.1},
    "int8 top-10%": {"encoding": "int8", "topk": 0.1},
}
_SOFTMAX_LAYERS = frozenset({"Softmax"})


@dataclass(frozen=True)
class ImportedModel:
    """A creator's Keras model as a task needs it."""

    spec: ModelSpec  # names the initial weights file by its hash (no CID until uploaded)
    weights: list[NDArray[Any]]  # in the spec's variable order
    weights_file: bytes  # the round-0 weights file (f32 safetensors)
    source: str  # "keras", "savedmodel" or "json"


def weights_file_for(spec_path: Path) -> Path:
    """Where ``model init`` puts the initial weights beside a spec: ``NAME.weights.safetensors``."""
    name = spec_path.name.removesuffix(".json")
    return spec_path.with_name(f"{name}.weights.safetensors")


# -- reading --------------------------------------------------------------------------------


def read_keras_config(path: Path) -> tuple[dict[str, Any], dict[str, Any] | None, str]:
    """The architecture ``{"class_name", "config"}``, the compile config (if any) and the kind
    of a model file, read as JSON without TensorFlow. Nothing is checked yet."""
    path = Path(path)
    if path.is_dir():
        return _savedmodel_config(path), None, "savedmodel"
    suffix = path.suffix.lower()
    if suffix == ".keras":
        try:
            with zipfile.ZipFile(path) as z:
                raw = json.loads(z.read("config.json"))
        except (OSError, KeyError, zipfile.BadZipFile, ValueError) as e:
            raise ModelFileError(f"{path}: not a .keras model file ({e})") from None
        return _architecture(raw, path), raw.get("compile_config"), "keras"
    if suffix == ".json":
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise ModelFileError(f"{path}: not Keras JSON ({e})") from None
        return _architecture(raw, path), None, "json"
    if suffix in (".h5", ".hdf5"):
        raise ModelFileError(
            f"{path}: legacy HDF5 model files can carry code (Lambda layers are marshalled "
            "Python) and are not read",
            hint="save the model as .keras (`model.save('model.keras')`) and use that file.")
    raise ModelFileError(f"{path}: use a .keras file, a SavedModel directory or Keras JSON "
                         "(with --weights)")


def _architecture(raw: Any, path: Path) -> dict[str, Any]:
    if not isinstance(raw, Mapping) or "class_name" not in raw or "config" not in raw:
        raise ModelFileError(f"{path}: no Keras model config (class_name and config) in it")
    return {"class_name": raw["class_name"], "config": raw["config"]}


def _savedmodel_config(path: Path) -> dict[str, Any]:
    meta = path / "keras_metadata.pb"
    if not meta.is_file():
        raise ModelFileError(f"{path}: a SavedModel directory without keras_metadata.pb was "
                             "not saved from a Keras model")
    from keras.protobuf import saved_metadata_pb2  # protobuf parsing only

    saved = saved_metadata_pb2.SavedMetadata()
    try:
        saved.ParseFromString(meta.read_bytes())
        root = next(n for n in saved.nodes if n.node_path == "root")
        raw = json.loads(root.metadata)
    except (StopIteration, ValueError, OSError) as e:
        raise ModelFileError(f"{path}: cannot read the Keras metadata ({e})") from None
    return _architecture(_untuple(raw), path)


def _untuple(obj: Any) -> Any:
    """SavedModel metadata writes tuples as ``{"class_name": "__tuple__", "items": [...]}``."""
    if isinstance(obj, Mapping):
        if obj.get("class_name") == "__tuple__" and set(obj) == {"class_name", "items"}:
            return [_untuple(v) for v in obj["items"]]
        return {k: _untuple(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_untuple(v) for v in obj]
    return obj


def load_keras_model(path: Path, weights: Path | None = None) -> Any:
    """The creator's Keras model, its architecture checked against the allow-list first."""
    path = Path(path)
    config, _, kind = read_keras_config(path)
    check_keras_config(config)
    from decentralml_client.ml._tf import tf

    try:
        if kind == "keras":
            return tf.keras.models.load_model(path, safe_mode=True, compile=False)
        model = tf.keras.models.model_from_json(json.dumps(config), custom_objects={})
        if kind == "savedmodel":
            model.load_weights(str(path / "variables" / "variables")).expect_partial()
            return model
        if weights is None:
            raise ModelFileError(f"{path}: Keras JSON holds no weights: give them with "
                                 "--weights model.weights.h5")
        model.load_weights(str(weights))
        return model
    except ModelFileError:
        raise
    except Exception as e:  # Keras raises many types for files it cannot read
        raise ModelFileError(f"{path}: Keras could not load the model: {e}") from None


def import_keras(path: Path, weights: Path | None = None, **hyper: Any) -> ImportedModel:
    """Read a creator's model into a model spec and its initial weights.

    Hyperparameters come from ``hyper``, else from the model's compile config (optimizer
    ``sgd``/``adam`` and its learning rate), else the model spec's defaults.
    """
    path = Path(path)
    config, compile_config, kind = read_keras_config(path)
    check_keras_config(config)
    check_softmax_output(config)
    model = load_keras_model(path, weights)
    settings = {**hyper_from_compile(compile_config),
                **{k: v for k, v in hyper.items() if v is not None}}
    spec = spec_from_keras(model, **settings)
    tensors = [np.asarray(v.numpy(), np.float32) for v in model.trainable_weights]
    spec = _with_data(spec, path)
    data = codec.encode_weights(tensors, spec, task="", round=0, base_model_hash="")
    spec = spec.with_initial_weights(cid=None, hash_hex=codec.file_hash(data))
    return ImportedModel(spec=spec, weights=tensors, weights_file=data, source=kind)


def _with_data(spec: ModelSpec, path: Path) -> ModelSpec:
    """The spec with a description of the expected data (shape, dtype, labels)."""
    data = dict(spec.data) or {
        "name": f"features for {path.name}",
        "feature_shape": list(spec.input_shape),
        "feature_dtype": spec.input_dtype,
        "label_set": list(spec.label_set),
    }
    return replace(spec, data=data)


def hyper_from_compile(compile_config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Client hyperparameters from a ``.keras`` file's compile config; refuses what a task
    cannot train with (another loss, logits outputs, an unsupported optimizer)."""
    if not compile_config:
        return {}
    out: dict[str, Any] = {}
    opt = compile_config.get("optimizer")
    name, conf = "", dict[str, Any]()
    if isinstance(opt, str):
        name = opt.lower()
    elif isinstance(opt, Mapping):
        name = str(opt.get("class_name", "")).lower()
        conf = dict(opt.get("config") or {})
    if name:
        if name not in ALLOWED_OPTIMIZERS:
            raise ModelSpecError(
                f"the model was compiled with optimizer {name!r}; tasks train with "
                f"{sorted(ALLOWED_OPTIMIZERS)}",
                hint="pass --optimizer sgd or --optimizer adam to model init.")
        out["optimizer"] = name
        for key in ("learning_rate", "momentum") if name == "sgd" else ("learning_rate",):
            value = conf.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out[key] = float(f"{value:.6g}")
    loss = compile_config.get("loss")
    loss_name = loss if isinstance(loss, str) else (
        loss.get("class_name") if isinstance(loss, Mapping) else None)
    if loss_name is not None:
        if str(loss_name) not in ("sparse_categorical_crossentropy",
                                  "SparseCategoricalCrossentropy"):
            raise ModelSpecError(
                f"the model was compiled with loss {loss_name!r}; tasks train with "
                "sparse_categorical_crossentropy on integer class labels",
                hint="compile with loss='sparse_categorical_crossentropy' (or not at all).")
        if isinstance(loss, Mapping) and (loss.get("config") or {}).get("from_logits"):
            raise ModelSpecError("the model's loss reads logits; a task's model must output "
                                 "class probabilities (end in a softmax)")
    return out


def check_softmax_output(config: Mapping[str, Any]) -> None:
    """Refuse a model whose output is not a softmax: scores are read as class probabilities."""
    inner = config["config"]
    layers = inner["layers"]
    by_name = {(lay.get("config") or {}).get("name"): lay for lay in layers}
    if config["class_name"] == "Functional":
        outputs = inner.get("output_layers") or []
        if len(outputs) != 1 and not (outputs and isinstance(outputs[0], str)):
            raise ModelSpecError(f"the model has {len(outputs)} outputs; a task's model has one")
        last = by_name.get(outputs[0] if isinstance(outputs[0], str) else outputs[0][0])
    else:
        last = layers[-1] if layers else None
    if last is None:
        raise ModelSpecError("the model has no output layer")
    cls = last.get("class_name")
    cfg = last.get("config") or {}
    if cls in _SOFTMAX_LAYERS or cfg.get("activation") == "softmax":
        return
    raise ModelSpecError(
        f"the output layer {cfg.get('name')!r} ({cls}) does not end in a softmax; a task's "
        "model outputs class probabilities",
        hint="use activation='softmax' on the last Dense layer (not logits).")


# -- describing -----------------------------------------------------------------------------


def update_sizes(spec: ModelSpec) -> dict[str, int]:
    """Bytes of one update file per encoding (the header included), for this model."""
    zeros = [np.zeros(w.shape, np.float32) for w in spec.weights]
    return {
        name: len(codec.encode_update(zeros, spec, task="0", round=0,
                                      base_model_hash="0x" + "00" * 32, num_examples=0, **kw))
        for name, kw in UPDATE_ENCODINGS.items()
    }


def describe_spec(spec: ModelSpec) -> dict[str, Any]:
    """Layers (name, class, settings, parameters), totals and update sizes; no TensorFlow."""
    params: dict[str, int] = {}
    for w in spec.weights:
        layer = w.name.split("/", 1)[0]
        params[layer] = params.get(layer, 0) + w.size
    layers = []
    for lay in spec.model_config["config"]["layers"]:
        cfg = lay.get("config") or {}
        name = str(cfg.get("name"))
        settings = {k: cfg[k] for k in ("units", "filters", "kernel_size", "pool_size", "rate",
                                        "activation", "target_shape") if cfg.get(k) is not None}
        layers.append({"name": name, "class": lay.get("class_name"), "settings": settings,
                       "params": params.get(name, 0)})
    return {
        "model": spec.model_config["class_name"],
        "input_shape": list(spec.input_shape),
        "num_classes": spec.num_classes,
        "layers": layers,
        "params": spec.num_params,
        "optimizer": spec.optimizer,
        "learning_rate": spec.learning_rate,
        "local_epochs": spec.local_epochs,
        "batch_size": spec.batch_size,
        "update_bytes": update_sizes(spec),
        "spec_hash": spec.hash(),
        "initial_weights_hash": spec.initial_weights_hash,
    }


# -- writing --------------------------------------------------------------------------------


def to_keras_model(spec: ModelSpec, weights: Sequence[NDArray[Any]]) -> Any:
    """The task's model with ``weights``, compiled with the spec's loss and optimizer (all
    built-in Keras objects)."""
    from decentralml_client.ml._tf import tf

    model = build_model(spec)
    if len(weights) != len(model.trainable_weights):
        raise ModelSpecError(f"{len(weights)} tensors for {len(model.trainable_weights)} "
                             "model variables")
    for v, w in zip(model.trainable_weights, weights, strict=True):
        v.assign(np.asarray(w, np.float32))
    optimizer = (tf.keras.optimizers.SGD(spec.learning_rate, momentum=spec.momentum)
                 if spec.optimizer == "sgd" else tf.keras.optimizers.Adam(spec.learning_rate))
    model.compile(optimizer=optimizer, loss=tf.keras.losses.SparseCategoricalCrossentropy(),
                  metrics=list(spec.metrics))
    return model


def write_model(spec: ModelSpec, weights: Sequence[NDArray[Any]], out: Path, fmt: str = "keras",
                *, weights_file: bytes | None = None) -> Path:
    """Write the model to ``out`` as ``keras``, ``safetensors`` or ``npz``; returns ``out``.

    ``safetensors`` writes ``weights_file`` (the hash-checked file from IPFS) byte for byte
    when given. The file appears complete or not at all.
    """
    out = Path(out)
    if fmt not in MODEL_FORMATS:
        raise ModelFileError(f"unknown format {fmt!r}; choose one of {', '.join(MODEL_FORMATS)}",
                             hint="use --format keras, safetensors or npz.")
    if fmt == "keras" and out.suffix != ".keras":
        raise ModelFileError(f"{out}: a Keras model file must end in .keras",
                             hint="name the output like final.keras, or pick another --format.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.tmp{out.suffix}")
    try:
        if fmt == "keras":
            to_keras_model(spec, weights).save(str(tmp))
        elif fmt == "safetensors":
            tmp.write_bytes(weights_file if weights_file is not None else codec.encode_weights(
                list(weights), spec, task="", round=0, base_model_hash=""))
        else:
            with open(tmp, "wb") as f:
                np.savez(f, **{name: np.asarray(w, np.float32)
                               for name, w in zip(spec.weight_names, weights, strict=True)})
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
