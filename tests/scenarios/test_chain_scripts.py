"""The plain substrate-interface check of the chain (chain/scripts/e2e_round.py) passes.

The script drives a whole round and every capture / stall / replay / free-ride attempt against
a private Chopsticks dev chain (it switches its block mode) without the client package, and
exits non-zero on any failed check.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[2] / "chain" / "scripts" / "e2e_round.py"


def test_e2e_round_script_passes_every_attack_check(fresh_devnet) -> None:  # noqa: ANN001
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--url", fresh_devnet.url, "--quick"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "FAIL" not in result.stdout and result.stdout.rstrip().endswith("OK"), output
    assert result.stdout.count("PASS ") >= 20, output
