"""Consensus and settlement with committees (docs/committees.md): each update judged by its
judges only, accepted by the quorum of their stake; quality, verdict slash and validator pay
over the n_v submissions a validator judges. Hand-computed expectations."""

from __future__ import annotations

import hashlib

from decentralml_client.protocol import sampling
from decentralml_client.protocol.consensus import (
    Constants,
    RoundSettlement,
    VoteRecord,
    committee_accepts,
    consensus,
    settle_round,
    validator_quality,
)

TWO_THIRDS = 666_666  # the default quorum (units.permill(2 / 3))
P = 250_000  # every evaluating validator measures this probe: every verdict is evidenced
TOL = Constants().score_tolerance


def _settle(electorate: dict[str, VoteRecord], judges: dict[int, list[str]] | None,
            revealed: list[int]) -> RoundSettlement:
    return settle_round(revealed=revealed, unrevealed={}, electorate=electorate,
                        quorum_ppm=TWO_THIRDS, min_contributors=1, reward=10_000,
                        validator_share_ppm=300_000, adopted="agg", judges=judges)


def test_committee_accepts_by_the_quorum_of_its_judges_stake() -> None:
    assert committee_accepts(2000, TWO_THIRDS, [1000, 1000, 1000])  # 2 of 3 equal bonds
    assert not committee_accepts(1000, TWO_THIRDS, [1000, 1000, 1000])
    assert not committee_accepts(3999, TWO_THIRDS, [1000] * 6)  # needs ⌈3 999.996⌉
    assert committee_accepts(4000, TWO_THIRDS, [1000] * 5)  # 4 of 5
    assert not committee_accepts(0, 0, [1000])  # nothing accepted without an accept verdict
    assert not committee_accepts(0, TWO_THIRDS, [])


def test_only_the_judges_verdicts_count() -> None:
    electorate = {
        "a": VoteRecord(1000, [(0, True, 3000, P), (1, False, 0, P)]),
        "b": VoteRecord(1000, [(0, True, 3200, P)]),
        "c": VoteRecord(1000, [(0, False, 100, P), (1, True, 9000, P)]),
        "big": VoteRecord(9000, [(0, False, 0, P), (1, True, 9999, P)]),  # judges nothing
    }
    judges = {0: ["a", "b", "c"], 1: ["a", "c"]}
    c = consensus([0, 1], electorate, TWO_THIRDS, judges=judges)
    assert c.committee_stake == {0: 3000, 1: 2000}
    assert c.accept_stake == {0: 2000, 1: 1000}
    assert c.accepted == {0: True, 1: False}  # 2000 ≥ ⌈2/3·3000⌉; 1000 < ⌈2/3·2000⌉
    assert c.scores == {0: 3000, 1: 0}  # lower medians of the judges' scores
    assert c.assigned("a") == [0, 1] and c.assigned("b") == [0] and c.assigned("big") == []
    # Without committees the big bond decides both.
    full = consensus([0, 1], electorate, TWO_THIRDS)
    assert full.accepted == {0: False, 1: True}


def test_a_missing_verdict_on_an_assigned_update_is_unevidenced() -> None:
    electorate = {w: VoteRecord(1000, [(0, True, 3000, P), (1, True, 2000, P)])
                  for w in ("a", "b")}
    electorate["lazy"] = VoteRecord(1000, [(0, True, 3000, P)])  # omits submission 1
    judges = {0: ["a", "b", "lazy"], 1: ["a", "b", "lazy"]}
    c = consensus([0, 1], electorate, TWO_THIRDS, judges=judges)
    lazy = electorate["lazy"].verdicts or []
    # n_v = 2, one match, deviation 0 + tolerance: A = 1/2, C = 1/2, Q = 1/8.
    assert validator_quality(lazy, c, assigned=c.assigned("lazy")) == (125_000, 1)
    assert validator_quality(electorate["a"].verdicts or [], c,
                             assigned=c.assigned("a")) == (1_000_000, 0)
    s = _settle(electorate, judges, [0, 1])
    assert s.slashes == {"lazy": 1000 * 50_000 // 1_000_000 // 2}  # 5 % × 1/2 of its bond


def test_the_verdict_slash_counts_the_validators_own_assignments() -> None:
    electorate = {
        "h1": VoteRecord(1000, [(0, True, 3000, P), (1, True, 3000, P), (2, False, 0, P)]),
        "h2": VoteRecord(1000, [(0, True, 3000, P), (1, True, 3000, P), (2, False, 0, P)]),
        "bad": VoteRecord(2000, [(2, True, 9000, P)]),
    }
    judges = {0: ["h1", "h2"], 1: ["h1", "h2"], 2: ["h1", "h2", "bad"]}
    s = _settle(electorate, judges, [0, 1, 2])
    assert s.accepted == {0: True, 1: True, 2: False}  # 2000 < ⌈2/3·4000⌉ = 2667
    # bad judges one update and loses it: 5 % of its whole bond (n_v − matches = n_v = 1).
    assert s.slashes == {"bad": 100}
    assert s.quality["bad"] == 0


def test_validator_pay_is_quality_times_the_updates_judged() -> None:
    verdict = (0, True, 3000, P)
    electorate = {
        "small_busy": VoteRecord(1000, [(i, True, 3000, P) for i in range(3)],
                                 attested="agg"),
        "big_idle": VoteRecord(5000, [verdict], attested="agg"),
        "other": VoteRecord(1000, [(i, True, 3000, P) for i in range(3)], attested="agg"),
    }
    judges = {0: ["small_busy", "big_idle", "other"], 1: ["small_busy", "other"],
              2: ["small_busy", "other"]}
    s = _settle(electorate, judges, [0, 1, 2])
    assert s.success and all(q == 1_000_000 for q in s.quality.values())
    # Pool 3000 split 3:1:3 by n_v, whatever the bonds.
    assert s.validator_pay == {"small_busy": 3000 * 3 // 7, "big_idle": 3000 // 7,
                               "other": 3000 * 3 // 7}
    full = _settle(electorate, None, [0, 1, 2])
    assert full.validator_pay["big_idle"] > full.validator_pay["small_busy"]


def test_judges_from_the_sampler_settle_a_round() -> None:
    """The draws of protocol.sampling feed the consensus: honest judges everywhere accept every
    honest update and reject the junk one; nobody is slashed."""
    seed = hashlib.blake2b(b"round", digest_size=32).digest()
    accounts = [hashlib.blake2b(f"v{k}".encode(), digest_size=32).digest() for k in range(10)]
    contributors = [hashlib.blake2b(f"c{i}".encode(), digest_size=32).digest()
                    for i in range(12)]
    electorate_order = [(a, 1000) for a in accounts]
    judges = {i: [a.hex() for a in sampling.judges(1, 1, 0, seed, c, electorate_order, 3,
                                                    100_000)]
              for i, c in enumerate(contributors)}
    electorate = {}
    for a in accounts:
        mine = sorted(i for i, js in judges.items() if a.hex() in js)
        electorate[a.hex()] = VoteRecord(1000, [(i, i != 5, 3000 if i != 5 else 0, P)
                                                for i in mine], attested="agg")
    s = _settle(electorate, judges, list(range(12)))
    assert s.accepted == {i: i != 5 for i in range(12)}
    assert s.slashes == {}
    assert sum(s.validator_pay.values()) <= 3000
    busy = {w: len([i for i, js in judges.items() if w in js]) for w in electorate}
    assert sum(busy.values()) == sum(len(js) for js in judges.values())
    assert all(s.validator_pay.get(w, 0) == 3000 * n // sum(busy.values())
               for w, n in busy.items())


def test_everyone_judging_everything_matches_the_full_consensus() -> None:
    electorate = {
        "h1": VoteRecord(1000, [(0, True, 3000, P), (1, False, 0, P)]),
        "h2": VoteRecord(3000, [(0, True, 3100, P), (1, False, 100, P)]),
        "x": VoteRecord(1000, [(0, False, 9000, P), (1, True, 9000, 7)]),
    }
    everyone = {0: list(electorate), 1: list(electorate)}
    full = consensus([0, 1], electorate, TWO_THIRDS)
    com = consensus([0, 1], electorate, TWO_THIRDS, judges=everyone)
    assert (com.accepted, com.scores, com.probes, com.accept_stake) == (
        full.accepted, full.scores, full.probes, full.accept_stake)
    for rec in electorate.values():
        v = rec.verdicts or []
        assert validator_quality(v, com, assigned=[0, 1]) == validator_quality(v, full)
