"""bench/attack_costs.py: the attack table computed from the runtime's constants."""

from __future__ import annotations

import pytest

from tests.bench._load import load_bench


@pytest.fixture(scope="module")
def attack_costs():
    return load_bench("attack_costs")


@pytest.fixture(scope="module")
def rows(attack_costs):
    return {r.key: r for r in attack_costs.main([])}


@pytest.fixture(scope="module")
def k(attack_costs):
    return attack_costs.runtime_constants()[0]


def test_the_runtime_constants_are_found(k) -> None:
    assert k["SilenceSlash"] == 100_000 and k["VerdictSlash"] == 50_000
    assert k["LosingAttestSlash"] == 50_000 and k["MaxRetries"] == 3
    assert k["MinValidatorBond"] == 2 * 10**12 and k["MinContributorBond"] == 10**12


def test_the_source_parser_agrees_with_the_metadata_when_both_have_them(attack_costs) -> None:
    source = attack_costs.constants_from_source()
    metadata = attack_costs.constants_from_metadata()
    if metadata is not None:
        # the evidence constants (ProbeTolerance, ProbeFloor) may be missing from either
        assert {n: v for n, v in metadata.items() if n in source} == {
            n: v for n, v in source.items() if n in metadata}
        assert set(attack_costs.NEEDED) <= set(metadata) & set(source)


def test_a_sybil_split_gains_nothing(rows) -> None:
    assert rows["sybil"].gain <= 0
    assert "same accept stake" in rows["sybil"].outcome
    assert "still rejected" in rows["sybil"].outcome


def test_a_silent_validator_loses_exactly_the_silence_slash_of_its_bond(rows, k) -> None:
    assert rows["silent"].slashed == k["MinValidatorBond"] * k["SilenceSlash"] // 10**6
    assert rows["silent"].slashed == k["MinValidatorBond"] // 10  # 10 % at runtime values
    assert rows["silent"].gain < 0


def test_deviant_validators_earn_less_than_honest_ones_and_lose_bond(rows, k) -> None:
    bond = k["MinValidatorBond"]
    assert rows["accept_all"].slashed == bond * 1 * k["VerdictSlash"] // (4 * 10**6)
    assert rows["random"].slashed == bond * 2 * k["VerdictSlash"] // (4 * 10**6)
    assert rows["reject_all"].slashed == bond * 3 * k["VerdictSlash"] // (4 * 10**6)
    for key in ("accept_all", "reject_all", "random", "losing_aggregate"):
        assert rows[key].gain < 0, key
        assert "rejected" in rows[key].outcome or "adopted" in rows[key].outcome


def test_a_replaying_validator_is_unevidenced_and_loses_the_verdict_slash(rows, k) -> None:
    # right verdicts, consensus scores, but none carries this round's probe: all 4 losing
    assert rows["replay"].slashed == k["MinValidatorBond"] * 4 * k["VerdictSlash"] // (4 * 10**6)
    assert rows["replay"].gain < 0 and "pay 0 DML" in rows["replay"].gain_text
    assert "unevidenced" in rows["replay"].outcome and "rejected" in rows["replay"].outcome


def test_contributor_attacks_do_not_pay(rows, k) -> None:
    assert rows["free_rider"].gain < 0
    assert "weighs 550" in rows["free_rider"].outcome
    assert rows["unrevealed"].slashed == k["MinContributorBond"] // 10
    assert rows["cancel"].cost > 99 * 10**12  # the round's accepted work is paid
    assert rows["retries"].slashed * (k["MaxRetries"] + 1) == rows["retries"].cost


def test_markdown_is_written(attack_costs, tmp_path) -> None:
    out = tmp_path / "attack_costs.md"
    attack_costs.main(["--markdown", "--out", str(out)])
    text = out.read_text()
    assert text.startswith("# Attack costs")
    assert text.count("\n| ") == 12  # header + 11 rows
