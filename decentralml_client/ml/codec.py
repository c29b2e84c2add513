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
from decentralml_client.ml.errors import (
    CodecError,
    MalformedFileError,
    NonFiniteError,
    OversizeError,
    SchemaMismatchError,
)
from decentralml_client.ml.server_opt import ServerState

FILE_FORMAT = "decentralml-tensors/1"
KINDS = ("weights", "delta")
ENCODINGS = ("f32", "f16", "int8")
#: Default refusal threshold for :func:`decode_tensors` (64 MiB).
DEFAULT_MAX_BYTES = 64 << 20
_MAX_HEADER = 1 << 20
_IDX = ":idx"
_DTYPE_TAG = {"f32": "F32", "f16": "F16", "int8": "I8"}
_NP_DTYPE: dict[str, np.dtype[Any]] = {
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I8": np.dtype("i1"),
    "I32": np.dtype("<i4"),
}
_REQUIRED_META = ("format", "kind", "encoding", "task", "round", "base_model_hash", "num_examples")
_F16_MAX = float(np.finfo(np.float16).max)
#: Server optimiser state slots a weights file may carry (see ``server_opt``).
_SLOT_NAMES = frozenset({"m", "v"})

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


def topk_count(size: int, topk: float) -> int:
    """Entries kept per tensor of ``size`` entries at fraction ``topk`` (at least one)."""
    return max(1, min(size, math.ceil(topk * size - 1e-9)))


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
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise MalformedFileError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise OversizeError(f"file is {len(data)} bytes; the limit is {max_bytes}")
    if len(data) < 8:
        raise MalformedFileError("file is shorter than the 8-byte safetensors header length")
    (hlen,) = struct.unpack("<Q", data[:8])
    if hlen > _MAX_HEADER:
        raise OversizeError(f"header is {hlen} bytes; the limit is {_MAX_HEADER}")
    if 8 + hlen > len(data):
        raise MalformedFileError(
            f"header length {hlen} runs past the end of the {len(data)}-byte file"
        )
    try:
        header = json.loads(data[8 : 8 + hlen].decode("utf-8"), object_pairs_hook=_no_dupes)
    except (UnicodeDecodeError, ValueError) as e:
        raise MalformedFileError(f"header is not valid UTF-8 JSON: {e}") from None
    if not isinstance(header, dict):
        raise MalformedFileError("header is not a JSON object")
    meta = _parse_meta(header.pop("__metadata__", None), encodings)
    if kind is not None and meta["kind"] != kind:
        raise SchemaMismatchError(f"file kind is {meta['kind']!r}; expected {kind!r}")

    spec = _expected(expected)
    enc, topk = meta["encoding"], meta["topk"]
    slots: list[str] = meta.pop("server_slots")
    want: dict[str, tuple[str, list[int]]] = {}
    for name, shape in spec:
        if topk is None:
            want[name] = (_DTYPE_TAG[enc], list(shape))
        else:
            k = topk_count(int(math.prod(shape)), topk)
            want[name] = (_DTYPE_TAG[enc], [k])
            want[name + _IDX] = ("I32", [k])
        for slot in slots:
            want[f"{name}:{slot}"] = ("F32", list(shape))
    missing = [n for n in want if n not in header]
    extra = sorted(n for n in header if n not in want)
    if missing or extra:
        raise SchemaMismatchError(
            f"tensor names do not match the model spec: missing {missing}, unexpected {extra}"
        )
    spans: list[tuple[int, int, str]] = []
    for name, (dtype, want_shape) in want.items():
        info = header[name]
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise MalformedFileError(
                f"tensor {name!r}: header entry must have dtype, shape, data_offsets"
            )
        if info["dtype"] != dtype:
            raise SchemaMismatchError(
                f"tensor {name!r} has dtype {info['dtype']}; encoding {enc!r} needs {dtype}"
            )
        if info["shape"] != want_shape:
            raise SchemaMismatchError(
                f"tensor {name!r} has shape {info['shape']}; expected {want_shape}"
            )
        off = info["data_offsets"]
        if not (isinstance(off, list) and len(off) == 2 and all(isinstance(o, int) for o in off)):
            raise MalformedFileError(f"tensor {name!r}: bad data_offsets {off!r}")
        size = int(math.prod(want_shape)) * _NP_DTYPE[dtype].itemsize
        if off[1] - off[0] != size:
            raise MalformedFileError(
                f"tensor {name!r}: data_offsets {off} do not hold {size} bytes"
            )
        spans.append((off[0], off[1], name))
    spans.sort()
    pos, body = 0, len(data) - 8 - hlen
    for start, end, name in spans:
        if start != pos:
            raise MalformedFileError(f"tensor {name!r}: data is not contiguous (gap or overlap)")
        pos = end
    if pos != body:
        raise MalformedFileError(f"{body - pos} trailing bytes after the last tensor")

    try:
        from safetensors.numpy import load

        arrays = load(data)
    except Exception as e:  # safetensors raises SafetensorError / ValueError variants
        raise MalformedFileError(f"safetensors refused the file: {e}") from None

    scales = meta.pop("int8_scales")
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
    return DecodedUpdate(tensors=out, meta=meta, nbytes=len(data), hash=blake2_256_hex(data),
                         server_state=state)


# -- helpers ------------------------------------------------------------------------------


def _no_dupes(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d: dict[str, Any] = {}
    for k, v in pairs:
        if k in d:
            raise ValueError(f"duplicate key {k!r}")
        d[k] = v
    return d


def _nonneg_int(v: Any, what: str, err: type[Exception]) -> int:
    if isinstance(v, bool):
        raise err(f"{what} must be an integer >= 0, got {v!r}")
    if isinstance(v, str) and v.isdigit() and (v == "0" or not v.startswith("0")):
        return int(v)
    if isinstance(v, (int, np.integer)) and v >= 0:
        return int(v)
    raise err(f"{what} must be an integer >= 0, got {v!r}")


def _parse_meta(raw: Any, encodings: Sequence[str]) -> dict[str, Any]:
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise MalformedFileError("__metadata__ is missing or its values are not all strings")
    missing = [k for k in _REQUIRED_META if k not in raw]
    extra = sorted(set(raw) - set(_REQUIRED_META)
                   - {"topk", "int8_scales", "server_step", "server_slots"})
    if missing or extra:
        raise SchemaMismatchError(f"metadata: missing {missing}, unexpected {extra}")
    if raw["format"] != FILE_FORMAT:
        raise SchemaMismatchError(f"metadata.format is {raw['format']!r}; expected {FILE_FORMAT!r}")
    if raw["kind"] not in KINDS:
        raise SchemaMismatchError(f"metadata.kind {raw['kind']!r} not in {KINDS}")
    if raw["encoding"] not in ENCODINGS or raw["encoding"] not in encodings:
        raise SchemaMismatchError(
            f"metadata.encoding {raw['encoding']!r} not in {tuple(encodings)}"
        )
    meta: dict[str, Any] = dict(raw)
    meta["round"] = _nonneg_int(raw["round"], "metadata.round", SchemaMismatchError)
    meta["num_examples"] = _nonneg_int(
        raw["num_examples"], "metadata.num_examples", SchemaMismatchError
    )
    topk = None
    if "topk" in raw:
        try:
            topk = float(raw["topk"])
        except ValueError:
            topk = -1.0
        if not 0.0 < topk <= 1.0 or raw["kind"] != "delta":
            raise SchemaMismatchError(
                f"metadata.topk {raw['topk']!r} is not a fraction in (0, 1] of a delta"
            )
    meta["topk"] = topk
    scales = None
    if "int8_scales" in raw:
        try:
            scales = json.loads(raw["int8_scales"])
        except ValueError:
            scales = None
        if not (isinstance(scales, list) and all(isinstance(s, (int, float)) for s in scales)):
            raise SchemaMismatchError("metadata.int8_scales must be a JSON list of numbers")
    meta["int8_scales"] = scales
    slots: list[str] = []
    if ("server_step" in raw) != ("server_slots" in raw):
        raise SchemaMismatchError("metadata: server_step and server_slots go together")
    if "server_step" in raw:
        if raw["kind"] != "weights":
            raise SchemaMismatchError("metadata: server optimiser state in a delta file")
        meta["server_step"] = _nonneg_int(raw["server_step"], "metadata.server_step",
                                          SchemaMismatchError)
        slots = raw["server_slots"].split(",") if raw["server_slots"] else []
        if slots != sorted(set(slots)) or not set(slots) <= _SLOT_NAMES:
            raise SchemaMismatchError(
                f"metadata.server_slots {raw['server_slots']!r} must be sorted names from "
                f"{sorted(_SLOT_NAMES)}"
            )
    meta["server_slots"] = slots
    return meta


def _expected(expected: Any) -> list[tuple[str, tuple[int, ...]]]:
    if hasattr(expected, "weights") and hasattr(expected, "weight_names"):
        return [(w.name, tuple(w.shape)) for w in expected.weights]
    try:
        return [(str(n), tuple(int(d) for d in s)) for n, s in expected]
    except (TypeError, ValueError):
        raise CodecError(
            "expected must be a ModelManifest or a sequence of (name, shape)"
        ) from None


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
