"""Update/weights files: deterministic bytes, strict refusals (PROTOCOL §4)."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from safetensors.numpy import load as st_load

from decentralml_client.ml.codec import (
    DecodedUpdate,
    decode_tensors,
    encode_tensors,
    encode_update,
    encode_weights,
    file_hash,
)
from decentralml_client.ml.errors import (
    CodecError,
    MalformedFileError,
    NonFiniteError,
    OversizeError,
    SchemaMismatchError,
)
from decentralml_client.ml.model_spec import default_digits_spec, make_initial_weights

M = default_digits_spec()
META = {"task": "7", "round": 3, "base_model_hash": "0x" + "ab" * 32, "num_examples": 135}


def delta(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 0.05, w.shape).astype(np.float32) for w in M.weights]


def enc(d: list[np.ndarray], **kw) -> bytes:
    args = {
        "task": "7",
        "round": 3,
        "base_model_hash": META["base_model_hash"],
        "num_examples": 135,
    }
    args.update(kw)
    return encode_update(d, M, **args)


@pytest.mark.parametrize("encoding,tol", [("f32", 0.0), ("f16", 1e-3), ("int8", 0.25 / 127)])
def test_round_trip_each_encoding(encoding: str, tol: float) -> None:
    d = delta()
    data = enc(d, encoding=encoding)
    out = decode_tensors(data, M, kind="delta")
    assert isinstance(out, DecodedUpdate)
    assert out.meta["encoding"] == encoding and out.meta["round"] == 3 and out.num_examples == 135
    assert out.meta["task"] == "7" and out.meta["base_model_hash"] == META["base_model_hash"]
    for a, b in zip(d, out.tensors):
        assert b.dtype == np.float32 and b.shape == a.shape
        np.testing.assert_allclose(b, a, atol=tol * max(1.0, float(np.abs(a).max()) * 4), rtol=0)
    assert out.hash == file_hash(data)
    # the reference parser reads our files
    assert set(st_load(data)) == set(M.weight_names)


def test_int8_size_and_scale() -> None:
    d = delta()
    data = enc(d, encoding="int8")
    payload = M.num_params  # one byte per parameter
    assert payload <= len(data) <= payload + 1024
    out = decode_tensors(data, M)
    for a, b in zip(d, out.tensors):
        assert np.max(np.abs(a - b)) <= np.abs(a).max() / 127 / 2 + 1e-7


def test_topk_keeps_largest_entries() -> None:
    d = delta()
    data = enc(d, topk=0.1)
    out = decode_tensors(data, M)
    for a, b in zip(d, out.tensors):
        k = max(1, int(np.ceil(0.1 * a.size)))
        assert np.count_nonzero(b) == k
        kept = np.abs(a).reshape(-1)[np.flatnonzero(b.reshape(-1))]
        assert kept.min() >= np.sort(np.abs(a).reshape(-1))[-k] - 1e-9
    with pytest.raises(CodecError, match="deltas only"):
        encode_tensors(d, names=M.weight_names, kind="weights", topk=0.5, meta=META)


def test_same_input_same_bytes_in_process() -> None:
    for encoding in ("f32", "f16", "int8"):
        assert enc(delta(), encoding=encoding) == enc(delta(), encoding=encoding)
    w = make_initial_weights(M, 0)
    assert encode_weights(w, M, task="", round=0, base_model_hash="") == encode_weights(
        [x.copy() for x in w], M, task="", round=0, base_model_hash=""
    )


_SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    from decentralml_client.ml.codec import encode_update, file_hash
    from decentralml_client.ml.model_spec import default_digits_spec
    m = default_digits_spec()
    rng = np.random.default_rng(0)
    d = [rng.normal(0, 0.05, w.shape).astype(np.float32) for w in m.weights]
    for e in ("f32", "f16", "int8"):
        for k in (None, 0.1):
            b = encode_update(d, m, task="7", round=3, base_model_hash="0x" + "ab" * 32,
                              num_examples=135, encoding=e, topk=k)
            print(e, k, len(b), file_hash(b))
    print("manifest", m.hash())
""")


def test_determinism_across_two_processes() -> None:
    runs = [
        subprocess.run(
            [sys.executable, "-c", _SCRIPT],
            capture_output=True,
            text=True,
            timeout=120,
            env={"PYTHONHASHSEED": str(seed), "PATH": "/usr/bin:/bin"},
            check=False,
        )
        for seed in (1, 2)
    ]
    for r in runs:
        assert r.returncode == 0, r.stderr
    assert runs[0].stdout == runs[1].stdout
    lines = runs[0].stdout.splitlines()
    assert len(lines) == 7
    # and the same bytes as this process
    d = delta()
    assert lines[0].split()[-1] == file_hash(enc(d, encoding="f32"))
    assert lines[-1] == f"manifest {M.hash()}"


def test_header_is_canonical_json() -> None:
    data = enc(delta())
    (n,) = struct.unpack("<Q", data[:8])
    assert n % 8 == 0
    text = data[8 : 8 + n].decode().rstrip(" ")
    header = json.loads(text)
    assert text == json.dumps(header, sort_keys=True, separators=(",", ":"))
    assert header["__metadata__"]["kind"] == "delta"


def test_refuses_nan_and_inf() -> None:
    for bad in (np.nan, np.inf, -np.inf):
        d = delta()
        d[2][0, 0] = bad
        with pytest.raises(NonFiniteError):
            enc(d)
        for encoding in ("f32", "f16", "int8"):
            data = enc(d, encoding=encoding, allow_nonfinite=True)
            with pytest.raises(NonFiniteError, match="NaN or Inf|not finite"):
                decode_tensors(data, M)


def test_refuses_wrong_names_shapes_and_dtypes() -> None:
    d = delta()
    names = list(M.weight_names)
    renamed = encode_tensors(d, names=[*names[:-1], "evil/bias"], kind="delta", meta=META)
    with pytest.raises(
        SchemaMismatchError, match="missing \\['output/bias'\\], unexpected \\['evil/bias'\\]"
    ):
        decode_tensors(renamed, M)
    transposed = [d[0].T.copy(), *d[1:]]
    wrong_shape = encode_tensors(transposed, names=names, kind="delta", meta=META)
    with pytest.raises(SchemaMismatchError, match="shape \\[32, 64\\]; expected \\[64, 32\\]"):
        decode_tensors(wrong_shape, M)
    with pytest.raises(SchemaMismatchError, match="shape"):
        enc(transposed)
    # an F16 tensor in a file that claims f32
    data = enc(d, encoding="f16")
    forged = data.replace(b'"encoding":"f16"', b'"encoding":"f32"')
    with pytest.raises(SchemaMismatchError, match="dtype F16; encoding 'f32' needs F32"):
        decode_tensors(forged, M)
    with pytest.raises(CodecError, match="float"):
        encode_tensors([np.zeros(3, np.int32)], names=["a"], kind="delta", meta=META)


def test_refuses_wrong_kind_missing_meta_and_garbage() -> None:
    data = enc(delta())
    with pytest.raises(SchemaMismatchError, match="kind is 'delta'; expected 'weights'"):
        decode_tensors(data, M, kind="weights")
    with pytest.raises(MalformedFileError):
        decode_tensors(b"\x00" * 4, M)
    with pytest.raises(MalformedFileError, match="runs past"):
        decode_tensors(struct.pack("<Q", 999) + b"{}", M)
    with pytest.raises(MalformedFileError, match="JSON"):
        decode_tensors(struct.pack("<Q", 8) + b"not json", M)
    with pytest.raises(MalformedFileError, match="trailing"):
        decode_tensors(data + b"\x00" * 8, M)
    stripped = data.replace(b'"num_examples":"135"', b'"num_exampleX":"135"')
    with pytest.raises(SchemaMismatchError, match="metadata: missing \\['num_examples'\\]"):
        decode_tensors(stripped, M)
    with pytest.raises(CodecError, match="meta is missing"):
        encode_tensors(delta(), names=M.weight_names, kind="delta", meta={"task": "1"})


def test_refuses_oversize() -> None:
    data = enc(delta())
    with pytest.raises(OversizeError, match=f"file is {len(data)} bytes; the limit is 1000"):
        decode_tensors(data, M, max_bytes=1000)
    with pytest.raises(OversizeError, match="header"):
        decode_tensors(struct.pack("<Q", 1 << 40) + b"{}", M)


def test_f16_overflow_refused_on_encode() -> None:
    d = delta()
    d[1][0] = 1e6
    with pytest.raises(CodecError, match="f16 range"):
        enc(d, encoding="f16")
