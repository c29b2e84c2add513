"""The consensus and payout rule (decentralml_client.protocol.consensus), the one copy the
simulator and the roles use, with hand-computed expectations."""

from __future__ import annotations

import pytest

from decentralml_client.protocol.consensus import (
    PPM,
    Constants,
    VoteRecord,
    consensus,
    is_accepted,
    quorum_stake,
    settle_round,
    validator_quality,
    weighted_median,
)

HALF = 500_000
TWO_THIRDS = 666_667


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
    verdicts_honest = [(0, True, 3000), (1, False, 0)]
    verdicts_sybil = [(0, False, 0), (1, True, 9000)]
    one = {"honest": VoteRecord(3000, verdicts_honest),
           "attacker": VoteRecord(3000, verdicts_sybil)}
    many = {"honest": VoteRecord(3000, verdicts_honest)}
    many.update({f"sybil{k}": VoteRecord(1000, verdicts_sybil) for k in range(3)})
    for electorate in (one, many):
        accepted, _, stake = consensus([0, 1], electorate, HALF)
        assert stake == {0: 3000, 1: 3000}
        assert accepted == {0: True, 1: True}  # a 50% quorum: ties accept both ways
    for electorate in (one, many):
        accepted, _, _ = consensus([0, 1], electorate, TWO_THIRDS)
        assert accepted == {0: False, 1: False}  # neither side alone reaches 2/3 of stake


def test_quality_is_agreement_squared_times_closeness() -> None:
    accepted = {0: True, 1: True, 2: False}
    medians = {0: 3000, 1: 2000, 2: 0}
    assert validator_quality([(0, True, 3000), (1, True, 2000), (2, False, 0)],
                             accepted, medians, 1000) == (PPM, 0)
    # one verdict wrong, scores within tolerance: A = 2/3, C = 1 - (500+0+0)/3000
    q, wrong = validator_quality([(0, True, 3500), (1, True, 2000), (2, True, 0)],
                                 accepted, medians, 1000)
    assert wrong == 1
    a = 2 * PPM // 3
    c = PPM - 500 * PPM // 3000
    assert q == a * a // PPM * c // PPM


SCENARIO = {
    # 4 submissions, submission 3 is poisoned; the pallet's payout_rule_fixed_scenario test
    # runs the same scenario (bonds 1000, quorum 2/3, reward 10 000, validator share 30%).
    "honest1": [(0, True, 3000), (1, True, 2800), (2, True, 2600), (3, False, 0)],
    "honest2": [(0, True, 3100), (1, True, 2700), (2, True, 2600), (3, False, 0)],
    "accept_all": [(0, True, 5000), (1, True, 5000), (2, True, 5000), (3, True, 5000)],
    "random": [(0, True, 1200), (1, False, 9000), (2, True, 400), (3, True, 7000)],
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
    electorate["reject_all"] = VoteRecord(1000, [(i, False, 0) for i in range(4)], attested="agg")
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
    q, _ = validator_quality([(0, True, 10_000)], {0: True}, {0: 0}, tolerance)
    assert q == 0


def test_the_pallets_fixed_scenario_at_half_quorum() -> None:
    """Figures asserted by the pallet's payout_rule_fixed_scenario (quorum 50%): the poisoned
    update reaches exactly half the stake and is accepted, but its consensus score is 0."""
    electorate = {who: VoteRecord(1000, v, attested="agg") for who, v in SCENARIO.items()}
    s = settle_round(revealed=[0, 1, 2, 3], unrevealed={}, electorate=electorate,
                     quorum_ppm=HALF, min_contributors=1, reward=10_000,
                     validator_share_ppm=300_000, adopted="agg")
    assert s.accepted == {0: True, 1: True, 2: True, 3: True}
    assert s.consensus_scores == {0: 3000, 1: 2800, 2: 2600, 3: 0}
    assert s.quality == {"honest1": 562_500, "honest2": 534_375, "accept_all": 0, "random": 0}
    assert s.validator_pay == {"honest1": 1538, "honest2": 1461}
    assert s.slashes == {"honest1": 12, "honest2": 12, "random": 12}
    assert s.contributor_pay == {0: 2500, 1: 2333, 2: 2166}  # 3 accepted, scored 0: unpaid


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
