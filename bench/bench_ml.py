"""Benchmarks of the learning engine; prints one JSON report on stdout.

Every ratio is against a baseline measured in the same process and run:

* ``training``: our TFF client-work path (:func:`train_local`, steady state inside a session)
  vs plain Keras ``fit`` of the same model on the same data and batches (target ≤ 1.5×).
* ``fedavg``: :class:`FedAvgAccumulator` throughput vs numpy adding the same bytes
  (``np.add(acc, d, out=acc)`` in float32; target ≥ 50%).
* ``encodings``: bytes per parameter of an update file and final accuracy of the same
  simulation with each encoding (target int8 ≤ 1.1 B/param, ≤ 0.5 pp accuracy loss).
* ``learning``: the default digits task (MLP 64→32→10, SGD lr 0.1, batch 32, one local epoch,
  10 IID contributors, 75/25 split): accuracy after 20 rounds (TFF reference 88.7%) and the
  first round at ≥ 94% within 60.

Usage: ``uv run python bench/bench_ml.py [--quick] [--out bench/results/ml.json]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def timeit(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall time of ``repeat`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_training(quick: bool) -> dict[str, Any]:
    from decentralml_client.ml._tf import tf
    from decentralml_client.ml.data import load_digits_split, partition_iid
    from decentralml_client.ml.model_spec import (
        build_model,
        default_digits_spec,
        make_initial_weights,
    )
    from decentralml_client.ml.tff_runtime import tff_session
    from decentralml_client.ml.train import train_local

    m = default_digits_spec()
    xtr, ytr, _, _ = load_digits_split(seed=0)
    w0 = make_initial_weights(m, 0)
    repeat = 5 if quick else 15
    out: dict[str, Any] = {}
    cases = {
        "contributor_shard": partition_iid(xtr, ytr, 10, seed=0)[0],
        "full_train_set": (xtr, ytr),
    }
    for name, (x, y) in cases.items():
        perm = np.random.default_rng(1).permutation(len(x))
        xs, ys = x[perm], y[perm]  # the order train_local(seed=1) uses
        with tff_session():
            ours = timeit(lambda: train_local(m, w0, x, y, seed=1), repeat)  # noqa: B023
        # Build the Keras model after TFF built its computations: Keras invalidates eager
        # models when another model is constructed inside a v1 graph, as TFF does.
        model = build_model(m)
        model.compile(
            optimizer=tf.keras.optimizers.SGD(learning_rate=m.learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )

        def keras_fit(model=model, xs=xs, ys=ys) -> None:
            model.set_weights(w0)
            model.fit(
                xs, ys, batch_size=m.batch_size, epochs=m.local_epochs, shuffle=False, verbose=0
            )

        base = timeit(keras_fit, repeat)
        out[name] = {
            "examples": len(x),
            "tff_seconds": ours,
            "keras_fit_seconds": base,
            "ratio": ours / base,
            "target_ratio_max": 1.5,
        }
    # a call outside any session pays for starting and stopping TFF's helper process
    x, y = cases["contributor_shard"]
    out["cold_call_seconds_including_worker_restart"] = timeit(
        lambda: train_local(m, w0, x, y, seed=1), 2 if quick else 3
    )
    return out


def bench_fedavg(quick: bool) -> dict[str, Any]:
    from decentralml_client.ml.aggregate import FedAvgAccumulator

    rng = np.random.default_rng(0)
    shapes = [(1024, 768), (768,), (768, 512), (512,)]
    n = 10 if quick else 20
    base = [np.zeros(s, np.float32) for s in shapes]
    deltas = [[rng.normal(size=s).astype(np.float32) for s in shapes] for _ in range(n)]
    params = sum(int(np.prod(s)) for s in shapes)
    nbytes = n * params * 4

    def ours() -> None:
        acc = FedAvgAccumulator(base)
        for i, d in enumerate(deltas):
            acc.add(d, 100 + i)
        acc.result()

    def numpy_add() -> None:
        acc = [np.zeros(s, np.float32) for s in shapes]
        for d in deltas:
            for a, t in zip(acc, d):
                np.add(a, t, out=a)

    def numpy_add_f64() -> None:
        acc = [np.zeros(s, np.float64) for s in shapes]
        for d in deltas:
            for a, t in zip(acc, d):
                np.add(a, t, out=a)

    repeat = 3 if quick else 9
    t_ours, t_np, t_np64 = (
        timeit(ours, repeat),
        timeit(numpy_add, repeat),
        timeit(numpy_add_f64, repeat),
    )
    return {
        "updates": n,
        "params_per_update": params,
        "bytes_aggregated": nbytes,
        "fedavg_seconds": t_ours,
        "numpy_add_seconds": t_np,
        "numpy_add_into_f64_seconds": t_np64,
        "fedavg_GBps": nbytes / t_ours / 1e9,
        "numpy_add_GBps": nbytes / t_np / 1e9,
        "throughput_fraction": t_np / t_ours,
        "throughput_fraction_vs_f64_accumulator": t_np64 / t_ours,
        "target_fraction_min": 0.5,
    }


def bench_encodings(quick: bool, curve: dict[str, Any]) -> dict[str, Any]:
    from decentralml_client.ml.codec import decode_tensors, encode_update
    from decentralml_client.ml.model_spec import default_digits_spec, mlp_spec
    from decentralml_client.ml.simulate import run_simulation

    rounds = 10 if quick else 20
    m = default_digits_spec()
    big = mlp_spec(784, (256, 128), 10)
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {"rounds": rounds}
    ref = None
    for enc, topk in (("f32", None), ("f16", None), ("int8", None), ("int8", 0.1)):
        label = enc if topk is None else f"{enc}+top{topk}"
        if enc == "f32" and curve.get("accuracy_at_20") is not None and rounds == 20:
            acc, bpu = curve["accuracy_at_20"], curve["bytes_per_update"]
        else:
            s = run_simulation(
                contributors=10, rounds=rounds, rule="fedavg", encoding=enc, topk=topk, seed=0
            )
            acc, bpu = s["final_accuracy"], s["bytes_per_update"]
        ref = acc if ref is None else ref
        d = [rng.normal(0, 0.01, w.shape).astype(np.float32) for w in big.weights]
        f = encode_update(
            d,
            big,
            task="1",
            round=1,
            base_model_hash="0x" + "00" * 32,
            num_examples=100,
            encoding=enc,
            topk=topk,
        )
        dec = decode_tensors(f, big)
        err = (
            max(float(np.max(np.abs(a - b))) for a, b in zip(d, dec.tensors))
            if topk is None
            else None
        )
        out[label] = {
            "digits_bytes_per_update": bpu,
            "digits_bytes_per_param": bpu / m.num_params,
            "digits_payload_bytes_per_param": {"f32": 4, "f16": 2, "int8": 1}[enc] * (topk or 1)
            + (4 * topk if topk else 0),
            "digits_final_accuracy": acc,
            "accuracy_change_pp": 100 * (acc - ref),
            "mlp784_bytes_per_param": len(f) / big.num_params,
            "mlp784_max_abs_error": err,
        }
    out["target"] = "int8: <= 1.1 bytes/param and >= -0.5 pp accuracy change"
    return out


def bench_learning(quick: bool) -> dict[str, Any]:
    from decentralml_client.ml.simulate import run_simulation

    rounds = 20 if quick else 60
    s = run_simulation(contributors=10, rounds=rounds, rule="fedavg", seed=0)
    accs = [r["accuracy"] for r in s["rounds"]]
    return {
        "rounds": rounds,
        "contributors": 10,
        "seed": 0,
        "accuracy_at_20": accs[20] if len(accs) > 20 else None,
        "tff_reference_accuracy_at_20": 0.887,
        "first_round_at_94": s["first_round_at_target"],
        "final_accuracy": s["final_accuracy"],
        "best_accuracy": s["best_accuracy"],
        "curve": [round(a, 4) for a in accs],
        "bytes_per_update": s["bytes_per_update"],
        "seconds": s["seconds"],
        "seconds_per_round": s["seconds"] / max(rounds, 1),
    }


def bench_tff_reference(quick: bool) -> dict[str, Any]:
    """TFF's own ``build_weighted_fed_avg`` on exactly the simulator's set-up (seed 0: same
    split, shards, initial weights and per-round batches), evaluated with our ``evaluate``."""
    from decentralml_client.ml.data import load_digits_split, partition_iid
    from decentralml_client.ml.evaluate import evaluate
    from decentralml_client.ml.model_spec import default_digits_spec, make_initial_weights
    from decentralml_client.ml.tff_runtime import tff, tff_session
    from decentralml_client.ml.train import client_optimizer, keras_model_fn, make_client_dataset

    seed, rounds = 0, 20
    m = default_digits_spec(seed)
    xtr, ytr, xte, yte = load_digits_split(0.25, seed=seed)
    shards = partition_iid(xtr, ytr, 10, seed=seed)
    w0 = make_initial_weights(m, seed)
    t0 = time.perf_counter()
    with tff_session():
        proc = tff.learning.algorithms.build_weighted_fed_avg(
            keras_model_fn(m),
            client_optimizer_fn=client_optimizer(m),
            server_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate=1.0),
        )
        state = proc.initialize()
        state = proc.set_model_weights(
            state, tff.learning.models.ModelWeights(trainable=tuple(w0), non_trainable=())
        )
        curve = [evaluate(m, w0, xte, yte)["accuracy"]]
        for r in range(1, rounds + 1):
            data = [
                make_client_dataset(m, x, y, seed * 1_000_003 + r * 1009 + i)
                for i, (x, y) in enumerate(shards)
            ]
            state = proc.next(state, data).state
            w = [np.asarray(t) for t in proc.get_model_weights(state).trainable]
            curve.append(evaluate(m, w, xte, yte)["accuracy"])
    return {
        "what": "tff.learning.algorithms.build_weighted_fed_avg, same seed-0 set-up as simulate",
        "rounds": rounds,
        "accuracy_at_20": curve[20],
        "curve": [round(a, 4) for a in curve],
        "seconds": time.perf_counter() - t0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats and rounds")
    ap.add_argument("--out", type=Path, help="also write the report to this file")
    ap.add_argument(
        "--only", nargs="*", default=None, help="training fedavg learning encodings tff_reference"
    )
    ap.add_argument("--merge", action="store_true", help="update the sections of an existing --out")
    args = ap.parse_args()
    only = set(args.only or ["training", "fedavg", "learning", "encodings", "tff_reference"])
    report: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpu_count": __import__("os").cpu_count(),
            "platform": platform.platform(),
        },
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": args.quick,
    }
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(sys.__stderr__ or sys.stderr):
        if "fedavg" in only:
            report["fedavg"] = bench_fedavg(args.quick)
        if "training" in only:
            report["training"] = bench_training(args.quick)
        if "learning" in only:
            report["learning"] = bench_learning(args.quick)
        if "encodings" in only:
            report["encodings"] = bench_encodings(args.quick, report.get("learning", {}))
        if "tff_reference" in only:
            report["tff_reference"] = bench_tff_reference(args.quick)
    if args.merge and args.out and args.out.exists():
        old = json.loads(args.out.read_text())
        sections = {k: report[k] for k in only if k in report}
        merged = old.get("merged_sections", {})
        merged.update({k: report["started"] for k in sections})
        report = {**old, **sections, "merged_sections": merged}
    report["seconds"] = round(time.perf_counter() - t0, 1)
    text = json.dumps(report, indent=2, sort_keys=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
