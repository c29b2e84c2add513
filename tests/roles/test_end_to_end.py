"""A whole task on the real dev chain and a real Kubo daemon, every role its own process.

4 contributors (one poisons its updates by sign-flipping them) and 3 validators run 3 rounds
through `decentralml demo`'s orchestrator: consensus every round, accuracy rises, the
poisoned updates are rejected and unpaid, honest contributors and validators are paid, and
the ledger balances: issuance only falls by the fees, every account sums to it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from decentralml_client.chain import Chain
from decentralml_client.config import Settings
from decentralml_client.demo import DemoOptions, run_demo
from tests.roles.ledger import fees_between, ledger

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


def test_three_rounds_with_a_poisoner_reach_consensus_and_pay_the_honest(
    devnet, kubo, tmp_path: Path
) -> None:
    with Chain(devnet.url) as chain:
        start_block = chain.head()[0]
        issuance0, held0 = ledger(chain)
    assert issuance0 == held0

    summary = run_demo(
        Settings(data_dir=tmp_path), DemoOptions(rounds=3, contributors=4, validators=3,
                                                 malicious=1, plot=tmp_path / "acc.png"),
        services=(devnet.url, kubo.api_multiaddr),
    )

    assert summary["status"] == "Finished"
    assert [r["round"] for r in summary["rounds"]] == [0, 1, 2]
    for r in summary["rounds"]:
        assert (r["accepted"], r["rejected"]) == (3, 1), r
    acc = [r["attested_accuracy"] for r in summary["rounds"]]
    assert acc[-1] > acc[0] and summary["final_accuracy"] > 0.8
    assert summary["malicious"] == summary["malicious_rejected"] == 3
    paid = summary["balance_changes"]
    assert paid["contributor4"] <= 0  # the poisoner paid fees and earned nothing
    for name in ("contributor1", "contributor2", "contributor3", "validator1", "validator2",
                 "validator3"):
        assert paid[name] > 0, name
    assert (tmp_path / "acc.png").stat().st_size > 10_000
    assert _role_processes(summary["workdir"]) == []

    with Chain(devnet.url) as chain:
        end_block = chain.head()[0]
        issuance1, held1 = ledger(chain)
        fees = fees_between(chain, start_block + 1, end_block)
    assert issuance1 == held1
    assert issuance0 - issuance1 == fees > 0
