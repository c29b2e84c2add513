"""The consensus and payout rule (decentralml_client.protocol.consensus), the one copy the
simulator and the roles use, with hand-computed expectations."""

from __future__ import annotations

import pytest

from decentralml_client.protocol.consensus import (
    PPM,
    Consensus,
    Constants,
    VoteRecord,
    consensus,
    evidenced,
    is_accepted,
    quorum_stake,
    settle_round,
    validator_quality,
    weighted_median,
)

HALF = 500_000
TWO_THIRDS = 666_667
P = 250_000  # a probe every evaluating validator measures alike: every verdict is evidenced


def _c(accepted: dict[int, bool], scores: dict[int, int], probe: int = P) -> Consensus:
    """A consensus whose consensus probe is ``probe`` for every submission."""
    return Consensus(accepted, scores, {i: probe for i in accepted}, {i: 0 for i in accepted})


def test_quorum_stake_rounds_up_like_permill_mul_ceil() -> None:
    assert quorum_stake(TWO_THIRDS, 3_000) == 2_001
    assert quorum_stake(HALF, 3) == 2
    assert quorum_stake(PPM, 7) == 7
    assert not is_accepted(0, HALF, 0)  # no electorate, nothing accepted


def test_weighted_median_is_the_lower_median_by_stake() -> None:
    assert weighted_median([10, 20, 30], [1, 1, 1]) == 20
    assert weighted_median([10, 20, 30, 40], [1, 1, 1, 1]) == 20  # lower median
    assert weighted_median([10, 20, 30], [1, 1, 10]) == 30  # stake decides, not heads
    assert weighted_median([], []) == 0


def test_splitting_a_bond_over_many_accounts_changes_nothing() -> None:
    """Sybil: one 3000 bond against k accounts sharing 3000 accept/reject the same."""
    verdicts_honest = [(0, True, 3000, P), (1, False, 0, P)]
    verdicts_sybil = [(0, False, 0, P), (1, True, 9000, P)]
    one = {"honest": VoteRecord(3000, verdicts_honest),
           "attacker": VoteRecord(3000, verdicts_sybil)}
    many = {"honest": VoteRecord(3000, verdicts_honest)}
    many.update({f"sybil{k}": VoteRecord(1000, verdicts_sybil) for k in range(3)})
    for electorate in (one, many):
        c = consensus([0, 1], electorate, HALF)
        assert c.accept_stake == {0: 3000, 1: 3000}
        assert c.accepted == {0: True, 1: True}  # a 50% quorum: ties accept both ways
    for electorate in (one, many):
        c = consensus([0, 1], electorate, TWO_THIRDS)
        assert c.accepted == {0: False, 1: False}  # neither side alone reaches 2/3 of stake


def test_quality_is_agreement_squared_times_closeness() -> None:
    c = _c({0: True, 1: True, 2: False}, {0: 3000, 1: 2000, 2: 0})
    tol = Constants(score_tolerance=1000)
    assert validator_quality([(0, True, 3000, P), (1, True, 2000, P), (2, False, 0, P)],
                             c, tol) == (PPM, 0)
    # one verdict wrong, scores within tolerance: A = 2/3, C = 1 - (500+0+0)/3000
    q, wrong = validator_quality([(0, True, 3500, P), (1, True, 2000, P), (2, True, 0, P)],
                                 c, tol)
    assert wrong == 1
    a = 2 * PPM // 3
    c = PPM - 500 * PPM // 3000
    assert q == a * a // PPM * c // PPM


SCENARIO = {
    # 4 submissions, submission 3 is poisoned: the votes of the shared vector payout_scenario
    # (chain/pallets/decentralml/vectors/payout.json, run by the pallet's tests and by
    # tests/protocol/test_vectors.py at quorum 1/2), here at quorum 2/3 and with variations.
    # Every verdict carries the same probe P, so every verdict is evidenced and the figures
    # are those of the rule without evidence.
    "honest1": [(0, True, 3000, P), (1, True, 2800, P), (2, True, 2600, P), (3, False, 0, P)],
    "honest2": [(0, True, 3100, P), (1, True, 2700, P), (2, True, 2600, P), (3, False, 0, P)],
    "accept_all": [(0, True, 5000, P), (1, True, 5000, P), (2, True, 5000, P),
                   (3, True, 5000, P)],
    "random": [(0, True, 1200, P), (1, False, 9000, P), (2, True, 400, P), (3, True, 7000, P)],
}


DEFAULTS = Constants()


def _settle(adopted: str | None = "agg", constants: Constants = DEFAULTS):
    electorate = {who: VoteRecord(1000, v, attested=adopted) for who, v in SCENARIO.items()}
    return settle_round(revealed=[0, 1, 2, 3], unrevealed={}, electorate=electorate,
                        quorum_ppm=TWO_THIRDS, min_contributors=1, reward=10_000,
                        validator_share_ppm=300_000, adopted=adopted, constants=constants)


def test_fixed_scenario_honest_validators_earn_the_most() -> None:
    s = _settle()
    assert s.success
    assert s.accepted == {0: True, 1: True, 2: True, 3: False}
    assert s.consensus_scores == {0: 3000, 1: 2800, 2: 2600, 3: 0}
    pay = s.validator_pay
    for deviant in ("accept_all", "random"):
        assert pay["honest1"] > pay.get(deviant, 0) and pay["honest2"] > pay.get(deviant, 0)
    assert "accept_all" not in pay and "random" not in pay
    assert sum(pay.values()) <= 3_000
    # contributors: paid by consensus score, the poisoned one nothing
    assert s.contributor_pay == {0: 7_000 * 3000 // 8400, 1: 7_000 * 2800 // 8400,
                                 2: 7_000 * 2600 // 8400}
    # losing verdicts cost bond: accept-all lost 1 of 4, random 2 of 4 (5% x share)
    assert s.slashes == {"accept_all": 1000 * 1 * 50_000 // (4 * PPM),
                         "random": 1000 * 2 * 50_000 // (4 * PPM)}


def test_reject_all_and_silence_earn_nothing_and_cost_bond() -> None:
    electorate = {who: VoteRecord(1000, v, attested="agg") for who, v in SCENARIO.items()
                  if who.startswith("honest")}
    electorate["reject_all"] = VoteRecord(1000, [(i, False, 0, P) for i in range(4)],
                                          attested="agg")
    electorate["silent"] = VoteRecord(1000, None)
    s = settle_round(revealed=[0, 1, 2, 3], unrevealed={}, electorate=electorate,
                     quorum_ppm=HALF, min_contributors=1, reward=10_000,
                     validator_share_ppm=300_000, adopted="agg")
    assert s.accepted == {0: True, 1: True, 2: True, 3: False}
    assert "silent" not in s.validator_pay and s.slashes["silent"] == 100  # 10% of 1000
    assert s.validator_pay["reject_all"] < s.validator_pay["honest1"] // 10
    assert s.slashes["reject_all"] == 1000 * 3 * 50_000 // (4 * PPM)


def test_backing_a_losing_aggregate_costs_bond_and_pay() -> None:
    electorate = {who: VoteRecord(1000, v, attested="agg") for who, v in SCENARIO.items()}
    electorate["random"] = VoteRecord(1000, SCENARIO["random"], attested="junk", proposed="junk")
    s = settle_round(revealed=[0, 1, 2, 3], unrevealed={}, electorate=electorate,
                     quorum_ppm=TWO_THIRDS, min_contributors=1, reward=10_000,
                     validator_share_ppm=300_000, adopted="agg")
    assert "random" not in s.validator_pay
    assert s.slashes["random"] == 1000 * 2 * 50_000 // (4 * PPM) + 50  # verdicts + 5%


def test_unrevealed_commitments_are_slashed_and_failed_rounds_pay_nothing() -> None:
    s = _settle(adopted=None)
    assert not s.success and s.paid == 0
    assert s.slashes  # losing verdicts still cost bond
    s = settle_round(revealed=[], unrevealed={"lazy": 1_000}, electorate={},
                     quorum_ppm=HALF, min_contributors=1, reward=10_000,
                     validator_share_ppm=300_000, adopted=None)
    assert s.slashes == {"lazy": 100}


@pytest.mark.parametrize("tolerance", [500, 1000, 4000])
def test_closeness_never_goes_negative(tolerance: int) -> None:
    q, _ = validator_quality([(0, True, 10_000, P)], _c({0: True}, {0: 0}),
                             Constants(score_tolerance=tolerance))
    assert q == 0


def test_silence_costs_nothing_before_the_vote_and_slashes_stop_at_the_bond() -> None:
    electorate = {"v": VoteRecord(1000, None)}
    s = settle_round(revealed=[], unrevealed={}, electorate=electorate, quorum_ppm=HALF,
                     min_contributors=1, reward=10, validator_share_ppm=0, adopted=None)
    assert s.slashes == {}
    big = Constants(silence_slash=PPM, losing_attest_slash=PPM)
    electorate = {"v": VoteRecord(1000, None, attested="junk")}
    s = settle_round(revealed=[0], unrevealed={}, electorate=electorate, quorum_ppm=HALF,
                     min_contributors=1, reward=10, validator_share_ppm=0, adopted="agg",
                     constants=big)
    assert s.slashes == {"v": 1000}


# -- evidence: a verdict counts only if its probe matches the consensus probe ------------------


def _replayed(probe: int) -> dict[str, list[tuple[int, bool, int, int]]]:
    """The fixed scenario with "accept_all" replaced by a validator that evaluated nothing:
    the right verdicts and last round's scores, but a probe of its own (``probe``)."""
    out = dict(SCENARIO)
    out["accept_all"] = [(0, True, 3000, probe), (1, True, 2800, probe),
                         (2, True, 2600, probe), (3, False, 0, probe)]
    return out


def test_an_unevidenced_verdict_earns_nothing_and_counts_as_losing() -> None:
    electorate = {who: VoteRecord(1000, v, attested="agg") for who, v in _replayed(7).items()}
    s = settle_round(revealed=[0, 1, 2, 3], unrevealed={}, electorate=electorate,
                     quorum_ppm=TWO_THIRDS, min_contributors=1, reward=10_000,
                     validator_share_ppm=300_000, adopted="agg")
    # its verdicts agree with the consensus, but none is evidenced: all 4 count as losing
    assert s.quality["accept_all"] == 0 and "accept_all" not in s.validator_pay
    assert s.slashes["accept_all"] == 1000 * 4 * 50_000 // (4 * PPM)
    assert s.validator_pay["honest1"] > 0 and s.validator_pay["honest2"] > 0
    # the same verdicts with the round's probe are a perfect vote
    c = consensus([0, 1, 2, 3], electorate, TWO_THIRDS)
    assert c.probes == {i: P for i in range(4)}
    assert validator_quality(_replayed(P)["accept_all"], c) == (
        validator_quality(SCENARIO["honest1"], c))
    assert validator_quality(_replayed(7)["accept_all"], c) == (0, 4)
    # acceptance looks at stake, not at the probe
    assert c.accept_stake == {0: 4000, 1: 3000, 2: 4000, 3: 1000}


def test_the_consensus_score_ignores_unevidenced_scores() -> None:
    # two evaluating validators (1000 each) against three replaying ones with a wrong probe
    # and a high score: with evidence ignored they would set the median (5000)
    electorate = {"a": VoteRecord(1000, [(0, True, 3000, P)]),
                  "b": VoteRecord(1000, [(0, True, 3200, P)])}
    electorate |= {f"r{k}": VoteRecord(600, [(0, True, 5000, P + 10 * k + 50_000)])
                   for k in range(3)}
    c = consensus([0], electorate, HALF)
    assert c.probes == {0: P}  # bond-weighted lower median of 1000, 1000, 600 x 3 probes
    assert c.scores == {0: 3000}  # median of the evidenced scores only
    assert c.accepted == {0: True} and c.accept_stake == {0: 3800}


@pytest.mark.parametrize(("median", "delta", "matches"), [
    (5_000_000, 5_000, True),  # 0.1 % of the median: within
    (5_000_000, 5_001, False),  # just beyond
    (5_000_000, -5_000, True),
    (5_000_000, -5_001, False),
    (200_000, 1_000, True),  # 0.1 % is 200, below the floor of 1000: the floor applies
    (200_000, 1_001, False),
    (0, 1_000, True),  # an unreadable update's probe is 0: the floor still applies
    (0, 1_001, False),
])
def test_probe_tolerance_edges(median: int, delta: int, matches: bool) -> None:
    assert evidenced(median + delta, median) is matches
    c = _c({0: True}, {0: 4000}, probe=median)
    q, wrong = validator_quality([(0, True, 4000, median + delta)], c)
    assert (q, wrong) == ((PPM, 0) if matches else (0, 1))


def test_only_accepted_updates_with_a_positive_value_enter_the_aggregate() -> None:
    from decentralml_client.protocol import aggregated

    # 3 was accepted but adds nothing (consensus score 0): it is not averaged in; 5 was refused.
    assert aggregated([0, 1, 3], {0: 120, 1: 4, 3: 0, 5: 900}) == [0, 1]
    # Nothing accepted has a value: the accepted updates still move the model.
    assert aggregated([2, 0], {0: 0, 2: 0}) == [0, 2]
    assert aggregated([], {1: 50}) == []
