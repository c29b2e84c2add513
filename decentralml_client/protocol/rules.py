"""Aggregation rules by name: the one mapping from a user's rule name to the chain's
``AggregationRule`` value, shared by ``task create``, ``simulate`` and the demo.

Defaults: trimmed mean trims ``β = max(0.1, malicious/contributors)`` from each side; Krum
assumes ``f = max(1, malicious)`` Byzantine updates and keeps ``n − f`` (at least 1).
"""

from __future__ import annotations

from typing import Any

PERMILL = 1_000_000
RULES = ("fedavg", "trimmed-mean", "median", "krum")


def rule_value(
    name: str,
    *,
    contributors: int = 1,
    malicious: int = 0,
    beta: float | None = None,
    byzantine: int | None = None,
    keep: int | None = None,
) -> str | dict[str, Any]:
    """The chain's rule value for a rule name (raises ``ValueError`` on a bad name or value)."""
    key = name.strip().lower().replace("_", "-")
    if key == "fedavg":
        return "FedAvg"
    if key == "median":
        return "Median"
    if key in ("trimmed-mean", "trimmedmean"):
        b = beta if beta is not None else max(0.1, malicious / max(contributors, 1))
        if not 0 <= b < 0.5:
            raise ValueError(f"beta must be in [0, 0.5), got {b}")
        return {"TrimmedMean": {"beta": round(b * PERMILL)}}
    if key in ("krum", "multi-krum", "multikrum"):
        f = byzantine if byzantine is not None else max(1, malicious)
        k = keep if keep is not None else max(1, contributors - f)
        if f < 0 or k < 1:
            raise ValueError(f"krum needs byzantine >= 0 and keep >= 1, got {f}, {k}")
        return {"MultiKrum": {"byzantine": int(f), "keep": int(k)}}
    raise ValueError(f"unknown aggregation rule {name!r}; choose one of {', '.join(RULES)}")
