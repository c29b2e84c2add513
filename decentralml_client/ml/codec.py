"""Weights and update files (PROTOCOL §4): safetensors, deterministic, strictly checked.

File layout (the safetensors format: ``u64`` little-endian header length, JSON header padded
with spaces to a multiple of 8, then the raw little-endian tensor bytes):

* one tensor per model variable, in the model spec's variable order, named as in the model spec;
* ``__metadata__`` (all values strings): ``format``, ``kind`` (``weights``/``delta``),
  ``encoding`` (``f32``/``f16``/``int8``), ``task``, ``round``, ``base_model_hash``,
  ``num_examples``, and when used ``topk`` (fraction of entries kept per tensor) and
  ``int8_scales`` (JSON list, one float32 scale per tensor, written as the shortest decimal
  that round-trips).
* ``int8``: ``q = rint(x / s)`` clipped to ±127 with ``s = max|x| / 127`` per tensor;
  decoded as ``q * s`` in float32.
* top-k (deltas only): per tensor the ``k = ceil(topk · size)`` entries of largest magnitude
  (ties: lower flat index first) are kept; the tensor holds the ``k`` values and a companion
  tensor ``<name>:idx`` (``I32``) their ascending flat indices.
* server optimiser state (weights files only, :mod:`~decentralml_client.ml.server_opt`):
  metadata ``server_step`` (steps taken) and ``server_slots`` (comma-separated slot names,
  e.g. ``m,v``), and per slot and variable a companion ``F32`` tensor ``<name>:<slot>`` of the
  variable's shape. The state is bound by the file's hash like the weights it travels with.

We write the header ourselves (sorted keys, compact JSON) so that the same tensors and
metadata always give the same bytes, in any process and on any machine; safetensors' own
writer keeps metadata in a hash map whose order is not fixed. Files are read back with
``safetensors.numpy`` (no pickle, nothing executes) after our own checks of the header.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from decentralml_client.canonical import canonical_json
from decentralml_client.hashing import blake2_256_hex
from decentralml_client.ml._tensor_file import (
    DEFAULT_MAX_BYTES as DEFAULT_MAX_BYTES,
)
from decentralml_client.ml._tensor_file import (
    DTYPE_TAG as _DTYPE_TAG,
)
from decentralml_client.ml._tensor_file import (
    ENCODINGS as ENCODINGS,
)
from decentralml_client.ml._tensor_file import (
    FILE_FORMAT as FILE_FORMAT,
)
from decentralml_client.ml._tensor_file import (
    IDX as _IDX,
)
from decentralml_client.ml._tensor_file import (
    KINDS as KINDS,
)
from decentralml_client.ml._tensor_file import (
    SLOT_NAMES as _SLOT_NAMES,
)
from decentralml_client.ml._tensor_file import (
    expected_shapes as _expected,
)
from decentralml_client.ml._tensor_file import (
    nonneg_int as _nonneg_int,
)
from decentralml_client.ml._tensor_file import (
    read_file,
)
from decentralml_client.ml._tensor_file import (
    topk_count as topk_count,
)
from decentralml_client.ml.errors import (
    CodecError,
    MalformedFileError,
    NonFiniteError,
    SchemaMismatchError,
)
from decentralml_client.ml.server_opt import ServerState

_F16_MAX = float(np.finfo(np.float16).max)

ShapeSpec = Sequence[tuple[str, Sequence[int]]]


@dataclass(frozen=True)
class DecodedUpdate:
    """A checked file: dense float32 tensors in model spec order and the parsed metadata."""

    tensors: list[NDArray[Any]]
    meta: dict[str, Any]
    nbytes: int
    hash: str
    #: The server optimiser state a weights file carries (``None``: none).
    server_state: ServerState | None = None

    @property
    def kind(self) -> str:
        return str(self.meta["kind"])

    @property
    def num_examples(self) -> int:
        return int(self.meta["num_examples"])


def encode_tensors(
    tensors: Sequence[NDArray[Any]],
    *,
    names: Sequence[str],
    kind: str,
    encoding: str = "f32",
    topk: float | None = None,
    meta: Mapping[str, Any],
    allow_nonfinite: bool = False,
    server_state: ServerState | None = None,
) -> bytes:
    """Encode tensors (in the given order) into deterministic safetensors bytes.

    ``meta`` needs ``task``, ``round``, ``base_model_hash`` and ``num_examples``.
    ``allow_nonfinite`` exists only so tests and the simulator can forge poisoned files.
    """
    if kind not in KINDS:
        raise CodecError(f"kind must be one of {KINDS}, got {kind!r}")
    if encoding not in ENCODINGS:
        raise CodecError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
    if topk is not None:
        if kind != "delta":
            raise CodecError("top-k sparsification applies to deltas only, not to weights")
        if not (isinstance(topk, (int, float)) and 0.0 < float(topk) <= 1.0):
            raise CodecError(f"topk must be a fraction in (0, 1], got {topk!r}")
        topk = float(topk)
    if len(tensors) != len(names):
        raise CodecError(f"{len(tensors)} tensors but {len(names)} names")
    if len(set(names)) != len(names):
        raise CodecError(f"duplicate tensor names: {list(names)}")
    for key in ("task", "round", "base_model_hash", "num_examples"):
        if key not in meta:
            raise CodecError(f"meta is missing {key!r}")
    num_examples = _nonneg_int(meta["num_examples"], "num_examples", CodecError)
    rnd = _nonneg_int(meta["round"], "round", CodecError)

    header_meta: dict[str, str] = {
        "format": FILE_FORMAT,
        "kind": kind,
        "encoding": encoding,
        "task": str(meta["task"]),
        "round": str(rnd),
        "base_model_hash": str(meta["base_model_hash"]),
        "num_examples": str(num_examples),
    }
    if topk is not None:
        header_meta["topk"] = repr(topk)
    slot_names: list[str] = []
    if server_state is not None:
        if kind != "weights":
            raise CodecError("server optimiser state travels in weights files only")
        slot_names = sorted(server_state.slots)
        for slot in slot_names:
            if slot not in _SLOT_NAMES or len(server_state.slots[slot]) != len(names):
                raise CodecError(f"server state slot {slot!r} is unknown or incomplete")
        header_meta["server_step"] = str(_nonneg_int(server_state.step, "server_step", CodecError))
        header_meta["server_slots"] = ",".join(slot_names)

    entries: list[tuple[str, str, list[int], bytes]] = []  # name, dtype tag, shape, bytes
    scales: list[float] = []
    for name, t in zip(names, tensors, strict=False):
        if ":" in name or not name:
            raise CodecError(f"tensor name {name!r} is empty or contains ':'")
        a = np.asarray(t)
        if a.dtype.kind != "f":
            raise CodecError(f"tensor {name!r} has dtype {a.dtype}; a float array is required")
        a = a.astype(np.float32, copy=False)
        if not allow_nonfinite and not np.isfinite(a).all():
            raise NonFiniteError(f"tensor {name!r} holds NaN or Inf; refusing to encode it")
        flat = a.reshape(-1)
        idx: NDArray[Any] | None = None
        if topk is not None:
            k = topk_count(flat.size, topk)
            order = np.argsort(-np.abs(flat), kind="stable")[:k]
            idx = np.sort(order).astype(np.int32)
            flat = flat[idx]
        shape = [int(d) for d in a.shape] if idx is None else [int(idx.size)]
        if encoding == "f32":
            data = flat.astype("<f4").tobytes()
        elif encoding == "f16":
            if np.isfinite(flat).all() and flat.size and float(np.max(np.abs(flat))) > _F16_MAX:
                raise CodecError(f"tensor {name!r} has values beyond the f16 range (±{_F16_MAX})")
            data = flat.astype("<f2").tobytes()
        else:
            q, s = quantize_int8(flat)
            scales.append(s)
            data = q.tobytes()
        entries.append((name, _DTYPE_TAG[encoding], shape, data))
        if idx is not None:
            entries.append((name + _IDX, "I32", [int(idx.size)], idx.astype("<i4").tobytes()))
    for slot in slot_names:
        assert server_state is not None
        for name, t, st in zip(names, tensors, server_state.slots[slot], strict=False):
            sa = np.asarray(st, np.float32)
            if sa.shape != np.shape(t):
                raise CodecError(f"server state {name}:{slot} has shape {sa.shape}")
            if not np.isfinite(sa).all():
                raise NonFiniteError(f"server state {name}:{slot} holds NaN or Inf")
            entries.append((f"{name}:{slot}", "F32", [int(d) for d in sa.shape],
                            sa.astype("<f4").tobytes()))
    if encoding == "int8":
        header_meta["int8_scales"] = json.dumps([float(s) for s in scales], separators=(",", ":"))

    header: dict[str, Any] = {"__metadata__": header_meta}
    offset = 0
    for name, tag, shape, data in entries:
        header[name] = {"dtype": tag, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    hbytes = canonical_json(header, ensure_ascii=True)
    hbytes += b" " * (-len(hbytes) % 8)
    return b"".join([struct.pack("<Q", len(hbytes)), hbytes, *(e[3] for e in entries)])


def quantize_int8(x: NDArray[Any]) -> tuple[NDArray[Any], float]:
    """Symmetric per-tensor int8: ``q = rint(x/s)`` clipped to ±127, ``s = max|x|/127`` (f32)."""
    x = np.asarray(x, np.float32)
    m = np.float32(np.max(np.abs(x))) if x.size else np.float32(0)
    if not np.isfinite(m):
        # Only reachable with allow_nonfinite: keep the poison visible in the scale.
        return np.zeros(x.shape, np.int8), float(m)
    s = np.float32(m / np.float32(127.0))
    if s == 0:
        return np.zeros(x.shape, np.int8), 0.0
    q = np.clip(np.rint(x / s), -127, 127).astype(np.int8)
    return q, float(s)


def encode_weights(
    weights: Sequence[NDArray[Any]],
    model_spec: Any,
    *,
    task: str,
    round: int,
    base_model_hash: str,
    encoding: str = "f32",
    server_state: ServerState | None = None,
) -> bytes:
    """A global-model file (``kind=weights``) in the model spec's variable order, with the
    server optimiser's state when the task uses one (``None`` or an empty state: none)."""
    _check_against(weights, _expected(model_spec))
    if server_state is not None and not server_state.slots and server_state.step == 0:
        server_state = None
    return encode_tensors(
        weights,
        names=_expected_names(model_spec),
        kind="weights",
        encoding=encoding,
        meta={"task": task, "round": round, "base_model_hash": base_model_hash, "num_examples": 0},
        server_state=server_state,
    )


def encode_update(
    delta: Sequence[NDArray[Any]],
    model_spec: Any,
    *,
    task: str,
    round: int,
    base_model_hash: str,
    num_examples: int,
    encoding: str = "f32",
    topk: float | None = None,
    allow_nonfinite: bool = False,
) -> bytes:
    """A contributor's update file (``kind=delta``) in the model spec's variable order."""
    _check_against(delta, _expected(model_spec))
    return encode_tensors(
        delta,
        names=_expected_names(model_spec),
        kind="delta",
        encoding=encoding,
        topk=topk,
        meta={
            "task": task,
            "round": round,
            "base_model_hash": base_model_hash,
            "num_examples": num_examples,
        },
        allow_nonfinite=allow_nonfinite,
    )


def file_hash(data: bytes) -> str:
    """The artifact hash of the protocol (blake2-256, ``0x`` hex)."""
    return blake2_256_hex(data)


def decode_tensors(
    data: bytes,
    expected: Any,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    kind: str | None = None,
    encodings: Sequence[str] = ENCODINGS,
) -> DecodedUpdate:
    """Check and decode a file against a model spec (or ``[(name, shape), ...]``).

    Refuses, with a :class:`CodecError` subclass saying what is wrong: files over
    ``max_bytes``; malformed headers; missing, unexpected or misnamed tensors; wrong shapes or
    dtypes; bad metadata; a ``kind`` other than the one asked for; NaN or Inf values.
    """
    data, meta, spec = read_file(data, expected, max_bytes=max_bytes, kind=kind,
                                 encodings=encodings)
    enc, topk = meta["encoding"], meta["topk"]
    slots: list[str] = meta.pop("server_slots")

    try:
        from safetensors.numpy import load

        arrays = load(data)
    except Exception as e:  # safetensors raises SafetensorError / ValueError variants
        raise MalformedFileError(f"safetensors refused the file: {e}") from None

    out = _dense_tensors(arrays, spec, enc, topk, meta.pop("int8_scales"))
    state = _server_state(arrays, spec, slots, meta)
    return DecodedUpdate(tensors=out, meta=meta, nbytes=len(data), hash=blake2_256_hex(data),
                         server_state=state)


def _dense_tensors(arrays: Mapping[str, NDArray[Any]], spec: list[tuple[str, tuple[int, ...]]],
                   enc: str, topk: float | None, scales: Any) -> list[NDArray[Any]]:
    """The file's tensors as dense float32 arrays in the spec's order (int8 scaled back, top-k
    indices spread out), each checked to be finite."""
    if enc == "int8" and (scales is None or len(scales) != len(spec)):
        raise SchemaMismatchError(f"int8 file needs {len(spec)} int8_scales, got {scales!r}")
    out: list[NDArray[Any]] = []
    for i, (name, shape) in enumerate(spec):
        v = arrays[name]
        if enc == "int8":
            s = np.float32(scales[i])
            if not np.isfinite(s) or s < 0:
                raise NonFiniteError(
                    f"tensor {name!r}: int8 scale {scales[i]!r} is not finite and >= 0"
                )
            v = v.astype(np.float32) * s
        else:
            v = v.astype(np.float32)
        if not np.isfinite(v).all():
            raise NonFiniteError(f"tensor {name!r} holds NaN or Inf")
        if topk is not None:
            idx = arrays[name + _IDX].astype(np.int64)
            size = int(math.prod(shape))
            if idx.size and (idx[0] < 0 or idx[-1] >= size or np.any(np.diff(idx) <= 0)):
                raise SchemaMismatchError(
                    f"tensor {name!r}: top-k indices must be strictly increasing within [0, {size})"
                )
            dense = np.zeros(size, np.float32)
            dense[idx] = v
            v = dense.reshape(shape)
        out.append(np.ascontiguousarray(v.reshape(tuple(shape)), dtype=np.float32))
    return out


def _server_state(arrays: Mapping[str, NDArray[Any]], spec: list[tuple[str, tuple[int, ...]]],
                  slots: list[str], meta: Mapping[str, Any]) -> ServerState | None:
    """The server optimiser state a weights file carries (None without slots)."""
    state = None
    if slots:
        state = ServerState(step=int(meta["server_step"]), slots={})
        for slot in slots:
            ts = []
            for name, shape in spec:
                t = np.ascontiguousarray(arrays[f"{name}:{slot}"], dtype=np.float32)
                if not np.isfinite(t).all():
                    raise NonFiniteError(f"server state {name}:{slot} holds NaN or Inf")
                ts.append(t.reshape(tuple(shape)))
            state.slots[slot] = ts
    return state


# -- helpers ------------------------------------------------------------------------------


def _expected_names(model_spec: Any) -> list[str]:
    return [n for n, _ in _expected(model_spec)]


def _check_against(tensors: Sequence[NDArray[Any]],
                   spec: list[tuple[str, tuple[int, ...]]]) -> None:
    if len(tensors) != len(spec):
        raise SchemaMismatchError(f"{len(tensors)} tensors given; the model spec has {len(spec)}")
    for t, (name, shape) in zip(tensors, spec, strict=False):
        if tuple(np.shape(t)) != shape:
            raise SchemaMismatchError(
                f"tensor {name!r} has shape {tuple(np.shape(t))}; expected {shape}"
            )
