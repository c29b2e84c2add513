"""Only fresh work pays, on the real dev chain with a real Kubo, every role its own process.

6 contributors — 4 honest, one that re-sends another contributor's update revealed in the
previous round (perturbed so its bytes differ) and one that sends noise scaled to the model's
recent change — and 5 validators: 3 honest, one that replays the previous round's public
consensus for each contributor account without downloading anything (``copy``) and one that
accepts everything (``accept-all``), 2/5 of the stake. Three rounds:

* neither re-user is paid anything; the noise rider never enters the aggregate;
* in **every** round each lazy validator earns at most 10 % of the honest validators' mean
  (its probes match nothing) and loses bond, while every honest validator is paid.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from decentralml_client.chain import Chain
from decentralml_client.config import Settings
from decentralml_client.demo_run import DemoOptions, run_demo

pytestmark = pytest.mark.integration


def _pay_by_round(url: str, task_id: int, first: int, last: int) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    with Chain(url) as chain:
        for _, events in chain.events_between(first, last):
            for e in events:
                if e.pallet == "DecentralMl" and e.name == "RewardPaid" \
                        and int(e.attributes["task_id"]) == task_id:
                    per = out.setdefault(int(e.attributes["round"]), {})
                    who = str(e.attributes["who"])
                    per[who] = per.get(who, 0) + int(e.attributes["amount"])
    return out


def test_re_used_history_and_lazy_votes_earn_nothing(devnet, kubo, tmp_path: Path) -> None:
    with Chain(devnet.url) as chain:
        first = chain.head()[0]
    summary = run_demo(
        Settings(data_dir=tmp_path),
        DemoOptions(rounds=3, contributors=6, validators=5, malicious=2,
                    attack="replay,noise-rider",
                    validator_strategies=("honest", "honest", "honest", "copy", "accept-all")),
        services=(devnet.url, kubo.api_multiaddr),
    )
    assert summary["status"] == "Finished"
    with Chain(devnet.url) as chain:
        last = chain.head()[0]
    contributors = {c["name"]: c for c in summary["contributors"]}
    honest_pay = [c["reward"] for c in contributors.values() if not c["attack"]]
    assert min(honest_pay) > 0, contributors
    for c in contributors.values():
        if c["attack"]:
            assert c["reward"] <= 0.01 * sum(honest_pay) / len(honest_pay), contributors
    for r in summary["rounds"]:
        assert r["accepted"] <= 5, r  # the noise rider never enters the aggregate

    validators = {v["name"]: v for v in summary["validators"]}
    per_round = _pay_by_round(devnet.url, summary["task_id"], first, last)
    assert sorted(per_round) == [0, 1, 2]
    for r, paid in per_round.items():
        honest = [paid.get(v["address"], 0) for v in validators.values()
                  if v["strategy"] == "honest"]
        assert min(honest) > 0, (r, paid)
        mean = sum(honest) / len(honest)
        for v in validators.values():
            if v["strategy"] != "honest":
                assert paid.get(v["address"], 0) <= 0.1 * mean, (r, v, paid)
    for v in validators.values():
        if v["strategy"] != "honest":
            assert v["slashed"] > 0, v
