"""The tensor file's header and layout, checked before anything decodes its data (the
format :mod:`decentralml_client.ml.codec` writes)."""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

from decentralml_client.ml.errors import (
    CodecError,
    MalformedFileError,
    OversizeError,
    SchemaMismatchError,
)

FILE_FORMAT = "decentralml-tensors/1"
KINDS = ("weights", "delta")
ENCODINGS = ("f32", "f16", "int8")
#: Default refusal threshold for :func:`decode_tensors` (64 MiB).
DEFAULT_MAX_BYTES = 64 << 20
MAX_HEADER = 1 << 20
IDX = ":idx"
DTYPE_TAG = {"f32": "F32", "f16": "F16", "int8": "I8"}
NP_DTYPE: dict[str, np.dtype[Any]] = {
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I8": np.dtype("i1"),
    "I32": np.dtype("<i4"),
}
REQUIRED_META = ("format", "kind", "encoding", "task", "round", "base_model_hash", "num_examples")
#: Server optimiser state slots a weights file may carry (see ``server_opt``).
SLOT_NAMES = frozenset({"m", "v"})


def no_dupes(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d: dict[str, Any] = {}
    for k, v in pairs:
        if k in d:
            raise ValueError(f"duplicate key {k!r}")
        d[k] = v
    return d


def nonneg_int(v: Any, what: str, err: type[Exception]) -> int:
    if isinstance(v, bool):
        raise err(f"{what} must be an integer >= 0, got {v!r}")
    if isinstance(v, str) and v.isdigit() and (v == "0" or not v.startswith("0")):
        return int(v)
    if isinstance(v, (int, np.integer)) and v >= 0:
        return int(v)
    raise err(f"{what} must be an integer >= 0, got {v!r}")


def parse_meta(raw: Any, encodings: Sequence[str]) -> dict[str, Any]:
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise MalformedFileError("__metadata__ is missing or its values are not all strings")
    missing = [k for k in REQUIRED_META if k not in raw]
    extra = sorted(set(raw) - set(REQUIRED_META)
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
    meta["round"] = nonneg_int(raw["round"], "metadata.round", SchemaMismatchError)
    meta["num_examples"] = nonneg_int(
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
        meta["server_step"] = nonneg_int(raw["server_step"], "metadata.server_step",
                                          SchemaMismatchError)
        slots = raw["server_slots"].split(",") if raw["server_slots"] else []
        if slots != sorted(set(slots)) or not set(slots) <= SLOT_NAMES:
            raise SchemaMismatchError(
                f"metadata.server_slots {raw['server_slots']!r} must be sorted names from "
                f"{sorted(SLOT_NAMES)}"
            )
    meta["server_slots"] = slots
    return meta


def expected_shapes(expected: Any) -> list[tuple[str, tuple[int, ...]]]:
    """``[(name, shape)]`` of a model spec or of such a list."""
    if hasattr(expected, "weights") and hasattr(expected, "weight_names"):
        return [(w.name, tuple(w.shape)) for w in expected.weights]
    try:
        return [(str(n), tuple(int(d) for d in s)) for n, s in expected]
    except (TypeError, ValueError):
        raise CodecError(
            "expected must be a ModelManifest or a sequence of (name, shape)"
        ) from None


def topk_count(size: int, topk: float) -> int:
    """Entries kept per tensor of ``size`` entries at fraction ``topk`` (at least one)."""
    return max(1, min(size, math.ceil(topk * size - 1e-9)))


def read_file(data: bytes, expected: Any, *, max_bytes: int, kind: str | None,
              encodings: Sequence[str]
              ) -> tuple[bytes, dict[str, Any], list[tuple[str, tuple[int, ...]]]]:
    """Check a tensor file's header and layout against ``expected`` before anything decodes
    its data: (the bytes, the metadata, the expected shapes)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise MalformedFileError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise OversizeError(f"file is {len(data)} bytes; the limit is {max_bytes}")
    if len(data) < 8:
        raise MalformedFileError("file is shorter than the 8-byte safetensors header length")
    (hlen,) = struct.unpack("<Q", data[:8])
    if hlen > MAX_HEADER:
        raise OversizeError(f"header is {hlen} bytes; the limit is {MAX_HEADER}")
    if 8 + hlen > len(data):
        raise MalformedFileError(
            f"header length {hlen} runs past the end of the {len(data)}-byte file"
        )
    try:
        header = json.loads(data[8 : 8 + hlen].decode("utf-8"), object_pairs_hook=no_dupes)
    except (UnicodeDecodeError, ValueError) as e:
        raise MalformedFileError(f"header is not valid UTF-8 JSON: {e}") from None
    if not isinstance(header, dict):
        raise MalformedFileError("header is not a JSON object")
    meta = parse_meta(header.pop("__metadata__", None), encodings)
    if kind is not None and meta["kind"] != kind:
        raise SchemaMismatchError(f"file kind is {meta['kind']!r}; expected {kind!r}")

    spec = expected_shapes(expected)
    enc, topk = meta["encoding"], meta["topk"]
    slots: list[str] = meta["server_slots"]
    want: dict[str, tuple[str, list[int]]] = {}
    for name, shape in spec:
        if topk is None:
            want[name] = (DTYPE_TAG[enc], list(shape))
        else:
            k = topk_count(int(math.prod(shape)), topk)
            want[name] = (DTYPE_TAG[enc], [k])
            want[name + IDX] = ("I32", [k])
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
        size = int(math.prod(want_shape)) * NP_DTYPE[dtype].itemsize
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

    return data, meta, spec
