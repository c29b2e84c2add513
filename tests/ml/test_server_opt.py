"""Server optimisers: hand-computed steps, the chain form, the state in the weights file, and
byte-identical aggregates across processes for every rule and optimiser."""

from __future__ import annotations

import json
import math
import struct
import subprocess
import sys

import numpy as np
import pytest

from decentralml_client.ml.aggregate import aggregate, next_model
from decentralml_client.ml.codec import decode_tensors, encode_weights, file_hash
from decentralml_client.ml.errors import AggregationError, SchemaMismatchError
from decentralml_client.ml.server_opt import ServerOptimizer, ServerState, apply, init_state

SPEC = [("w", (2,)), ("b", (1,))]
BASE = [np.array([1.0, -2.0], np.float32), np.array([0.5], np.float32)]
DELTA = [np.array([0.1, -0.3]), np.array([0.0])]


def test_none_is_plain_fedavg_bit_for_bit() -> None:
    rng = np.random.default_rng(0)
    base = [rng.normal(size=(5, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)]
    deltas = [[rng.normal(size=(5, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)]
              for _ in range(4)]
    for rule in ("FedAvg", {"TrimmedMean": {"beta": 250_000}}, "Median",
                 {"MultiKrum": {"byzantine": 1, "keep": 2}}):
        plain = aggregate(rule, base, deltas, [3, 5, 7, 11])
        ours, state = next_model(rule, "None", base, None, deltas, [3, 5, 7, 11])
        assert [a.tobytes() for a in ours] == [a.tobytes() for a in plain]
        assert state.slots == {} and state.step == 0


def test_momentum_step_by_hand() -> None:
    opt = ServerOptimizer("momentum", lr=0.5, momentum=0.9)
    w1, s1 = apply(opt, BASE, DELTA)
    # m = 0.9*0 + g = -Δ; w = w - 0.5*m
    assert np.allclose(w1[0], [1.05, -2.15]) and np.allclose(s1.slots["m"][0], [-0.1, 0.3])
    w2, s2 = apply(opt, w1, DELTA, s1)
    # m = 0.9*(-0.1) - 0.1 = -0.19; w = 1.05 + 0.095
    assert np.allclose(s2.slots["m"][0][0], -0.19) and np.allclose(w2[0][0], 1.145)
    assert s2.step == 2


@pytest.mark.parametrize("kind", ["adam", "yogi"])
def test_adam_and_yogi_steps_by_hand(kind: str) -> None:
    opt = ServerOptimizer(kind, lr=0.1, beta1=0.9, beta2=0.99, tau=1e-3)
    w, s = BASE, None
    m = v = None
    ref = np.asarray(BASE[0], np.float64)
    for t in (1, 2):
        w, s = apply(opt, w, DELTA, s)
        g = -np.asarray(DELTA[0])
        m = (1 - 0.9) * g if m is None else m + (g - m) * (1 - 0.9)
        v0 = np.zeros(2) if kind == "adam" else np.full(2, float(np.float32(1e-6)))
        vp = v0 if v is None else v
        if kind == "adam":
            v = vp + (g * g - vp) * (1 - 0.99)
        else:
            v = vp + 0.01 * np.sign(g * g - vp) * g * g
        eta = 0.1 * math.sqrt(1 - 0.99**t) / (1 - 0.9**t)
        ref = ref - eta * m / (np.sqrt(v) + 1e-3)
        assert np.allclose(w[0], ref, atol=1e-6), (t, w[0], ref)
        assert s.step == t
    # an adaptive step moves every coordinate by about lr, whatever the delta's scale
    assert np.allclose(np.abs(w[0] - BASE[0]), 0.2, atol=0.02)


def test_chain_form_round_trips_and_checks() -> None:
    for opt in (ServerOptimizer(), ServerOptimizer("momentum", lr=1.0, momentum=0.9),
                ServerOptimizer("adam", lr=0.01, beta1=0.9, beta2=0.99, tau=1e-3),
                ServerOptimizer("yogi", lr=0.03, beta1=0.9, beta2=0.999, tau=1e-7)):
        assert ServerOptimizer.from_chain(opt.to_chain()) == opt
    assert ServerOptimizer.from_chain(None) == ServerOptimizer()
    assert ServerOptimizer.from_chain("None").kind == "none"
    assert ServerOptimizer("adam", lr=0.01, tau=1e-3).to_chain() == {
        "Adam": {"lr": 10_000, "beta1": 900_000, "beta2": 990_000, "tau": 1_000_000}}
    with pytest.raises(AggregationError):
        ServerOptimizer.from_chain({"Adam": {"lr": 1}})
    with pytest.raises(AggregationError):
        ServerOptimizer("adam", tau=0.0)
    with pytest.raises(AggregationError):
        ServerOptimizer("momentum", momentum=1.0)


def test_state_travels_in_the_weights_file_and_is_checked() -> None:
    opt = ServerOptimizer("adam", lr=0.01)
    w, s = apply(opt, BASE, DELTA)
    data = encode_weights(w, SPEC, task="1", round=1, base_model_hash="0x00", server_state=s)
    dec = decode_tensors(data, SPEC, kind="weights")
    assert dec.server_state is not None and dec.server_state.step == 1
    for slot in ("m", "v"):
        assert [a.tobytes() for a in dec.server_state.slots[slot]] == [
            np.asarray(a, np.float32).tobytes() for a in s.slots[slot]]
    # without state, a weights file is exactly what it was before server optimisers existed
    plain = encode_weights(w, SPEC, task="1", round=1, base_model_hash="0x00")
    assert decode_tensors(plain, SPEC, kind="weights").server_state is None
    assert encode_weights(w, SPEC, task="1", round=1, base_model_hash="0x00",
                          server_state=ServerState()) == plain
    # a file whose state does not fit the task's optimiser is refused
    with pytest.raises(AggregationError):
        apply(ServerOptimizer("momentum", lr=1.0, momentum=0.9), w, DELTA, dec.server_state)
    # state tensors without the metadata naming them are refused
    with pytest.raises(SchemaMismatchError):
        decode_tensors(_drop_meta(data, "server_slots", "server_step"), SPEC, kind="weights")
    with pytest.raises(SchemaMismatchError):  # slot names without their step
        decode_tensors(_drop_meta(data, "server_step"), SPEC, kind="weights")


def _drop_meta(data: bytes, *keys: str) -> bytes:
    (hlen,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + hlen])
    for k in keys:
        del header["__metadata__"][k]
    h = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data[8 + hlen :]


def test_yogi_starts_from_tau_squared() -> None:
    st = init_state(ServerOptimizer("yogi", tau=1e-3), BASE)
    assert np.all(st.slots["v"][0] == np.float32(1e-6)) and np.all(st.slots["m"][0] == 0)


_SCRIPT = r"""
import json, sys
import numpy as np
from decentralml_client.ml.aggregate import next_model
from decentralml_client.ml.codec import encode_weights, file_hash
from decentralml_client.ml.server_opt import ServerOptimizer
spec = [("k", (16, 8)), ("b", (8,))]
rng = np.random.default_rng(7)
base = [rng.normal(size=s).astype(np.float32) for _, s in spec]
rounds = [[[rng.normal(scale=0.1, size=s).astype(np.float32) for _, s in spec]
           for _ in range(5)] for _ in range(3)]
out = {}
for rule in json.loads(sys.argv[1]):
    for opt in json.loads(sys.argv[2]):
        w, state = base, None
        for r, deltas in enumerate(rounds):
            w, state = next_model(rule, opt, w, state, deltas, [10, 20, 30, 40, 50])
            data = encode_weights(w, spec, task="t", round=r + 1, base_model_hash="",
                                  server_state=state)
        out[json.dumps([rule, opt], sort_keys=True)] = file_hash(data)
print(json.dumps(out, sort_keys=True))
"""

RULES = ["FedAvg", {"TrimmedMean": {"beta": 200_000}}, "Median",
         {"MultiKrum": {"byzantine": 1, "keep": 3}}]
OPTS = [o.to_chain() for o in (
    ServerOptimizer(), ServerOptimizer("momentum", lr=1.0, momentum=0.9),
    ServerOptimizer("adam", lr=0.01), ServerOptimizer("yogi", lr=0.01))]


def test_two_processes_produce_identical_aggregate_bytes_for_every_rule_and_optimizer() -> None:
    args = [sys.executable, "-c", _SCRIPT, json.dumps(RULES), json.dumps(OPTS)]
    a = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
    b = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
    assert a == b and len(a) == len(RULES) * len(OPTS)
    assert len(set(a.values())) == len(a)  # every combination gives a different model
    assert all(h.startswith("0x") and len(h) == 66 for h in a.values())
    assert file_hash(b"") != a[next(iter(a))]
