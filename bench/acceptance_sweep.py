"""False rejections of honest work by the acceptance rule, and what attackers earn.

Runs ``decentralml simulate``'s engine (the validators' one acceptance rule, the pallet's
payout rule) for 20 honest rounds with 10 contributors and 3 validators, IID and Dirichlet
(α = 0.5 and 0.1), and counts honest updates the validators' consensus refused (target: none).
Then one run per attack with 2 of 10 contributors attacking, reporting how many attacker
updates were refused and what the attackers were paid against the honest contributors.

    uv run python bench/acceptance_sweep.py --out bench/results/acceptance.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any


def sweep(rounds: int = 20, seed: int = 0) -> dict[str, Any]:
    from decentralml_client.ml.simulate import run_simulation

    out: dict[str, Any] = {"honest": [], "attacks": []}
    for partition, alpha in (("iid", None), ("dirichlet", 0.5), ("dirichlet", 0.1)):
        t0 = time.perf_counter()
        s = run_simulation(contributors=10, rounds=rounds, partition=partition,
                           alpha=alpha or 0.5, seed=seed)
        out["honest"].append({"partition": partition, "alpha": alpha, "rounds": rounds,
                              "updates": 10 * rounds, "false_rejections": s["false_rejections"],
                              "final_accuracy": round(s["final_accuracy"], 4),
                              "seconds": round(time.perf_counter() - t0, 1)})
        print(out["honest"][-1], flush=True)
    for attack in ("free-rider", "copy", "sign-flip", "scale", "noise", "label-flip"):
        s = run_simulation(contributors=10, rounds=5, malicious=2, attack=attack, seed=seed)
        bad = [c for c in s["contributors"] if c["malicious"]]
        good = [c for c in s["contributors"] if not c["malicious"]]
        refused = s["rejected_updates"] - s["false_rejections"]
        out["attacks"].append({
            "attack": attack, "attacker_updates": 2 * 5, "refused": refused,
            "false_rejections": s["false_rejections"],
            "attacker_pay": sum(c["reward"] for c in bad),
            "mean_honest_pay": sum(c["reward"] for c in good) // len(good),
            "final_accuracy": round(s["final_accuracy"], 4)})
        print(out["attacks"][-1], flush=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("bench/results/acceptance.json"))
    p.add_argument("--rounds", type=int, default=20)
    args = p.parse_args()
    result = sweep(args.rounds)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
