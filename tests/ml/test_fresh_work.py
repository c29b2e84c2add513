"""Only fresh work pays (ml/acceptance.py's fresh value, ml/evidence.py's probes): re-used
public history — an earlier update, another's or one's own, perturbed at any strength, a
linear combination of public updates and steps, noise scaled to the model's recent change —
is refused and scores 0; validators that do not evaluate earn nothing in every round."""

from __future__ import annotations

import numpy as np
import pytest

from decentralml_client.ml.acceptance import judge_updates
from decentralml_client.ml.attacks import HISTORY_ATTACKS, PublicHistory, history_delta
from decentralml_client.ml.data import partition_iid
from decentralml_client.ml.evaluate import apply_delta
from decentralml_client.ml.evidence import Prober, probe_batch, probe_seed
from decentralml_client.ml.model_spec import DIGITS_DATA, make_initial_weights, mlp_spec

FAST = mlp_spec(64, (32,), 10, data=DIGITS_DATA, learning_rate=0.5)
STRENGTHS = (0.0, 0.01, 0.1, 0.3, 0.5, 1.0, 3.0)
HONEST = 5


@pytest.fixture(scope="module")
def three_rounds(digits):
    """Five honest contributors over three rounds: each round's updates, the global model
    and the public history a validator holds at round 2."""
    from decentralml_client.ml.tff_runtime import tff_session
    from decentralml_client.ml.train import train_local

    x_tr, y_tr, x_te, y_te = digits
    shards = partition_iid(x_tr, y_tr, HONEST, seed=0)
    weights = make_initial_weights(FAST, 0)
    public = PublicHistory()
    with tff_session():
        for r in range(3):
            deltas = [train_local(FAST, weights, x, y, seed=100 * r + i).delta
                      for i, (x, y) in enumerate(shards)]
            if r == 2:
                return weights, deltas, public, (x_te[::3], y_te[::3])
            step = [np.mean([np.asarray(d[t], np.float64) for d in deltas], axis=0)
                    for t in range(len(weights))]
            public.add(dict(enumerate(deltas)), step, keep=2)
            weights = apply_delta(weights, step)
    raise AssertionError("unreachable")


def test_honest_updates_are_accepted_and_paid_for_their_fresh_part(three_rounds) -> None:
    base, honest, public, (x, y) = three_rounds
    judged = judge_updates(FAST, base, dict(enumerate(honest)), x, y,
                           previous_step=public.steps[-1], history=public.deltas())
    assert all(j.accept and j.score > 0 for j in judged.values()), judged
    assert all(j.freshness is not None and j.freshness >= 3.0 for j in judged.values())


@pytest.mark.parametrize("attack", HISTORY_ATTACKS)
def test_history_reuse_earns_nothing_at_any_strength(three_rounds, attack: str) -> None:
    """The adaptive attacker sweeps its perturbation strength (and, through the attacks, the
    source it copies from): no setting scores above 0; a near-copy (strength ≤ 0.01) and a
    perturbation much larger than honest work's fresh part (strength 3) and noise are refused
    outright."""
    base, honest, public, (x, y) = three_rounds
    rng = np.random.default_rng(7)
    for strength in STRENGTHS:
        rider = history_delta(attack, strength, rng, honest[0], public, me=HONEST)
        assert any(np.any(t != 0) for t in rider), (attack, strength)
        candidates = dict(enumerate(honest)) | {HONEST: rider}
        judged = judge_updates(FAST, base, candidates, x, y,
                               previous_step=public.steps[-1], history=public.deltas())
        j = judged[HONEST]
        assert j.score == 0, (attack, strength, j)
        if strength <= 0.01 or strength >= 3.0 or (attack == "noise-rider" and strength > 0):
            assert not j.accept, (attack, strength, j)
        assert sum(judged[i].accept for i in range(HONEST)) >= HONEST - 1, (attack, judged)


def test_without_history_a_replayed_update_would_be_paid(three_rounds) -> None:
    """The rule's history is what makes re-use worthless: the same replay judged without it
    is accepted and paid like work (so the test above could fail)."""
    base, honest, public, (x, y) = three_rounds
    rider = history_delta("replay-old", 0.1, np.random.default_rng(7), honest[0], public,
                          me=HONEST)
    judged = judge_updates(FAST, base, dict(enumerate(honest)) | {HONEST: rider}, x, y)
    assert judged[HONEST].accept and judged[HONEST].score > 0


def test_probes_are_the_same_for_every_honest_validator_and_need_the_update(three_rounds) -> None:
    base, honest, _, _ = three_rounds
    seed = probe_seed(3, 2, 0, [bytes(32), bytes([1]) * 32])
    assert probe_batch(FAST, seed).tobytes() == probe_batch(FAST, seed).tobytes()
    other = probe_seed(3, 2, 1, [bytes(32), bytes([1]) * 32])
    assert probe_batch(FAST, seed).tobytes() != probe_batch(FAST, other).tobytes()
    batch = probe_batch(FAST, seed)
    assert batch.min() >= 0.0 and batch.max() <= 1.0  # the task's feature range
    a, b = Prober(FAST, base, seed), Prober(FAST, base, seed)
    probes = [a.probe(d) for d in honest]
    assert probes == [b.probe(d) for d in honest]
    assert len(set(probes)) == len(probes) and min(probes) > 0
    assert a.probe([np.zeros_like(t) for t in honest[0]]) == 0
    assert a.probe(ValueError("could not fetch")) == 0
    assert Prober(FAST, base, other).probe(honest[0]) != probes[0]


def test_lazy_validators_earn_nothing_in_every_round() -> None:
    """4 honest validators and 3 that vote without evaluating (3/7 of the stake): in every
    round the lazy ones earn at most 10 % (here: nothing) of the honest mean and lose bond."""
    from decentralml_client.ml.simulate import run_simulation

    for lazy in ("copy", "accept-all"):
        s = run_simulation(contributors=5, rounds=3, malicious=1, attack="replay", seed=0,
                           model_spec=FAST, validators=7,
                           validator_strategies=["honest"] * 4 + [lazy] * 3)
        vs = s["validators"]
        for r in range(3):
            honest = [v["round_rewards"][r] for v in vs if v["strategy"] == "honest"]
            assert min(honest) > 0, vs
            for v in vs:
                if v["strategy"] == lazy:
                    assert v["round_rewards"][r] <= 0.1 * np.mean(honest), (lazy, r, vs)
        assert all(v["bond"] < 1_000_000 for v in vs if v["strategy"] == lazy), vs
        assert all(c["reward"] == 0 for c in s["contributors"] if c["malicious"]), s


def test_perturbed_copies_never_enter_the_aggregate() -> None:
    """"Accepted" means it helps: a copy of public history perturbed by half or all of its
    norm may escape refusal (its cosine with the source falls below the copy test's), but its
    consensus value is 0, so it is not averaged in; the attested model is the honest seats'
    (the same as when the attackers' seats send nothing usable at all)."""
    from decentralml_client.ml.simulate import run_simulation

    def play(attack: str, strength: float) -> dict:
        return run_simulation(contributors=6, rounds=3, malicious=2, attack=attack,
                              attack_scale=strength, seed=0, model_spec=FAST,
                              example_weighting="median-capped")

    alone = play("free-rider", 1.0)  # refused outright: the honest seats alone
    for attack in ("replay", "history-mix"):
        for strength in (0.5, 1.0):
            s = play(attack, strength)
            bad = set(s["config"]["malicious_ids"])
            for r in s["rounds"]:
                assert not bad & set(r.get("aggregated_ids", [])), (attack, strength, r)
            assert all(c["reward"] == 0 for c in s["contributors"] if c["malicious"])
            assert abs(s["final_accuracy"] - alone["final_accuracy"]) <= 0.01, (
                attack, strength, s["final_accuracy"], alone["final_accuracy"])
