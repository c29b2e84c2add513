"""bench/bench_roles.py: the pure helpers that turn a round's blocks into its figures."""

from __future__ import annotations

import pytest

from tests.bench._load import load_bench


@pytest.fixture(scope="module")
def bench():
    return load_bench("bench_roles")


def test_participants_are_spread_over_the_nodes_round_robin(bench) -> None:
    assert [bench.node_of(i, 4) for i in range(6)] == [0, 1, 2, 3, 0, 1]
    assert {bench.node_of(i, 1) for i in range(5)} == {0}


def test_each_phase_lasts_until_the_next_one_opens_and_the_last_until_finalisation(bench) -> None:
    changes = [("Commit", 10), ("Reveal", 11), ("VoteCommit", 13), ("VoteReveal", 14),
               ("Aggregate", 15)]
    stamps = {10: 20_000, 11: 22_000, 13: 26_000, 14: 28_000, 15: 30_000, 16: 32_500}
    spans = bench.phase_spans(changes, 16, stamps)
    assert list(spans) == list(bench.PHASES)
    assert spans["Reveal"] == {"blocks": 2, "s": 4.0}
    assert spans["Aggregate"] == {"blocks": 1, "s": 2.5}
    assert sum(s["blocks"] for s in spans.values()) == 16 - 10


def test_the_targets_are_checked_where_they_exist(bench) -> None:
    assert bench.check_targets(4, 5, 30.0, 2) == {"blocks_per_round": True,
                                                  "finality_lag_blocks": True}
    assert bench.check_targets(16, 9, 12.0, 4) == {"blocks_per_round": False,
                                                   "coordination_s": True,
                                                   "finality_lag_blocks": False}
    assert bench.check_targets(64, 8, 20.5, None) == {"blocks_per_round": True,
                                                      "coordination_s": False}


@pytest.fixture(scope="module")
def committees():
    return load_bench("roles_committees")


def test_evaluations_per_validator_meet_the_committee_goal_with_audits(committees) -> None:
    # 8 updates, 4 validators, committees of 1, 2 audited (committees of 3): 6 + 6 = 12 verdicts
    assigned = {"a": [0, 1, 2], "b": [3, 4, 6, 7], "c": [0, 5], "d": [1, 2, 6]}
    e = committees.evaluations(assigned, 8, 4, 1, 2)
    assert (e["mean"], e["min"], e["max"]) == (3.0, 2, 4)
    assert (e["goal_base"], e["goal_with_audits"], e["mean_within_goal"]) == (2.0, 3.0, True)
    # an audit committee is at most the electorate: 3 × 2 capped at 4 validators
    assert committees.evaluations(assigned, 8, 4, 2, 2)["goal_with_audits"] == 5.0


def test_block_weights_are_shares_of_the_normal_class_and_of_the_block(committees) -> None:
    w = {"normal": {"ref_time": 750, "proof_size": 1}, "operational": {"ref_time": 0},
         "mandatory": {"ref_time": 250}}
    assert committees.weight_shares({7: w}, {"normal_max_total": 1500, "max_block": 2000}) == {
        7: {"normal": 0.5, "total": 0.5}}
