"""Simulation: validators screen attackers and free-riders with the one acceptance rule and are
paid by the pallet's own rule; with screening off (accept-all validators) the robust
aggregation rules still hold against 30% sign-flip attackers; the ``decentralml simulate`` CLI.

To keep CI short the robustness runs use 10 rounds of the digits MLP with a client learning
rate of 0.5 (the default task uses 0.1 and needs more rounds; see docs/ml.md for its curve).
"""

from __future__ import annotations

import json

import pytest

from decentralml_client.ml.model_spec import DIGITS_DATA, mlp_spec
from decentralml_client.ml.simulate import run_simulation
from decentralml_client.ml.tff_runtime import worker_pids

ROUNDS = 10
FAST = mlp_spec(64, (32,), 10, data=DIGITS_DATA, learning_rate=0.5)


@pytest.fixture(scope="module")
def clean() -> dict:
    return run_simulation(contributors=10, rounds=ROUNDS, rule="fedavg", seed=0, model_spec=FAST)


def test_clean_fedavg_learns(clean) -> None:
    assert clean["final_accuracy"] >= 0.85
    assert [r["round"] for r in clean["rounds"]] == list(range(ROUNDS + 1))
    assert clean["rejected_updates"] == 0 and clean["false_rejections"] == 0
    assert all(c["reward"] > 0 for c in clean["contributors"])
    assert worker_pids() == []


def test_validators_screen_thirty_percent_sign_flip(clean) -> None:
    s = run_simulation(contributors=10, rounds=ROUNDS, rule="fedavg", malicious=3,
                       attack="sign-flip", seed=0, model_spec=FAST)
    # Refused (nearly always), and never in the aggregate: a sign-flipped update that escapes
    # the margin in a round has no positive value, so it is not averaged in.
    assert s["rejected_updates"] >= 0.9 * 3 * ROUNDS and s["false_rejections"] == 0
    bad = set(s["config"]["malicious_ids"])
    assert all(not bad & set(r.get("aggregated_ids", [])) for r in s["rounds"]), s["rounds"]
    # The model learns as the honest seats alone do (those three seats refused outright):
    # compared at its best round, as this fast model's last rounds swing by several points
    # with which honest updates a round's aggregate holds.
    alone = run_simulation(contributors=10, rounds=ROUNDS, rule="fedavg", malicious=3,
                           attack="free-rider", seed=0, model_spec=FAST)
    assert s["best_accuracy"] >= alone["best_accuracy"] - 0.03, (s["best_accuracy"],
                                                                  alone["best_accuracy"])
    assert all(c["reward"] == 0 for c in s["contributors"] if c["malicious"])


def test_free_riders_are_refused_and_unpaid(clean) -> None:
    s = run_simulation(contributors=6, rounds=3, malicious=2, attack="free-rider", seed=0,
                       model_spec=FAST)
    assert s["false_rejections"] == 0 and s["rejected_updates"] == 2 * 3
    paid = [c["reward"] for c in s["contributors"]]
    assert all(c["reward"] == 0 for c in s["contributors"] if c["malicious"]), paid
    assert all(c["reward"] > 0 for c in s["contributors"] if not c["malicious"]), paid


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_honest_validators_earn_the_most(seed: int) -> None:
    deviants = ["accept-all", "reject-all", "random", "copy", "silent"]
    s = run_simulation(contributors=5, rounds=3, malicious=1, attack="sign-flip", seed=seed,
                       model_spec=FAST, validators=9,
                       validator_strategies=["honest"] * 4 + deviants)
    by = s["validators"]
    honest = [v for v in by if v["strategy"] == "honest"]
    lowest_honest = min(v["reward"] for v in honest)
    for v in by:
        if v["strategy"] != "honest":
            assert v["reward"] < lowest_honest, by
    start = 1_000_000
    assert all(v["bond"] < start for v in by if v["strategy"] in ("reject-all", "silent", "random"))
    assert all(v["bond"] >= start - 50_000 for v in honest), by


def test_without_screening_sign_flip_breaks_fedavg_not_robust_rules(clean) -> None:
    base = clean["final_accuracy"]
    results = {
        rule: run_simulation(
            contributors=10,
            rounds=ROUNDS,
            rule=rule,
            malicious=3,
            attack="sign-flip",
            seed=0,
            model_spec=FAST,
            validator_strategies=["accept-all"],
        )["final_accuracy"]
        for rule in ("fedavg", "trimmed-mean", "median", "krum")
    }
    assert results["fedavg"] <= 0.3 and results["fedavg"] < base - 0.5, results
    for rule in ("trimmed-mean", "median", "krum"):
        assert results[rule] >= base - 0.15, (rule, results, base)
    assert results["krum"] >= base - 0.05, results  # Krum drops exactly the attackers here


def test_nan_updates_are_refused_by_decoding() -> None:
    s = run_simulation(
        contributors=4,
        rounds=2,
        rule="fedavg",
        malicious=1,
        attack="nan",
        encoding="int8",
        seed=0,
        model_spec=FAST,
    )
    assert s["rejected_updates"] == 2
    assert all(r["accepted"] == 3 and r["rejected"] == 1 for r in s["rounds"][1:])
    assert "NonFiniteError" in s["rounds"][1]["notes"][0]
    assert s["final_accuracy"] > s["initial_accuracy"]


def test_cli_json_summary(tmp_path) -> None:
    from typer.testing import CliRunner

    from decentralml_client.cli.main import app

    png = tmp_path / "acc.png"
    res = CliRunner().invoke(
        app,
        [
            "simulate",
            "--contributors",
            "3",
            "--rounds",
            "2",
            "--rule",
            "median",
            "--malicious",
            "1",
            "--attack",
            "scale",
            "--encoding",
            "f16",
            "--topk",
            "0.5",
            "--partition",
            "dirichlet",
            "--alpha",
            "0.5",
            "--seed",
            "1",
            "--validators",
            "2",
            "--validator-strategy",
            "honest,random",
            "--json",
            "--plot",
            str(png),
        ],
    )
    assert res.exit_code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert 0.0 <= summary["final_accuracy"] <= 1.0
    assert [r["round"] for r in summary["rounds"]] == [0, 1, 2]
    assert all("accuracy" in r for r in summary["rounds"])
    assert summary["bytes_per_update"] > 0
    assert summary["config"]["rule"] == "Median" and summary["config"]["encoding"] == "f16"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [v["strategy"] for v in summary["validators"]] == ["honest", "random"]
    assert all({"reward", "bond"} <= set(v) for v in summary["validators"])
    bad = CliRunner().invoke(app, ["simulate", "--rule", "mean", "--rounds", "1"])
    assert bad.exit_code == 2 and "unknown aggregation rule" in bad.stderr


def test_example_weighting_changes_the_aggregate_on_unequal_shards() -> None:
    runs = {w: run_simulation(contributors=4, rounds=1, partition="dirichlet", alpha=0.3,
                              seed=0, model_spec=FAST, example_weighting=w)
            for w in ("median-capped", "claimed")}
    for w, s in runs.items():
        assert s["config"]["example_weighting"] == w
        assert s["rounds"][1]["accepted"] >= 2 and not s["rounds"][1]["failed"]
    # the same updates, weighted by their claims instead of capped at the median claim
    assert runs["median-capped"]["final_model_hash"] != runs["claimed"]["final_model_hash"]
    assert run_simulation(contributors=4, rounds=1, partition="iid", seed=0, model_spec=FAST,
                          example_weighting="Claimed")["config"]["example_weighting"] == "claimed"


def test_cli_compares_example_weightings() -> None:
    from typer.testing import CliRunner

    from decentralml_client.cli.main import app

    res = CliRunner().invoke(app, ["simulate", "--contributors", "3", "--rounds", "1",
                                   "--partition", "dirichlet", "--alpha", "0.3",
                                   "--example-weighting", "median-capped,claimed", "--json"])
    assert res.exit_code == 0, res.stderr
    runs = {r["label"]: r["config"] for r in json.loads(res.stdout)["runs"]}
    assert {k: c["example_weighting"] for k, c in runs.items()} == {
        "fedavg median-capped α=0.3": "median-capped", "fedavg claimed α=0.3": "claimed"}
    bad = CliRunner().invoke(app, ["simulate", "--example-weighting", "raw", "--rounds", "1"])
    assert bad.exit_code == 2 and "unknown example weighting" in bad.stderr


def test_tff_reference_runs_tffs_own_algorithm_on_the_same_split() -> None:
    # Dirichlet shards of unequal size, FedAdam on the server, claims weighted as claimed:
    # TFF's build_weighted_fed_avg lands on the same weights, round after round
    s = run_simulation(contributors=4, rounds=2, partition="dirichlet", alpha=0.5, seed=0,
                       model_spec=FAST, server_optimizer={"Adam": {
                           "lr": 100_000, "beta1": 900_000, "beta2": 990_000, "tau": 1_000_000}},
                       tff_reference=True)
    assert all("tff_accuracy" in h for h in s["rounds"])
    assert s["tff"]["algorithm"] == "build_weighted_fed_avg"
    assert s["tff"]["max_weight_gap"] <= 1e-6 and s["tff"]["max_gap_pp"] <= 0.5
    # the reference is TFF's, not ours: when our validators let a sign-flipper through, only
    # our model suffers
    bad = run_simulation(contributors=4, rounds=2, malicious=1, attack="sign-flip", seed=0,
                         model_spec=FAST, validator_strategies=("accept-all",),
                         tff_reference=True)
    assert bad["tff"]["max_weight_gap"] > 1e-2
    assert bad["tff"]["final_accuracy"] > bad["final_accuracy"]
    assert worker_pids() == []


def test_cli_tff_reports_both_and_plots_both(tmp_path) -> None:
    from typer.testing import CliRunner

    from decentralml_client.cli.main import app

    png = tmp_path / "acc.png"
    res = CliRunner().invoke(app, ["simulate", "--contributors", "3", "--rounds", "1", "--tff",
                                   "--server-opt", "none,adam", "--json", "--plot", str(png)])
    assert res.exit_code == 0, res.stderr
    runs = json.loads(res.stdout)["runs"]
    assert [r["tff"]["max_weight_gap"] <= 1e-6 for r in runs] == [True, True]
    assert png.stat().st_size > 10_000


def test_with_tff_curves_puts_tffs_curve_beside_each_run_made_with_it() -> None:
    from decentralml_client.ml.simulate import TFF_CURVE, with_tff_curves

    rounds = [{"round": 0, "accuracy": 0.1, "tff_accuracy": 0.1},
              {"round": 1, "accuracy": 0.5, "tff_accuracy": 0.6}]
    runs = {"fedavg": {"rounds": rounds, "tff": {}}, "plain": {"rounds": rounds[:1]}}
    out = with_tff_curves(runs)
    assert list(out) == ["fedavg", "fedavg" + TFF_CURVE, "plain"]
    assert out["fedavg"] is runs["fedavg"] and out["plain"] is runs["plain"]
    assert [(h["round"], h["accuracy"]) for h in out["fedavg" + TFF_CURVE]["rounds"]] == [
        (0, 0.1), (1, 0.6)]


def test_the_users_initial_weights_are_the_starting_point() -> None:
    """``initial_weights`` replaces the seed's: round 0's accuracy is theirs."""
    import numpy as np

    from decentralml_client.ml.data import load_digits_split, split_dataset
    from decentralml_client.ml.evaluate import evaluate
    from decentralml_client.ml.model_spec import make_initial_weights

    xtr, ytr, _, _ = load_digits_split(seed=0)
    dataset = split_dataset(xtr[:400], ytr[:400], 0.25, 0)
    mine = make_initial_weights(FAST, 7)
    s = run_simulation(contributors=2, rounds=1, seed=0, model_spec=FAST, dataset=dataset,
                       initial_weights=mine)
    assert s["rounds"][0]["accuracy"] == evaluate(FAST, mine, dataset[2], dataset[3])["accuracy"]
    assert s["config"]["train_examples"] == 300 and s["config"]["test_examples"] == 100
    assert not np.array_equal(mine[0], make_initial_weights(FAST, 0)[0])
