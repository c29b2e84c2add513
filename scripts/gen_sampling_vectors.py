"""Write chain/pallets/decentralml/vectors/sampling.json: the cohort, audit and committee draws
of docs/committees.md on fixed inputs, with the figures the client's mirror
(decentralml_client.protocol.sampling) computes. The pallet's tests and
tests/protocol/test_sampling.py read the file. Run from the repository root:
``.venv/bin/python scripts/gen_sampling_vectors.py``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from decentralml_client.hashing import blake2_256
from decentralml_client.protocol import sampling as s

OUT = (Path(__file__).resolve().parents[1] / "chain" / "pallets" / "decentralml" / "vectors"
       / "sampling.json")

ABOUT = (
    "Shared test vectors of the cohort, audit and committee draws (docs/committees.md): read "
    "by the pallet's tests and by tests/protocol/test_sampling.py (written by "
    "scripts/gen_sampling_vectors.py). Seeds, salts and accounts are 0x-hex of 32 bytes; "
    "bonds in plancks; audit_ppm in parts per million; tickets and cut are u64 (cut = "
    "18446744073709551615 = u64::MAX when everyone is drawn). 'mix': blake2_256(seed ++ salt). "
    "'cohort': each eligible account's ticket, the cut, the cohort size and whether each is "
    "drawn. 'judges': for each contributor (in order) whether its update is audited (omitted "
    "when 'full') and its judges in draw order (the whole electorate in electorate order when "
    "'full')."
)


def h(b: bytes) -> str:
    return "0x" + b.hex()


def acct(tag: str, i: int) -> bytes:
    return blake2_256(f"{tag}:{i}".encode())


def cohort_case(name: str, ctx: tuple[int, int, int], ds: bytes, n: int,
                cohort: int) -> dict[str, Any]:
    task, rnd, att = ctx
    el = [acct("contributor", i) for i in range(n)]
    cut, size = s.draw_cohort(task, rnd, att, ds, el, cohort)
    return {"name": name, "kind": "cohort", "task_id": task, "round": rnd, "attempt": att,
            "draw_seed": h(ds), "eligible": [h(a) for a in el], "cohort": cohort,
            "expect": {"tickets": [s.cohort_ticket(task, rnd, att, ds, a) for a in el],
                       "cut": cut, "size": size,
                       "drawn": [s.in_cohort(task, rnd, att, ds, a, cut) for a in el]}}


def judges_case(name: str, ctx: tuple[int, int, int], cs: bytes, bonds: list[int],
                committee: int, audit: int, n_contributors: int) -> dict[str, Any]:
    task, rnd, att = ctx
    el = [(acct("validator", i), b) for i, b in enumerate(bonds)]
    cons = [acct("contributor", i) for i in range(n_contributors)]
    full = s.full_judging(committee, len(el))
    expect: dict[str, Any] = {"full": full}
    if not full:
        expect["audited"] = [s.is_audited(task, rnd, att, cs, c, audit) for c in cons]
    expect["judges"] = [[h(j) for j in s.judges(task, rnd, att, cs, c, el, committee, audit)]
                        for c in cons]
    return {"name": name, "kind": "judges", "task_id": task, "round": rnd, "attempt": att,
            "committee_seed": h(cs), "electorate": [[h(a), b] for a, b in el],
            "committee": committee, "audit_ppm": audit, "contributors": [h(c) for c in cons],
            "expect": expect}


def cases() -> list[dict[str, Any]]:
    seed, salt = blake2_256(b"dml:vectors:seed"), blake2_256(b"dml:vectors:salt")
    zero = bytes(32)
    ds, cs = blake2_256(b"dml:vectors:draw"), blake2_256(b"dml:vectors:committee")
    unequal = [5000, 1000, 1000, 3000, 1000, 2000, 1000, 1000, 4000, 1000, 1000, 1000]
    return [
        {"name": "mix_one_salt", "kind": "mix", "seed": h(seed), "salt": h(salt),
         "expect": {"seed": h(s.mix_seed(seed, salt))}},
        {"name": "mix_zero", "kind": "mix", "seed": h(zero), "salt": h(zero),
         "expect": {"seed": h(s.mix_seed(zero, zero))}},
        cohort_case("cohort_5_of_12", (7, 3, 0), ds, 12, 5),
        cohort_case("cohort_retry_attempt", (7, 3, 1), ds, 12, 5),
        cohort_case("cohort_1_of_8", (1, 0, 0), s.mix_seed(ds, salt), 8, 1),
        cohort_case("cohort_zero_draws_all", (7, 3, 0), ds, 6, 0),
        cohort_case("cohort_as_large_as_eligible", (7, 3, 0), ds, 6, 6),
        judges_case("committee_3_equal_bonds", (7, 3, 0), cs, [1000] * 12, 3, 100_000, 8),
        judges_case("committee_3_unequal_bonds_half_audited", (7, 3, 0), cs, unequal, 3,
                    500_000, 8),
        judges_case("committee_5_audit_capped_by_electorate", (2, 9, 2), cs,
                    list(range(1, 11)), 5, 500_000, 6),
        judges_case("committee_1_no_audit", (7, 3, 0), s.mix_seed(cs, salt),
                    [3000, 1000, 1000, 1000], 1, 0, 6),
        judges_case("committee_zero_full", (7, 3, 0), cs, [1000, 2000, 3000], 0, 100_000, 2),
        judges_case("committee_as_large_as_electorate_full", (7, 3, 0), cs,
                    [1000, 2000, 3000], 3, 100_000, 2),
    ]


def main() -> None:
    OUT.write_text(json.dumps({"about": ABOUT, "cases": cases()}, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
