"""A validator's work per round, with and without the fresh-work measures, as a ratio.

For 16 and 64 contributors, one round of the default digits task (updates trained with TFF
from the same global model, two earlier rounds of public history): the time of
``judge_updates`` as it was before (no history) and as it is now (history projection, one
gradient, freshness), and of the probes (``Prober``), measured in the same process, median
of ``--repeat`` runs. Target: at most 2× the earlier work.

    uv run python bench/bench_validator.py --out bench/results/validator.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def _median_time(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(contributors: int, repeat: int) -> dict[str, Any]:
    from decentralml_client.ml import acceptance
    from decentralml_client.ml.attacks import PublicHistory
    from decentralml_client.ml.data import load_digits_split, partition_iid
    from decentralml_client.ml.evaluate import apply_delta
    from decentralml_client.ml.evidence import Prober, probe_seed
    from decentralml_client.ml.model_spec import default_digits_spec, make_initial_weights
    from decentralml_client.ml.tff_runtime import tff_session
    from decentralml_client.ml.train import train_local

    spec = default_digits_spec(0)
    x_tr, y_tr, x_te, y_te = load_digits_split(0.25, seed=0)
    shards = partition_iid(x_tr, y_tr, contributors, seed=0)
    weights = make_initial_weights(spec, 0)
    public = PublicHistory()
    with tff_session():
        for r in range(3):
            deltas = [train_local(spec, weights, x, y, seed=r * 1000 + i).delta
                      for i, (x, y) in enumerate(shards)]
            if r == 2:
                break
            step = [np.mean([np.asarray(d[t], np.float64) for d in deltas], axis=0)
                    for t in range(len(weights))]
            public.add(dict(enumerate(deltas)), step, keep=2)
            weights = apply_delta(weights, step)
    x, y = x_te[::3], y_te[::3]
    candidates = dict(enumerate(deltas))
    history, previous = public.deltas(), public.steps[-1]
    # Interleaved, so that whatever else the machine does falls on both alike.
    before_t, after_t = [], []
    for _ in range(repeat):
        before_t.append(_median_time(lambda: acceptance.judge_updates(
            spec, weights, candidates, x, y, previous_step=previous), 1))
        after_t.append(_median_time(lambda: acceptance.judge_updates(
            spec, weights, candidates, x, y, previous_step=previous, history=history,
            not_own={i: public.not_own(i) for i in candidates}), 1))
    before, after = statistics.median(before_t), statistics.median(after_t)
    seed = probe_seed(0, 2, 0, [bytes([i]) * 32 for i in range(contributors)])

    def probes() -> None:
        prober = Prober(spec, weights, seed)
        for d in candidates.values():
            prober.probe(d)

    probe = _median_time(probes, repeat)
    return {"contributors": contributors, "before_s": round(before, 4),
            "after_s": round(after, 4), "probes_s": round(probe, 4),
            "ratio": round((after + probe) / before, 2)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("bench/results/validator.json"))
    p.add_argument("--sizes", default="16,64")
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        rows.append(measure(n, args.repeat))
        print(rows[-1], flush=True)
    args.out.write_text(json.dumps({"rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
