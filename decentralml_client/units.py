"""The chain's units, one copy for every layer: balances in plancks, fractions in parts per
million (the pallet's ``Permill``). Imports nothing of the package, so ``ml/``, ``protocol/``
and ``chain/`` all take them from here."""

from __future__ import annotations

UNIT = 10**12
"""One token in plancks (the smallest balance unit)."""

PERMILL = 1_000_000
"""Parts per million: the chain's ``Permill`` of 1 (100 %)."""


def permill(fraction: float) -> int:
    """A fraction in [0, 1] as the chain's ``Permill`` parts per million, rounded down (so
    that a quorum of 2/3 is reached by exactly 2 of 3 equal bonds: the pallet rounds the
    stake a quorum needs up)."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"{fraction} is not a fraction between 0 and 1")
    return int(fraction * PERMILL + 1e-9)


def fmt_units(plancks: int) -> str:
    """A balance for people: ``1,234.5000 DML``."""
    return f"{plancks / UNIT:,.4f} DML"
