"""How likely an attacker's stake captures a committee (docs/protocol.md, *Committees: the
probability of capture*). Exact, hypergeometric: with equal bonds, drawing judges one by one by
stake without replacement (docs/committees.md) draws a uniformly random set of validators.

Setting: 64 validators of equal bond, the attacker holding ``a`` of them (21 or 22: 1/3 of the
stake lies between), the default quorum 2/3 rounded down to 666 666 ppm (units.permill), each
update judged by ``k`` validators, or ``3k`` when audited (10 % of the updates by default).

* a committee is **controlled** when the attacker's stake reaches the quorum of the
  committee's stake (it can accept junk, and set its score);
* it **blocks** when the honest stake is under the quorum (no honest update is accepted);
* in a round of 1024 updates, the expected number of controlled committees;
* junk the attacker submits is judged by an audit committee with probability ``audit``; the
  audit catches it when that committee is not controlled; the attacker's judges on it then lose
  their verdict (``VerdictSlash`` 5 % of the bond times 1/n_v per losing verdict, n_v the
  updates the validator judged that round).

    .venv/bin/python bench/committee_capture.py [--markdown]
"""

from __future__ import annotations

import argparse
from fractions import Fraction
from math import comb

N = 64
QUORUM_PPM = 666_666
PPM = 1_000_000
UPDATES = 1024
AUDIT = Fraction(1, 10)
VERDICT_SLASH = Fraction(5, 100)


def needed(k: int) -> int:
    """Members (of equal bond) whose stake reaches the quorum of a committee of ``k``:
    ``Permill::mul_ceil`` of the committee's stake, in bonds (any bond of at least a few
    units gives the same count)."""
    bond = 10**12
    stake = -(-k * bond * QUORUM_PPM // PPM)
    return -(-stake // bond)


def pmf(a: int, k: int, x: int, n: int = N) -> Fraction:
    """P(x of the k judges are the attacker's), a of the n validators being its."""
    return Fraction(comb(a, x) * comb(n - a, k - x), comb(n, k))


def controlled(a: int, k: int) -> Fraction:
    q = needed(k)
    return sum((pmf(a, k, x) for x in range(q, k + 1)), Fraction(0))


def blocks(a: int, k: int) -> Fraction:
    q = needed(k)  # honest members needed; blocked when fewer than q are honest
    return sum((pmf(a, k, x) for x in range(0, k + 1) if k - x < q), Fraction(0))


def rows(a: int) -> list[dict[str, object]]:
    out = []
    for k in (3, 5):
        audit_k = min(3 * k, N)
        p, p_audit = controlled(a, k), controlled(a, audit_k)
        per_update = (1 - AUDIT) * p + AUDIT * p_audit
        slots = UPDATES * ((1 - AUDIT) * k + AUDIT * audit_k)  # judge seats in the round
        n_v = slots / N
        # Junk is caught when audited by a committee the attacker does not control; its
        # judges there (x of them, accepting) lose one verdict each.
        caught = AUDIT * (1 - p_audit)
        losers = sum((x * pmf(a, audit_k, x) for x in range(0, needed(audit_k))),
                     Fraction(0))
        out.append({
            "attacker": a, "committee": k, "audit_committee": audit_k,
            "needed": needed(k), "needed_audit": needed(audit_k),
            "controlled": p, "blocks": blocks(a, k),
            "controlled_audit": p_audit, "blocks_audit": blocks(a, audit_k),
            "expected_controlled_per_1024": UPDATES * per_update,
            "expected_blocking_per_1024": UPDATES * ((1 - AUDIT) * blocks(a, k)
                                                      + AUDIT * blocks(a, audit_k)),
            "junk_accepted": per_update, "junk_caught_by_audit": caught,
            "n_v": n_v, "slash_per_losing_verdict_of_bond": VERDICT_SLASH / n_v,
            "attacker_judges_losing_per_caught_junk": losers / (1 - p_audit),
        })
    return out


def _pct(f: Fraction | float) -> str:
    return f"{100 * float(f):.2f} %"


def markdown() -> str:
    lines = [
        "| attacker validators (stake) | committee | controlled (accepts junk) | blocks "
        "(honest cannot accept) | audit committee controlled / blocks | controlled "
        "committees per 1024 updates (10 % audited) | blocking committees per 1024 | junk "
        "caught by an audit | cost of one losing verdict |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for a in (21, 22):
        for r in rows(a):
            lines.append(
                f"| {a} of 64 ({_pct(Fraction(a, N))}) | {r['committee']} (quorum "
                f"{r['needed']}) | {_pct(r['controlled'])} | {_pct(r['blocks'])} | "  # type: ignore[arg-type]
                f"{r['audit_committee']} (quorum {r['needed_audit']}): "
                f"{_pct(r['controlled_audit'])} / {_pct(r['blocks_audit'])} | "  # type: ignore[arg-type]
                f"{float(r['expected_controlled_per_1024']):.1f} | "  # type: ignore[arg-type]
                f"{float(r['expected_blocking_per_1024']):.1f} | "  # type: ignore[arg-type]
                f"{_pct(r['junk_caught_by_audit'])} | "  # type: ignore[arg-type]
                f"{_pct(r['slash_per_losing_verdict_of_bond'])} of its bond "  # type: ignore[arg-type]
                f"(n_v ≈ {float(r['n_v']):.0f}) |")  # type: ignore[arg-type]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--markdown", action="store_true", help="print the docs' table")
    args = p.parse_args()
    if args.markdown:
        print(markdown())
        return
    for a in (21, 22):
        for r in rows(a):
            print({k: (round(float(v), 6) if isinstance(v, Fraction) else v)
                   for k, v in r.items()})


if __name__ == "__main__":
    main()
