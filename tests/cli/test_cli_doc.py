"""docs/cli.md is generated from the CLI's definitions; it must not fall behind them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_cli_reference_matches_the_command_definitions() -> None:
    path = ROOT / "scripts" / "gen_cli_doc.py"
    spec = importlib.util.spec_from_file_location("gen_cli_doc", path)
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert (ROOT / "docs" / "cli.md").read_text() == gen.render(), (
        "docs/cli.md is stale: run `uv run python scripts/gen_cli_doc.py`"
    )
