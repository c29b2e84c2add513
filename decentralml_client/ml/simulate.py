"""Off-chain simulation: N contributors × R rounds, in one process, with the real engine.

Every round does what the protocol does, minus the chain and IPFS: each contributor trains
with :func:`~decentralml_client.ml.train.train_local` from the current global model, encodes
its update with the task's encoding (:func:`~decentralml_client.ml.codec.encode_update`);
validators decode every file strictly (:func:`~decentralml_client.ml.codec.decode_tensors`:
a NaN/Inf, oversize or malformed update is rejected); the accepted updates, in ascending
contributor index, are aggregated with the chosen rule and then moved by the task's server
optimiser (:func:`~decentralml_client.ml.aggregate.next_model`, the function the aggregator and
the validators call; its state travels in each round's weights file, whose hash is the round's
``model_hash``); the new global model is evaluated on
held-out test data. If no update survives, or the rule cannot run on what survived, the round
fails and the model stays.

Attacks (``malicious`` contributors, chosen by the seed) start from their honest delta Δ:

* ``sign-flip``: ``−s·Δ`` (boosted sign flip; ``s = attack_scale``, default 4);
* ``scale``: ``s·Δ`` (default 10);
* ``noise``: ``Δ + N(0, s²)`` per coordinate (default 1.0);
* ``nan``: Δ with NaN entries (refused by decoding, so it never reaches aggregation).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
from numpy.typing import NDArray

from decentralml_client.ml import aggregate as agg
from decentralml_client.ml import codec, data
from decentralml_client.ml.acceptance import HISTORY_ROUNDS
from decentralml_client.ml.attacks import (
    DEFAULT_ATTACK_SCALE,
    HISTORY_ATTACKS,
    PublicHistory,
    attack_delta,
    attack_labels,
    check_attack,
    claimed_examples,
    history_delta,
)
from decentralml_client.ml.errors import AggregationError, CodecError, MLError
from decentralml_client.ml.evidence import probe_seed
from decentralml_client.ml.model_spec import (
    ModelSpec,
    default_digits_spec,
    make_initial_weights,
)
from decentralml_client.ml.server_opt import ServerOptimizer, ServerState
from decentralml_client.ml.validators import Economics, ValidatorPanel, expand_strategies
from decentralml_client.protocol.rules import example_weighting as weighting_name
from decentralml_client.protocol.rules import rule_value

PARTITIONS = ("iid", "dirichlet")


def chain_rule(
    rule: str,
    contributors: int,
    malicious: int,
    *,
    beta: float | None = None,
    byzantine: int | None = None,
    keep: int | None = None,
) -> str | dict[str, Any]:
    """The chain's rule value for a CLI rule name (:func:`~decentralml_client.protocol.rules.
    rule_value`), with the simulator's error type."""
    try:
        return rule_value(rule, contributors=contributors, malicious=malicious, beta=beta,
                          byzantine=byzantine, keep=keep)
    except ValueError as e:
        raise MLError(str(e)) from None


def client_seed(seed: int, rnd: int, client: int) -> int:
    """The seed of contributor ``client``'s local batches in round ``rnd`` of a run seeded
    ``seed`` (the simulator's, the TFF reference's and the benchmark's: all see the same
    batches)."""
    return seed * 1_000_003 + rnd * 1009 + client


def _readable(candidates: Mapping[int, Any]) -> dict[int, Any]:
    return {i: c for i, c in candidates.items() if not isinstance(c, BaseException)}


def run_simulation(
    contributors: int = 10,
    rounds: int = 20,
    rule: str | Mapping[str, Any] = "fedavg",
    malicious: int = 0,
    attack: str = "sign-flip",
    encoding: str = "f32",
    topk: float | None = None,
    partition: str = "iid",
    alpha: float = 0.5,
    seed: int = 0,
    *,
    attack_scale: float | None = None,
    beta: float | None = None,
    byzantine: int | None = None,
    keep: int | None = None,
    dp: Any = None,
    test_size: float = 0.25,
    model_spec: ModelSpec | None = None,
    dataset: tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]] | None = None,
    max_update_bytes: int = codec.DEFAULT_MAX_BYTES,
    target_accuracy: float = 0.94,
    validators: int = 3,
    validator_strategies: Sequence[str] = ("honest",),
    economics: Economics | None = None,
    on_round: Callable[[dict[str, Any]], None] | None = None,
    on_update: Callable[[int, int], None] | None = None,
    server_optimizer: Any = None,
    example_weighting: str = "claimed",
    tff_reference: bool = False,
) -> dict[str, Any]:
    """Run the simulation and return its summary (JSON-serialisable).

    ``dataset`` is ``(x_train, y_train, x_test, y_test)``; by default digits split with
    ``test_size`` and ``seed``. ``rule`` is a CLI name (see :data:`RULES`) or a chain rule.
    Validator ``k`` holds every ``validators``-th example of the test split from ``k`` on and
    plays ``validator_strategies[k]`` (one value applies to all). ``server_optimizer`` is a
    :class:`~decentralml_client.ml.server_opt.ServerOptimizer` or its chain value (``None``:
    plain FedAvg steps). FedProx and local epochs/steps come with ``model_spec``.
    ``example_weighting`` (``claimed``, the default: plain FedAvg as in TFF, or
    ``median-capped``, what a task with open admission does; or the chain's value) is how
    FedAvg weights the accepted updates by their claims
    (:func:`~decentralml_client.ml.aggregate.effective_examples`, capped at
    ``economics.max_examples``).

    ``tff_reference``: also run TFF's own algorithm for the task
    (:class:`~decentralml_client.ml.tff_reference.TffReference`) on the same shards, initial
    weights and client batches; every round then carries ``tff_accuracy`` and the summary a
    ``tff`` section (final accuracy, rounds to the target, the largest accuracy gap in points
    and the largest ``|ours − TFF|`` of any weight after any round). With ``claimed`` weights,
    no attackers, every update accepted and ``f32`` updates, the two agree to float32
    rounding.
    """
    from decentralml_client.ml.evaluate import evaluate
    from decentralml_client.ml.tff_runtime import tff_session
    from decentralml_client.ml.train import train_local

    if contributors < 1 or rounds < 0:
        raise MLError("need at least one contributor and a non-negative number of rounds")
    if not 0 <= malicious <= contributors:
        raise MLError(f"malicious must be in 0..{contributors}, got {malicious}")
    check_attack(attack)
    if partition not in PARTITIONS:
        raise MLError(f"unknown partition {partition!r}; choose one of {PARTITIONS}")
    if encoding not in codec.ENCODINGS:
        raise MLError(f"unknown encoding {encoding!r}; choose one of {codec.ENCODINGS}")
    strategies = expand_strategies(validator_strategies, validators)
    try:
        weighting = weighting_name(example_weighting)
    except ValueError as e:
        raise MLError(str(e)) from None
    econ = economics or Economics()
    chain = (
        dict(rule)
        if isinstance(rule, Mapping)
        else chain_rule(rule, contributors, malicious, beta=beta, byzantine=byzantine, keep=keep)
    )
    agg.parse_rule(chain)
    opt = (server_optimizer if isinstance(server_optimizer, ServerOptimizer)
           else ServerOptimizer.from_chain(server_optimizer))
    server_state: ServerState | None = None
    scale = DEFAULT_ATTACK_SCALE[attack] if attack_scale is None else float(attack_scale)

    model_spec = model_spec or default_digits_spec(seed)
    xtr, ytr, xte, yte = dataset or data.load_digits_split(test_size=test_size, seed=seed)
    if partition == "iid":
        shards = data.partition_iid(xtr, ytr, contributors, seed=seed)
    else:
        shards = data.partition_dirichlet(xtr, ytr, contributors, alpha, seed=seed)
    rng = np.random.default_rng([seed, 0xA77AC])
    bad = (
        set(rng.choice(contributors, size=malicious, replace=False).tolist())
        if malicious
        else set()
    )
    panel = ValidatorPanel(strategies, [(xte[k::validators], yte[k::validators])
                                        for k in range(validators)],
                           econ, np.random.default_rng([seed, 0x5EA1]))
    contributor_pay = [0] * contributors
    round_pay: list[list[int]] = [[] for _ in range(contributors)]

    weights = make_initial_weights(model_spec, seed)
    model_hash = codec.file_hash(
        codec.encode_weights(
            weights, model_spec, task="sim", round=0, base_model_hash=model_spec.hash()
        )
    )
    start = time.perf_counter()
    first = evaluate(model_spec, weights, xte, yte)
    reference: Any = None
    history: list[dict[str, Any]] = [
        {
            "round": 0,
            "accuracy": first["accuracy"],
            "loss": first["loss"],
            "accepted": 0,
            "rejected": 0,
            "failed": False,
            "model_hash": model_hash,
        }
    ]
    if tff_reference:
        history[0]["tff_accuracy"] = first["accuracy"]
    sizes: list[int] = []
    rejected_total = 0
    false_rejections = 0
    previous_step: list[NDArray[Any]] | None = None
    public = PublicHistory()
    with tff_session():
        if tff_reference:
            from decentralml_client.ml.tff_reference import TffReference

            reference = TffReference(model_spec, opt, shards, weights, seed)
        for r in range(1, rounds + 1):
            t0 = time.perf_counter()
            files: list[bytes] = []
            train_losses: list[float] = []
            for i, (x, y) in enumerate(shards):
                mode = attack if i in bad else None
                res = train_local(
                    model_spec, weights, x, attack_labels(y, mode, model_spec.num_classes),
                    seed=client_seed(seed, r, i), dp=dp
                )
                train_losses.append(res.metrics["loss"])
                delta = res.delta
                if mode in HISTORY_ATTACKS:
                    delta = history_delta(mode, scale, rng, delta, public, i)
                elif mode is not None:
                    delta = attack_delta(delta, mode, scale, rng, previous_step)
                files.append(
                    codec.encode_update(
                        delta,
                        model_spec,
                        task="sim",
                        round=r,
                        base_model_hash=model_hash,
                        num_examples=claimed_examples(mode, res.num_examples, econ.max_examples),
                        encoding=encoding,
                        topk=topk,
                        allow_nonfinite=i in bad,
                    )
                )
                sizes.append(len(files[-1]))
                if on_update:
                    on_update(r, i)
            candidates: dict[int, list[NDArray[Any]] | BaseException] = {}
            claims: dict[int, int] = {}
            for pay in round_pay:
                pay.append(0)
            for i, f in enumerate(files):  # what every validator fetches and decodes
                try:
                    d = codec.decode_tensors(f, model_spec, kind="delta",
                                            max_bytes=max_update_bytes)
                except CodecError as e:
                    candidates[i] = e
                    continue
                if d.meta["base_model_hash"] != model_hash or d.meta["round"] != r:
                    candidates[i] = MLError("update is for another model or round")
                    continue
                candidates[i] = d.tensors
                claims[i] = d.num_examples
            seed_bytes = probe_seed(0, r, 0, [bytes.fromhex(codec.file_hash(f)[2:])
                                              for f in files])
            verdict = panel.play_round(model_spec, weights, candidates, previous_step,
                                       public, seed_bytes)
            accepted_ids = [i for i in range(contributors) if verdict.accepted.get(i)]
            rejected_total += contributors - len(accepted_ids)
            false_rejections += sum(1 for i in range(contributors)
                                    if i not in bad and not verdict.accepted.get(i))
            failed = not verdict.success
            reasons = verdict.reasons
            if not failed:
                deltas = [candidates[i] for i in accepted_ids]
                counts = agg.effective_examples([claims[i] for i in accepted_ids],
                                                econ.max_examples, weighting)
                try:
                    new, server_state = agg.next_model(
                        chain, opt, weights, server_state, deltas, counts  # type: ignore[arg-type]
                    )
                    previous_step = [n.astype(np.float64) - w
                                     for n, w in zip(new, weights, strict=False)]
                    public.add(_readable(candidates), previous_step, HISTORY_ROUNDS)
                    weights = new
                    for i, amount in verdict.contributor_pay.items():
                        contributor_pay[i] += amount
                        round_pay[i][-1] = amount
                except AggregationError as e:
                    failed = True
                    reasons.append(f"round failed: {e}")
            if failed:  # its revealed updates are public all the same
                public.add(_readable(candidates), None, HISTORY_ROUNDS)
            model_hash = codec.file_hash(
                codec.encode_weights(
                    weights, model_spec, task="sim", round=r, base_model_hash=model_hash,
                    server_state=server_state,
                )
            )
            ev = evaluate(model_spec, weights, xte, yte)
            item: dict[str, Any] = {
                "round": r,
                "accuracy": ev["accuracy"],
                "loss": ev["loss"] if math.isfinite(ev["loss"]) else None,
                "accepted": len(accepted_ids),
                "accepted_ids": accepted_ids if not failed else [],
                "rejected": contributors - len(accepted_ids),
                "failed": failed,
                "train_loss": float(np.mean(train_losses)),
                "seconds": round(time.perf_counter() - t0, 3),
                "model_hash": model_hash,
            }
            if reference is not None:
                theirs = reference.next_round(r)
                item["tff_accuracy"] = evaluate(model_spec, theirs, xte, yte)["accuracy"]
                item["tff_weight_gap"] = max(
                    float(np.max(np.abs(np.asarray(a, np.float64) - b)))
                    for a, b in zip(weights, theirs, strict=True))
            if reasons:
                item["notes"] = reasons[:5]
            history.append(item)
            if on_round:
                on_round(item)

    accs = [h["accuracy"] for h in history]
    reach = next((h["round"] for h in history if h["accuracy"] >= target_accuracy), None)
    extra: dict[str, Any] = {}
    if tff_reference:
        theirs = [h["tff_accuracy"] for h in history]
        extra["tff"] = {
            "algorithm": ("build_weighted_fed_prox" if model_spec.prox_mu > 0
                          else "build_weighted_fed_avg"),
            "final_accuracy": theirs[-1],
            "best_accuracy": max(theirs),
            "first_round_at_target": next(
                (h["round"] for h in history if h["tff_accuracy"] >= target_accuracy), None),
            "max_gap_pp": round(100 * max(abs(a - b) for a, b in zip(accs, theirs,
                                                                     strict=True)), 2),
            "max_weight_gap": max(h["tff_weight_gap"] for h in history[1:]) if rounds else 0.0,
        }
    return {
        **extra,
        "final_accuracy": accs[-1],
        "final_loss": history[-1]["loss"],
        "best_accuracy": max(accs),
        "initial_accuracy": accs[0],
        "rounds": history,
        "bytes_per_update": float(np.mean(sizes)) if sizes else 0.0,
        "bytes_per_param": float(np.mean(sizes)) / model_spec.num_params if sizes else 0.0,
        "num_params": model_spec.num_params,
        "rejected_updates": rejected_total,
        "false_rejections": false_rejections,
        "validators": panel.report(),
        "contributors": [
            {"index": i, "malicious": i in bad, "reward": contributor_pay[i],
             "round_rewards": round_pay[i]}
            for i in range(contributors)
        ],
        "target_accuracy": target_accuracy,
        "first_round_at_target": reach,
        "final_model_hash": model_hash,
        "seconds": round(time.perf_counter() - start, 2),
        "config": {
            "contributors": contributors,
            "rounds": rounds,
            "rule": chain,
            "server_optimizer": opt.to_chain(),
            "example_weighting": weighting,
            "prox_mu": model_spec.prox_mu,
            "local_epochs": model_spec.local_epochs,
            "local_steps": model_spec.local_steps,
            "malicious": malicious,
            "malicious_ids": sorted(bad),
            "attack": attack if malicious else None,
            "attack_scale": scale if malicious else None,
            "encoding": encoding,
            "topk": topk,
            "partition": partition,
            "alpha": alpha if partition == "dirichlet" else None,
            "seed": seed,
            "test_size": test_size,
            "train_examples": len(xtr),
            "test_examples": len(xte),
            "model_spec_hash": model_spec.hash(),
            "validators": validators,
            "validator_strategies": strategies,
            "economics": asdict(econ),
            "dp": None
            if dp is None
            else {"clip_norm": dp.clip_norm, "noise_multiplier": dp.noise_multiplier},
        },
    }


def plot_accuracy(summary: Mapping[str, Any], path: str, *, title: str | None = None) -> None:
    """Write a PNG of test accuracy (and the loss on a second axis, when the rows carry
    one) per round (matplotlib, Agg backend). ``summary["rounds"]``
    holds ``{"round", "accuracy", "loss"?}`` rows; ``round`` counts rounds completed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rs = summary["rounds"]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.plot([h["round"] for h in rs], [h["accuracy"] for h in rs], marker="o", markersize=3,
            label="accuracy")
    cfg = summary.get("config", {})
    ax.set_title(
        title or f"{cfg.get('contributors')} contributors, rule {cfg.get('rule')}, "
        f"{cfg.get('malicious', 0)} malicious",
        fontsize=9,
    )
    ax.set_xlabel("round")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    losses = [(h["round"], h["loss"]) for h in rs if h.get("loss") is not None]
    if losses:
        ax2 = ax.twinx()
        ax2.plot(*zip(*losses, strict=True), color="C1", marker="s", markersize=3,
                 linestyle="--", label="loss")
        ax2.set_ylabel("loss")
        ax2.set_ylim(bottom=0)
        fig.legend(loc="lower left", bbox_to_anchor=(0.1, 0.12), fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def rounds_to(summary: Mapping[str, Any], target: float) -> int | None:
    """The first round whose global model reaches ``target`` test accuracy (None: never)."""
    return next((h["round"] for h in summary["rounds"] if h["accuracy"] >= target), None)


TFF_CURVE = " · TFF"  # suffix of the label of TFF's curve beside a run's (drawn dashed)


def with_tff_curves(runs: Mapping[str, Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The runs plus, for each run made with ``tff_reference``, TFF's curve labelled
    ``<label>`` + :data:`TFF_CURVE` (for :func:`plot_comparison`)."""
    out: dict[str, Mapping[str, Any]] = {}
    for label, summary in runs.items():
        out[label] = summary
        if "tff" in summary:
            out[label + TFF_CURVE] = {"rounds": [
                {"round": h["round"], "accuracy": h["tff_accuracy"]} for h in summary["rounds"]]}
    return out


def plot_comparison(runs: Mapping[str, Mapping[str, Any]], path: str, *,
                    title: str | None = None) -> None:
    """Write a PNG with the test accuracy per round of several runs (one line per label,
    e.g. one per rule, server optimiser or Dirichlet α) on one chart (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    for label, summary in runs.items():
        rs = summary["rounds"]
        ax.plot([h["round"] for h in rs], [h["accuracy"] for h in rs], marker="o",
                markersize=2, linewidth=1.2, label=label,
                linestyle="--" if label.endswith(TFF_CURVE) else "-")
    for target in (0.90, 0.94):
        ax.axhline(target, color="grey", linewidth=0.6, linestyle=":")
    ax.set_title(title or "test accuracy per round", fontsize=9)
    ax.set_xlabel("round")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
