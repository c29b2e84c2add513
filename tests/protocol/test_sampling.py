"""The cohort, audit and committee draws (decentralml_client.protocol.sampling) follow
docs/committees.md byte for byte: the shared vectors (chain/pallets/decentralml/vectors/
sampling.json, also read by the pallet's tests), the SCALE encodings spelled out by hand, the
cohort's exact size, distinct judges from the electorate, draws by stake and full mode."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from decentralml_client.protocol import sampling as s

VECTORS = (Path(__file__).resolve().parents[2] / "chain" / "pallets" / "decentralml" / "vectors"
           / "sampling.json")
SEED = hashlib.blake2b(b"test seed", digest_size=32).digest()


def _hex(v: str) -> bytes:
    return bytes.fromhex(v.removeprefix("0x"))


def _account(tag: str, i: int) -> bytes:
    return hashlib.blake2b(f"{tag}:{i}".encode(), digest_size=32).digest()


def _cases(kind: str) -> list[Any]:
    doc = json.loads(VECTORS.read_text())
    return [pytest.param(c, id=c["name"]) for c in doc["cases"] if c["kind"] == kind]


@pytest.mark.parametrize("case", _cases("mix"))
def test_mix_vectors(case: dict[str, Any]) -> None:
    assert s.mix_seed(_hex(case["seed"]), _hex(case["salt"])) == _hex(case["expect"]["seed"])


@pytest.mark.parametrize("case", _cases("cohort"))
def test_cohort_vectors(case: dict[str, Any]) -> None:
    ctx = (case["task_id"], case["round"], case["attempt"], _hex(case["draw_seed"]))
    eligible = [_hex(a) for a in case["eligible"]]
    expect = case["expect"]
    assert [s.cohort_ticket(*ctx, a) for a in eligible] == expect["tickets"]
    cut, size = s.draw_cohort(*ctx, eligible, case["cohort"])
    assert (cut, size) == (expect["cut"], expect["size"])
    assert [s.in_cohort(*ctx, a, cut) for a in eligible] == expect["drawn"]


@pytest.mark.parametrize("case", _cases("judges"))
def test_judges_vectors(case: dict[str, Any]) -> None:
    ctx = (case["task_id"], case["round"], case["attempt"], _hex(case["committee_seed"]))
    electorate = [(_hex(a), int(b)) for a, b in case["electorate"]]
    contributors = [_hex(c) for c in case["contributors"]]
    expect = case["expect"]
    assert s.full_judging(case["committee"], len(electorate)) == expect["full"]
    if not expect["full"]:
        assert [s.is_audited(*ctx, c, case["audit_ppm"]) for c in contributors] == \
            expect["audited"]
    got = [s.judges(*ctx, c, electorate, case["committee"], case["audit_ppm"])
           for c in contributors]
    assert got == [[_hex(j) for j in js] for js in expect["judges"]]


def test_the_vectors_cover_every_kind_and_mode() -> None:
    doc = json.loads(VECTORS.read_text())
    kinds = Counter(c["kind"] for c in doc["cases"])
    assert kinds["mix"] >= 1 and kinds["cohort"] >= 3 and kinds["judges"] >= 3
    judges = [c for c in doc["cases"] if c["kind"] == "judges"]
    assert any(c["expect"]["full"] for c in judges)
    assert any(any(c["expect"].get("audited", [])) for c in judges)


def test_the_encodings_are_the_documented_scale_bytes() -> None:
    acc = _account("c", 1)
    ctx = (7).to_bytes(4, "little") + (3).to_bytes(4, "little") + (1).to_bytes(4, "little")
    b2 = lambda data: hashlib.blake2b(data, digest_size=32).digest()  # noqa: E731
    assert s.mix_seed(SEED, acc) == b2(SEED + acc)
    assert s.cohort_ticket(7, 3, 1, SEED, acc) == int.from_bytes(
        b2(b"dml:cohort" + ctx + SEED + acc)[:8], "little")
    word = int.from_bytes(b2(b"dml:audit" + ctx + SEED + acc)[:4], "little") % 1_000_000
    assert s.is_audited(7, 3, 1, SEED, acc, word + 1)
    assert not s.is_audited(7, 3, 1, SEED, acc, word)
    assert s.judge_point(7, 3, 1, SEED, acc, 2) == int.from_bytes(
        b2(b"dml:judge" + ctx + SEED + acc + (2).to_bytes(4, "little"))[:16], "little")
    with pytest.raises(ValueError, match="32 bytes"):
        s.cohort_ticket(7, 3, 1, SEED[:31], acc)


@pytest.mark.parametrize(("n", "cohort"), [(50, 1), (50, 17), (200, 100), (30, 29)])
def test_the_cohort_has_exactly_the_asked_size(n: int, cohort: int) -> None:
    eligible = [_account("c", i) for i in range(n)]
    cut, size = s.draw_cohort(1, 2, 0, SEED, eligible, cohort)
    drawn = [a for a in eligible if s.in_cohort(1, 2, 0, SEED, a, cut)]
    assert size == cohort == len(drawn)
    tickets = sorted(s.cohort_ticket(1, 2, 0, SEED, a) for a in eligible)
    assert cut == tickets[cohort - 1]


def test_a_new_round_or_attempt_draws_another_cohort() -> None:
    eligible = [_account("c", i) for i in range(100)]

    def drawn(round_: int, attempt: int) -> set[bytes]:
        cut, _ = s.draw_cohort(1, round_, attempt, SEED, eligible, 10)
        return {a for a in eligible if s.in_cohort(1, round_, attempt, SEED, a, cut)}

    assert drawn(2, 0) != drawn(2, 1) and drawn(2, 0) != drawn(3, 0)


@pytest.mark.parametrize("cohort", [0, 5, 6])
def test_no_cohort_or_a_cohort_as_large_as_the_eligible_draws_everyone(cohort: int) -> None:
    eligible = [_account("c", i) for i in range(5)]
    cut, size = s.draw_cohort(1, 0, 0, SEED, eligible, cohort)
    assert (cut, size) == (s.U64_MAX, 5)
    assert all(s.in_cohort(1, 0, 0, SEED, a, cut) for a in eligible)


def test_judges_are_distinct_members_of_the_electorate() -> None:
    electorate = [(_account("v", k), 1000 + 250 * (k % 4)) for k in range(12)]
    members = {a for a, _ in electorate}
    sizes = Counter()
    for i in range(300):
        c = _account("c", i)
        js = s.judges(4, 1, 0, SEED, c, electorate, 3, 200_000)
        assert len(js) == len(set(js)) and set(js) <= members
        audited = s.is_audited(4, 1, 0, SEED, c, 200_000)
        assert len(js) == (9 if audited else 3)
        sizes[len(js)] += 1
    assert 30 <= sizes[9] <= 90  # about 20 % of 300 audited


def test_an_audit_committee_is_capped_by_the_electorate() -> None:
    electorate = [(_account("v", k), 1000) for k in range(7)]
    js = [s.judges(4, 1, 0, SEED, _account("c", i), electorate, 3, s.MAX_AUDIT_PPM)
          for i in range(40)]
    assert {len(j) for j in js} == {3, 7}


def test_a_three_times_larger_bond_is_drawn_about_three_times_as_often() -> None:
    electorate = [(_account("v", 0), 3000)] + [(_account("v", k), 1000) for k in range(1, 8)]
    counts = Counter(a for i in range(4000)
                     for a in s.judges(9, 5, 0, SEED, _account("c", i), electorate, 1, 0))
    big = counts[electorate[0][0]]
    small = sum(counts[a] for a, _ in electorate[1:]) / 7
    assert sum(counts.values()) == 4000
    assert 2.7 <= big / small <= 3.3  # expected 3 (1200 vs 400 draws)


def test_larger_committees_still_favour_the_larger_bond() -> None:
    electorate = [(_account("v", 0), 3000)] + [(_account("v", k), 1000) for k in range(1, 8)]
    counts = Counter(a for i in range(1000)
                     for a in s.judges(9, 5, 0, SEED, _account("c", i), electorate, 3, 0))
    small = sum(counts[a] for a, _ in electorate[1:]) / 7
    assert counts[electorate[0][0]] > 1.8 * small  # without replacement: less than 3×


@pytest.mark.parametrize("committee", [0, 4, 10])
def test_full_mode_is_the_whole_electorate_in_order(committee: int) -> None:
    electorate = [(_account("v", k), 1000 * (4 - k)) for k in range(4)]
    assert s.full_judging(committee, 4)
    for i in range(5):
        assert s.judges(1, 1, 0, SEED, _account("c", i), electorate, committee,
                        s.MAX_AUDIT_PPM) == [a for a, _ in electorate]
    assert not s.full_judging(3, 4)


def test_zero_bond_members_are_never_drawn() -> None:
    electorate = [(_account("v", 0), 0), (_account("v", 1), 5), (_account("v", 2), 0),
                  (_account("v", 3), 5)]
    for i in range(20):
        js = s.judges(1, 1, 0, SEED, _account("c", i), electorate, 3, 0)
        assert sorted(js) == sorted([_account("v", 1), _account("v", 3)])


def test_the_constants() -> None:
    assert (s.MAX_COMMITTEE, s.AUDIT_FACTOR, s.FULL_JUDGING_BUDGET, s.MAX_AUDIT_PPM) == (
        5, 3, 8192, 500_000)
