"""A whole task on the real dev chain and a real Kubo daemon, every role its own process.

6 contributors — 3 honest, one poisoning its updates (sign-flip), one free-rider (zero delta,
claims the example cap) and one copier (re-sends the last global step) — and 3 validators —
2 honest and one that accepts everything without evaluating — run 3 rounds through
`decentralml demo`'s orchestrator, with sealed votes. Every round the three deviating updates
are rejected and unpaid while the honest ones are paid by contribution; the accept-all
validator earns less than each honest validator and loses bond; accuracy rises; and the
ledger balances: issuance only falls by the fees, every account sums to it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from decentralml_client.chain import Chain
from decentralml_client.config import Settings
from decentralml_client.demo_run import DemoOptions, run_demo
from tests.scenarios.ledger import fees_between, ledger

pytestmark = pytest.mark.integration


def _role_processes(workdir: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if workdir in cmd:
            found.append(cmd)
    return found


def test_three_rounds_with_deviants_pay_the_honest_and_cost_the_rest(
    devnet, kubo, tmp_path: Path
) -> None:
    with Chain(devnet.url) as chain:
        start_block = chain.head()[0]
        issuance0, held0 = ledger(chain)
    assert issuance0 == held0

    summary = run_demo(
        Settings(data_dir=tmp_path),
        DemoOptions(rounds=3, contributors=6, validators=3, malicious=3,
                    attack="sign-flip,free-rider,copy",
                    validator_strategies=("honest", "honest", "accept-all"),
                    plot=tmp_path / "acc.png"),
        services=(devnet.url, kubo.api_multiaddr),
    )

    assert summary["status"] == "Finished"
    assert [r["round"] for r in summary["rounds"]] == [0, 1, 2]
    for r in summary["rounds"]:
        assert (r["accepted"], r["rejected"]) == (3, 3), r
    acc = [r["attested_accuracy"] for r in summary["rounds"]]
    # half the data is with the three deviants, so three rounds reach less than with four
    # honest contributors
    assert acc[-1] > acc[0] and summary["final_accuracy"] > 0.7
    assert summary["malicious"] == summary["malicious_rejected"] == 9
    contributors = {c["name"]: c for c in summary["contributors"]}
    for name in ("contributor4", "contributor5", "contributor6"):  # poisoner, idle, copier
        assert contributors[name]["reward"] == 0, contributors[name]
        assert summary["balance_changes"][name] <= 0  # paid fees, earned nothing
    for name in ("contributor1", "contributor2", "contributor3"):
        assert contributors[name]["reward"] > 0, contributors[name]
    validators = {v["name"]: v for v in summary["validators"]}
    lazy = validators["validator3"]
    assert lazy["strategy"] == "accept-all"
    for name in ("validator1", "validator2"):
        honest = validators[name]
        assert honest["reward"] > lazy["reward"], (honest, lazy)
        assert honest["slashed"] < lazy["slashed"], (honest, lazy)
    assert lazy["slashed"] > 0  # its bond shrank: verdicts against the consensus cost stake
    assert (tmp_path / "acc.png").stat().st_size > 10_000
    assert _role_processes(summary["workdir"]) == []

    with Chain(devnet.url) as chain:
        end_block = chain.head()[0]
        issuance1, held1 = ledger(chain)
        fees = fees_between(chain, start_block + 1, end_block)
    assert issuance1 == held1
    assert issuance0 - issuance1 == fees > 0
