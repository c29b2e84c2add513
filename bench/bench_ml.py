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
* ``rules``: rounds to 90% and 94% on digits (10 contributors, one local epoch; IID and
  Dirichlet α = 0.5 and 0.1; seeds 0–2) for every rule — FedAvg, FedAvgM, FedAdam, FedYogi,
  FedProx — with our engine (``train_local``, update files, :func:`next_model` with the
  task's example weights, ``--example-weighting median-capped|claimed``, the optimiser state
  carried through each round's weights file) beside TFF's own ``build_weighted_fed_avg`` with
  the matching server optimiser (FedProx: ``build_weighted_fed_prox``, whose proximal term has
  the opposite sign of ours) on the same shards, batches and initial weights, in the same run;
  one chart per partition (``rules-*.png`` beside ``--out``). Targets: 94% within 20 rounds
  IID with the best rule, within 40 at α = 0.5; every rule within 0.5 pp of TFF at equal
  rounds (with ``claimed``, TFF's weighting).

Usage: ``uv run python bench/bench_ml.py [--quick] [--out bench/results/ml.json]``; the rules
tables of docs/ml.md: ``--only rules --merge --out bench/results/ml.json`` and ``--only rules
--example-weighting claimed --out bench/results/ml-rules-claimed.json``.
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


#: The rules the ``rules`` section compares (tuned on IID seed 0; see docs/ml.md).
RULES: dict[str, dict[str, Any]] = {
    "fedavg": {"server": ("none", {})},
    "fedavgm": {"server": ("momentum", {"lr": 1.0, "momentum": 0.9})},
    "fedadam": {"server": ("adam", {"lr": 0.1, "beta1": 0.9, "beta2": 0.99, "tau": 1e-3})},
    "fedyogi": {"server": ("yogi", {"lr": 0.1, "beta1": 0.9, "beta2": 0.99, "tau": 1e-3})},
    "fedprox": {"server": ("none", {}), "prox_mu": 0.01},
}
PARTITIONS = {"iid": None, "dirichlet-0.5": 0.5, "dirichlet-0.1": 0.1}
#: Rounds run per partition at most (the targets: 94% within 20 IID, within 40 at α = 0.5).
MAX_ROUNDS = {"iid": 25, "dirichlet-0.5": 40, "dirichlet-0.1": 30}


def _first(curve: list[float], target: float) -> int | None:
    return next((r for r, a in enumerate(curve) if a >= target), None)


def run_rule_pair(name: str, partition: str, seed: int, rounds: int, *,
                  contributors: int = 10, stop_after: int | None = 10,
                  weighting: str = "median-capped") -> dict[str, Any]:
    """Ours and TFF's accuracy curves for one rule, partition and seed (same shards, initial
    weights and per-round batches). Both stop early once both reached 94% and ``stop_after``
    rounds ran. ``weighting`` is the task's example weighting: ``median-capped`` (the default:
    no claim above the round's median) or ``claimed`` (the counts as claimed, as TFF weights;
    the two differ only when shard sizes differ, i.e. non-IID)."""
    from dataclasses import replace

    from decentralml_client.ml import data
    from decentralml_client.ml.aggregate import effective_examples, next_model
    from decentralml_client.ml.codec import decode_tensors, encode_update, encode_weights
    from decentralml_client.ml.data import client_seed
    from decentralml_client.ml.evaluate import evaluate
    from decentralml_client.ml.model_spec import default_digits_spec, make_initial_weights
    from decentralml_client.ml.server_opt import ServerOptimizer
    from decentralml_client.ml.tff_reference import TffReference
    from decentralml_client.ml.tff_runtime import tff_session
    from decentralml_client.ml.train import train_local

    cfg = RULES[name]
    kind, hyper = cfg["server"]
    opt = ServerOptimizer(kind, **hyper)
    m = default_digits_spec(seed)
    if cfg.get("prox_mu"):
        m = replace(m, prox_mu=float(cfg["prox_mu"]))
    xtr, ytr, xte, yte = data.load_digits_split(0.25, seed=seed)
    alpha = PARTITIONS[partition]
    shards = (data.partition_iid(xtr, ytr, contributors, seed=seed) if alpha is None
              else data.partition_dirichlet(xtr, ytr, contributors, alpha, seed=seed))
    w0 = make_initial_weights(m, seed)
    t0 = time.perf_counter()
    with tff_session():
        reference = TffReference(m, opt, shards, w0, seed)
        ours, server_state = w0, None
        first = evaluate(m, w0, xte, yte)["accuracy"]
        curve, tff_curve = [first], [first]
        for r in range(1, rounds + 1):
            seeds = [client_seed(seed, r, i) for i in range(contributors)]
            theirs = reference.next_round(r)
            tff_curve.append(evaluate(m, theirs, xte, yte)["accuracy"])
            deltas, claims = [], []
            for (x, y), s in zip(shards, seeds):
                res = train_local(m, ours, x, y, seed=s)
                d = decode_tensors(encode_update(res.delta, m, task="b", round=r,
                                                 base_model_hash="", num_examples=len(y)),
                                   m, kind="delta")
                deltas.append(d.tensors)
                claims.append(d.num_examples)
            counts = effective_examples(claims, 10_000, weighting)
            w, st = next_model("FedAvg", opt, ours, server_state, deltas, counts)
            g = decode_tensors(encode_weights(w, m, task="b", round=r, base_model_hash="",
                                              server_state=st), m, kind="weights")
            ours, server_state = g.tensors, g.server_state
            curve.append(evaluate(m, ours, xte, yte)["accuracy"])
            if (stop_after is not None and r >= stop_after
                    and max(curve) >= 0.94 and max(tff_curve) >= 0.94):
                break
    at = min(20, len(curve) - 1)
    return {
        "rule": name, "partition": partition, "seed": seed, "rounds_run": len(curve) - 1,
        "server_optimizer": opt.describe(), "prox_mu": m.prox_mu, "weighting": weighting,
        "ours": {"to_90": _first(curve, 0.90), "to_94": _first(curve, 0.94),
                 "curve": [round(a, 4) for a in curve]},
        "tff": {"to_90": _first(tff_curve, 0.90), "to_94": _first(tff_curve, 0.94),
                "curve": [round(a, 4) for a in tff_curve]},
        "accuracy_round": at,
        "gap_pp_at_round": round(100 * (curve[at] - tff_curve[at]), 2),
        "max_gap_pp": round(100 * max(abs(a - b) for a, b in zip(curve, tff_curve)), 2),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def bench_rules(quick: bool, partial: Path | None = None,
                rules: list[str] | None = None, partitions: list[str] | None = None,
                seeds: list[int] | None = None, weighting: str = "median-capped") -> dict[str, Any]:
    """Rounds to 90/94% per rule and partition, ours beside TFF (see the module docstring)."""
    rules = rules or list(RULES)
    partitions = partitions or list(PARTITIONS)
    seeds = seeds if seeds is not None else ([0] if quick else [0, 1, 2])
    runs: list[dict[str, Any]] = []
    if partial is not None and partial.exists():  # resume an interrupted run (same weighting)
        runs = [r for r in json.loads(partial.read_text())
                if r["rule"] in rules and r["partition"] in partitions and r["seed"] in seeds
                and r.get("weighting", "median-capped") == weighting]
    done = {(r["rule"], r["partition"], r["seed"]) for r in runs}
    # seed-major: every rule and partition has seed 0 before any has seed 1
    for seed in seeds:
        for part in partitions:
            limit = MAX_ROUNDS[part]
            for name in rules:
                if (name, part, seed) in done:
                    continue
                runs.append(run_rule_pair(name, part, seed, 20 if quick else limit,
                                          weighting=weighting))
                if partial is not None:
                    partial.write_text(json.dumps(runs, indent=1) + "\n")
    if partial is not None:  # complete: the report holds every run
        partial.unlink(missing_ok=True)

    def median(xs: list[int | None], limit: int) -> float | None:
        vals = sorted(limit + 1 if x is None else x for x in xs)
        mid = vals[len(vals) // 2]
        return None if mid > limit else float(mid)

    table = []
    for part in partitions:
        limit = MAX_ROUNDS[part]
        for name in rules:
            rs = [r for r in runs if r["rule"] == name and r["partition"] == part]
            row: dict[str, Any] = {"rule": name, "partition": part, "max_rounds": limit}
            for who in ("ours", "tff"):
                for t in ("to_90", "to_94"):
                    row[f"{who}_{t}"] = [r[who][t] for r in rs]
                    row[f"{who}_{t}_median"] = median(row[f"{who}_{t}"], limit)
            row["gap_pp_at_round"] = [(r["accuracy_round"], r["gap_pp_at_round"]) for r in rs]
            row["max_gap_pp"] = max(r["max_gap_pp"] for r in rs)
            table.append(row)
    def best(part: str) -> float | None:  # the best rule's median rounds to 94%
        meds = [r["ours_to_94_median"] or 1e9 for r in table if r["partition"] == part]
        return min(meds) if meds else None

    best_iid, best_05 = best("iid"), best("dirichlet-0.5")
    return {
        "rules": {k: {"server": v["server"][0], **v["server"][1],
                      "prox_mu": v.get("prox_mu", 0.0)} for k, v in RULES.items()},
        "table": table,
        "runs": runs,
        "targets": {
            "iid_best_rule_94_within_20": None if best_iid is None else best_iid <= 20,
            "dirichlet_0.5_best_rule_94_within_40": None if best_05 is None else best_05 <= 40,
            "every_rule_within_0.5pp_of_tff_at_equal_rounds": all(
                abs(g) <= 0.5 for r in table for _, g in r["gap_pp_at_round"]),
        },
    }


def plot_rules(rules: dict[str, Any], out_dir: Path, weighting: str) -> list[Path]:
    """One chart per partition: our accuracy per round of every rule, seed 0 (the chart
    ``simulate --plot`` draws). Files ``rules-<partition>.png`` (``rules-claimed-…`` for the
    ``claimed`` weighting)."""
    from decentralml_client.ml.simulate import plot_comparison

    written = []
    prefix = "rules-" if weighting == "median-capped" else f"rules-{weighting}-"
    for part in dict.fromkeys(r["partition"] for r in rules["runs"]):
        runs = {r["rule"]: {"rounds": [{"round": i, "accuracy": a}
                                       for i, a in enumerate(r["ours"]["curve"])]}
                for r in rules["runs"] if r["partition"] == part and r["seed"] == 0}
        path = out_dir / f"{prefix}{part}.png"
        plot_comparison(runs, str(path),
                        title=f"digits, 10 contributors, {part}, seed 0, {weighting} weights")
        written.append(path)
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats and rounds")
    ap.add_argument("--out", type=Path, help="also write the report to this file")
    ap.add_argument(
        "--only", nargs="*", default=None,
        help="training fedavg learning encodings tff_reference rules"
    )
    ap.add_argument("--rules", nargs="*", default=None, help=f"subset of {list(RULES)}")
    ap.add_argument("--partitions", nargs="*", default=None, help=f"subset of {list(PARTITIONS)}")
    ap.add_argument("--seeds", nargs="*", type=int, default=None, help="default 0 1 2")
    ap.add_argument("--example-weighting", dest="weighting", choices=("median-capped", "claimed"),
                    default="median-capped",
                    help="the task's example weighting: capped at the round's median claim, or "
                         "as claimed (as TFF weights)")
    ap.add_argument("--merge", action="store_true", help="update the sections of an existing --out")
    args = ap.parse_args()
    only = set(args.only or ["training", "fedavg", "learning", "encodings", "tff_reference",
                             "rules"])
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
        if "rules" in only:
            partial = args.out.with_suffix(".rules-partial.json") if args.out else None
            report["rules"] = bench_rules(args.quick, partial, args.rules, args.partitions,
                                          args.seeds, args.weighting)
            if args.out:
                plot_rules(report["rules"], args.out.parent, args.weighting)
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
