"""A simulated task of a thousand contributors with cohorts and committees (docs/committees.md).

Runs ``decentralml simulate --contributors 1000 --validators 64 --cohort 100 --committee 3
--audit 10% --compare-full`` (the default digits task, 20 rounds) in this process and writes
``bench/results/simulate-scale.json``: wall time, peak RSS (``resource.getrusage``), the share
of updates whose accepted/rejected outcome with committees is the one every validator judging
every update gives (computed beside it each round, off the record), evaluations per validator
per round (mean and max, against the cohort × validators of judging by everyone), cohort
sizes, audits and accuracy. Target: under 15 minutes and 8 GiB on a 2-core machine.

Usage: ``.venv/bin/python bench/bench_simulate_scale.py [--rounds 20] [--cohort 100]
[--committee 3] [--audit 0.1] [--no-compare] [--out bench/results/simulate-scale.json]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--contributors", type=int, default=1000)
    p.add_argument("--validators", type=int, default=64)
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--cohort", type=int, default=100)
    p.add_argument("--committee", type=int, default=3)
    p.add_argument("--audit", type=float, default=0.1, help="share of audited updates")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-compare", action="store_true",
                   help="skip judging by every validator (no agreement figure)")
    p.add_argument("--out", type=Path, default=RESULTS / "simulate-scale.json")
    return p.parse_args(argv)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from decentralml_client.ml.sampled import Sampling
    from decentralml_client.ml.simulate import run_simulation

    plan = Sampling(cohort=args.cohort, committee=args.committee,
                    audit=round(args.audit * 1_000_000), compare_full=not args.no_compare)
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):
        summary = run_simulation(contributors=args.contributors, rounds=args.rounds,
                                 validators=args.validators, seed=args.seed, sampling=plan,
                                 on_round=lambda h: print(
                                     f"round {h['round']}: {h['seconds']:.1f} s, accuracy "
                                     f"{h['accuracy']:.3f}, accepted {h['accepted']}/"
                                     f"{h['cohort']}, agree {h.get('agree_with_full', '-')}",
                                     file=sys.stderr, flush=True))
    wall = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    s = summary["sampling"]
    rounds = summary["rounds"][1:]
    return {
        "command": (f"decentralml simulate --contributors {args.contributors} --validators "
                    f"{args.validators} --rounds {args.rounds} --cohort {args.cohort} "
                    f"--committee {args.committee} --audit {100 * args.audit:g}%"
                    + ("" if args.no_compare else " --compare-full")),
        "wall_seconds": round(wall, 1),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "agreement_with_full": s.get("agreement_with_full"),
        "agreeing_updates": s.get("agreeing_updates"),
        "updates": s["updates"],
        "evaluations_per_validator_per_round_mean": s["evaluations_per_validator_per_round_mean"],
        "evaluations_per_validator_per_round_max": s["evaluations_per_validator_per_round_max"],
        "evaluations_if_everyone_judged_per_validator_per_round": args.cohort,
        "audited": s["audited"],
        "cohort_sizes": s["cohort_sizes"],
        "accepted_per_round": [h["accepted"] for h in rounds],
        "full_accepted_per_round": [h.get("full_accepted") for h in rounds],
        "seconds_per_round": [h["seconds"] for h in rounds],
        "final_accuracy": summary["final_accuracy"],
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_at_end": os.getloadavg()},
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def main(argv: list[str] | None = None) -> None:
    args = _args(argv)
    report = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
