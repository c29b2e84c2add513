"""Cohorts and committees in the simulator (ml/sampled.py, docs/committees.md): each round only
the drawn contributors train, each update is judged by its committee only (so a validator's
evaluations follow cohort × committee, not contributors × validators), the settlement uses the
committee rules, and ``--compare-full`` tells how often judging by everyone agrees. Small
sizes: the figures at a thousand contributors are bench/bench_simulate_scale.py's."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from decentralml_client.ml.sampled import Sampler, Sampling
from decentralml_client.ml.simulate import run_simulation


def test_the_draw_has_the_cohort_and_committees_asked_for() -> None:
    plan = Sampling(cohort=12, committee=3, audit=200_000)
    sampler = Sampler(7, 50, 10, plan)
    draw = sampler.draw(1, [1000] * 10)
    assert len(draw.members) == 12 and draw.members == sorted(draw.members)
    assert draw.judges is not None and set(draw.judges) == set(draw.members)
    for i, js in draw.judges.items():
        assert len(set(js)) == len(js) == (9 if i in draw.audited else 3)
        assert all(0 <= k < 10 for k in js)
    assert Sampler(7, 50, 10, plan).draw(1, [1000] * 10) == draw  # a function of the seed
    assert sampler.draw(2, [1000] * 10).members != draw.members


def test_a_cohort_without_a_committee_is_judged_by_everyone() -> None:
    draw = Sampler(0, 20, 4, Sampling(cohort=5)).draw(3, [1] * 4)
    assert len(draw.members) == 5 and draw.judges is None and draw.audited == []


@pytest.mark.parametrize("bad", [Sampling(committee=6), Sampling(committee=2, audit=600_000),
                                 Sampling(cohort=3, audit=100_000)])
def test_impossible_designs_are_refused(bad: Sampling) -> None:
    from decentralml_client.ml.errors import MLError

    with pytest.raises(MLError):
        run_simulation(contributors=4, rounds=0, validators=8, sampling=bad)


def test_numpy_forward_is_the_keras_model(model_spec, digits) -> None:
    from decentralml_client.ml.evaluate import loss_gradient, numpy_forward, predict_proba
    from decentralml_client.ml.model_spec import make_initial_weights

    w = make_initial_weights(model_spec, 3)
    x, y = digits[2][:40], digits[3][:40]
    keras_p, keras_g = predict_proba(model_spec, w, x), loss_gradient(model_spec, w, x, y)
    with numpy_forward():
        np_p, np_g = predict_proba(model_spec, w, x), loss_gradient(model_spec, w, x, y)
    assert np.max(np.abs(keras_p - np_p)) < 1e-6
    for a, b in zip(keras_g, np_g, strict=True):
        assert np.max(np.abs(a - b)) <= 1e-5 * max(1.0, float(np.max(np.abs(a))))


@pytest.fixture(scope="module")
def sampled() -> dict:
    return run_simulation(contributors=40, rounds=2, validators=8, seed=0,
                          sampling=Sampling(cohort=10, committee=2, audit=250_000,
                                            compare_full=True))


def test_only_the_cohort_trains_and_committees_judge(sampled: dict) -> None:
    s = sampled["sampling"]
    assert s["cohort_sizes"] == [10, 10] and s["updates"] == 20
    rounds = sampled["rounds"][1:]
    for r in rounds:
        assert r["accepted"] + r["rejected"] == r["cohort"] == 10
        # Each update is judged by 2 validators (6 when audited), not all 8.
        assert r["evaluations"] == 2 * (10 - r["audited"]) + 6 * r["audited"]
        assert r["evaluations_max"] <= 10 and r["evaluations_mean"] == r["evaluations"] / 8
    assert s["evaluations"] < s["evaluations_if_everyone_judged"] == 20 * 8
    assert 0.0 <= s["agreement_with_full"] <= 1.0 and s["agreeing_updates"] <= 20
    paid = [c for c in sampled["contributors"] if c["reward"] > 0]
    drawn = {i for r in rounds for i in r["accepted_ids"]}
    assert {c["index"] for c in paid} <= drawn
    assert sampled["config"]["sampling"]["committee"] == 2


def test_without_a_cohort_or_committee_the_summary_is_as_before() -> None:
    s = run_simulation(contributors=3, rounds=1, validators=2, seed=0)
    assert "sampling" not in s and "sampling" not in s["config"]
    assert "cohort" not in s["rounds"][1]


def test_cli_simulate_with_a_cohort_and_committees() -> None:
    from decentralml_client.cli.main import app

    runner = CliRunner()
    res = runner.invoke(app, ["simulate", "-n", "12", "-r", "1", "--validators", "6",
                              "--cohort", "4", "--committee", "2", "--audit", "20%",
                              "--compare-full", "--json"])
    assert res.exit_code == 0, res.output
    s = json.loads(res.stdout)["sampling"]
    assert s["cohort_sizes"] == [4] and s["audit_ppm"] == 200_000 and "agreement_with_full" in s
    bad = runner.invoke(app, ["simulate", "-n", "4", "-r", "1", "--audit", "10%"])
    assert bad.exit_code != 0
