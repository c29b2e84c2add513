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

With a cohort or a committee (:class:`~decentralml_client.ml.sampled.Sampling`) each round
only the drawn contributors train and each update is judged by its committee only
(:mod:`decentralml_client.ml.sampled`, docs/committees.md); evaluations run in numpy
(:func:`~decentralml_client.ml.evaluate.numpy_forward`) so that a round's work is that of its
cohort.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
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
from decentralml_client.ml.data import client_seed as client_seed
from decentralml_client.ml.errors import AggregationError, CodecError, MLError
from decentralml_client.ml.evaluate import numpy_forward
from decentralml_client.ml.evidence import probe_seed
from decentralml_client.ml.model_spec import (
    ModelSpec,
    default_digits_spec,
    make_initial_weights,
)

# The plots live in ml/plots.py; re-exported here, where callers have always found them.
from decentralml_client.ml.plots import TFF_CURVE as TFF_CURVE
from decentralml_client.ml.plots import plot_accuracy as plot_accuracy
from decentralml_client.ml.plots import plot_comparison as plot_comparison
from decentralml_client.ml.plots import rounds_to as rounds_to
from decentralml_client.ml.plots import with_tff_curves as with_tff_curves
from decentralml_client.ml.sampled import Draw, Sampler, Sampling, round_stats
from decentralml_client.ml.sampled import summary as sampling_summary
from decentralml_client.ml.server_opt import ServerOptimizer, ServerState
from decentralml_client.ml.sim_report import config_summary, tff_summary
from decentralml_client.ml.validators import Economics, ValidatorPanel, expand_strategies
from decentralml_client.protocol.consensus import aggregated
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


def _readable(candidates: Mapping[int, Any]) -> dict[int, Any]:
    return {i: c for i, c in candidates.items() if not isinstance(c, BaseException)}


@dataclass(frozen=True)
class SimConfig:
    """What one simulation runs (see :func:`run_simulation` for each field's meaning)."""

    contributors: int
    rounds: int
    chain: str | dict[str, Any]  # the chain's rule value
    opt: ServerOptimizer
    weighting: str  # the chain's example weighting name
    malicious: int
    attack: str
    scale: float
    encoding: str
    topk: float | None
    partition: str
    alpha: float
    seed: int
    dp: Any
    test_size: float
    max_update_bytes: int
    target_accuracy: float
    validators: int
    strategies: list[str]
    econ: Economics
    sampling: Sampling = field(default_factory=Sampling)


class _Simulation:
    """One simulation's state between rounds: the global model, its hash and server state,
    the public history, the validator panel and what each contributor was paid."""

    def __init__(self, cfg: SimConfig, model_spec: ModelSpec,
                 dataset: tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]],
                 initial: list[NDArray[Any]] | None) -> None:
        from decentralml_client.ml.evaluate import evaluate

        self.cfg, self.spec = cfg, model_spec
        self.xtr, self.ytr, self.xte, self.yte = dataset
        n = cfg.contributors
        if cfg.partition == "iid":
            self.shards = data.partition_iid(self.xtr, self.ytr, n, seed=cfg.seed)
        else:
            self.shards = data.partition_dirichlet(self.xtr, self.ytr, n, cfg.alpha,
                                                   seed=cfg.seed)
        self.rng = np.random.default_rng([cfg.seed, 0xA77AC])
        self.bad = (set(self.rng.choice(n, size=cfg.malicious, replace=False).tolist())
                    if cfg.malicious else set())
        k = cfg.validators
        self.panel = ValidatorPanel(cfg.strategies, [(self.xte[i::k], self.yte[i::k])
                                                     for i in range(k)],
                                    cfg.econ, np.random.default_rng([cfg.seed, 0x5EA1]))
        self.sampler = (Sampler(cfg.seed, n, k, cfg.sampling) if cfg.sampling.active
                        else None)
        self.draw_stats: dict[str, Any] = {}
        self.contributor_pay = [0] * n
        self.round_pay: list[list[int]] = [[] for _ in range(n)]
        self.weights = initial if initial is not None else make_initial_weights(model_spec,
                                                                               cfg.seed)
        self.server_state: ServerState | None = None
        self.model_hash = codec.file_hash(codec.encode_weights(
            self.weights, model_spec, task="sim", round=0, base_model_hash=model_spec.hash()))
        self.previous_step: list[NDArray[Any]] | None = None
        self.public = PublicHistory()
        self.sizes: list[int] = []
        self.rejected_total = 0
        self.false_rejections = 0
        first = evaluate(model_spec, self.weights, self.xte, self.yte)
        self.history: list[dict[str, Any]] = [{
            "round": 0, "accuracy": first["accuracy"], "loss": first["loss"], "accepted": 0,
            "rejected": 0, "failed": False, "model_hash": self.model_hash}]

    def train(self, r: int, on_update: Callable[[int, int], None] | None,
              members: Sequence[int]) -> tuple[dict[int, bytes], list[float]]:
        """Each drawn contributor's encoded update of round ``r`` (attackers' poisoned) and
        its training loss."""
        from decentralml_client.ml.train import train_local

        cfg, spec = self.cfg, self.spec
        files: dict[int, bytes] = {}
        losses: list[float] = []
        for i in members:
            x, y = self.shards[i]
            mode = cfg.attack if i in self.bad else None
            res = train_local(spec, self.weights, x, attack_labels(y, mode, spec.num_classes),
                              seed=client_seed(cfg.seed, r, i), dp=cfg.dp)
            losses.append(res.metrics["loss"])
            delta = res.delta
            if mode in HISTORY_ATTACKS:
                delta = history_delta(mode, cfg.scale, self.rng, delta, self.public, i)
            elif mode is not None:
                delta = attack_delta(delta, mode, cfg.scale, self.rng, self.previous_step)
            files[i] = (codec.encode_update(
                delta, spec, task="sim", round=r, base_model_hash=self.model_hash,
                num_examples=claimed_examples(mode, res.num_examples, cfg.econ.max_examples),
                encoding=cfg.encoding, topk=cfg.topk, allow_nonfinite=i in self.bad))
            self.sizes.append(len(files[i]))
            if on_update:
                on_update(r, i)
        return files, losses

    def decode(self, r: int, files: Mapping[int, bytes]
               ) -> tuple[dict[int, list[NDArray[Any]] | BaseException], dict[int, int]]:
        """What every validator fetches and decodes: each update's tensors (or why it is
        unreadable) and its claimed example count."""
        candidates: dict[int, list[NDArray[Any]] | BaseException] = {}
        claims: dict[int, int] = {}
        for i, f in files.items():
            try:
                d = codec.decode_tensors(f, self.spec, kind="delta",
                                         max_bytes=self.cfg.max_update_bytes)
            except CodecError as e:
                candidates[i] = e
                continue
            if d.meta["base_model_hash"] != self.model_hash or d.meta["round"] != r:
                candidates[i] = MLError("update is for another model or round")
                continue
            candidates[i] = d.tensors
            claims[i] = d.num_examples
        return candidates, claims

    def judge_and_aggregate(self, r: int, files: Mapping[int, bytes], draw: Draw | None
                            ) -> tuple[list[int], list[int], bool, list[str]]:
        """The validators' verdicts on round ``r``'s updates and the next global model from
        the accepted ones that add value (:func:`~decentralml_client.protocol.consensus.
        aggregated`): (accepted contributors, those in the aggregate, whether the round
        failed, notes)."""
        cfg = self.cfg
        candidates, claims = self.decode(r, files)
        for pay in self.round_pay:
            pay.append(0)
        seed_bytes = probe_seed(0, r, 0, [bytes.fromhex(codec.file_hash(f)[2:])
                                          for f in files.values()])
        verdict = self.panel.play_round(
            self.spec, self.weights, candidates, self.previous_step, self.public, seed_bytes,
            judges=draw.judges if draw else None,
            compare_full=draw is not None and cfg.sampling.compare_full)
        if draw is not None:
            self.draw_stats = round_stats(draw, verdict.evaluations, verdict.full_accepted,
                                          verdict.accepted)
        accepted = [i for i in files if verdict.accepted.get(i)]
        self.rejected_total += len(files) - len(accepted)
        self.false_rejections += sum(1 for i in files
                                     if i not in self.bad and not verdict.accepted.get(i))
        failed, reasons = not verdict.success, verdict.reasons
        included = aggregated(accepted, verdict.scores)
        if not failed:
            deltas = [candidates[i] for i in included]
            counts = agg.effective_examples([claims[i] for i in included],
                                            cfg.econ.max_examples, cfg.weighting)
            try:
                new, self.server_state = agg.next_model(
                    cfg.chain, cfg.opt, self.weights, self.server_state, deltas,  # type: ignore[arg-type]
                    counts)
                self.previous_step = [n.astype(np.float64) - w
                                      for n, w in zip(new, self.weights, strict=False)]
                self.public.add(_readable(candidates), self.previous_step, HISTORY_ROUNDS)
                self.weights = new
                for i, amount in verdict.contributor_pay.items():
                    self.contributor_pay[i] += amount
                    self.round_pay[i][-1] = amount
            except AggregationError as e:
                failed = True
                reasons.append(f"round failed: {e}")
        if failed:  # its revealed updates are public all the same
            self.public.add(_readable(candidates), None, HISTORY_ROUNDS)
        self.model_hash = codec.file_hash(codec.encode_weights(
            self.weights, self.spec, task="sim", round=r, base_model_hash=self.model_hash,
            server_state=self.server_state))
        return accepted, included, failed, reasons

    def round(self, r: int, reference: Any,
              on_update: Callable[[int, int], None] | None) -> dict[str, Any]:
        """Play round ``r``; its history row."""
        from decentralml_client.ml.evaluate import evaluate

        t0 = time.perf_counter()
        draw = self.sampler.draw(r, self.panel.joined) if self.sampler else None
        members = draw.members if draw else range(self.cfg.contributors)
        files, losses = self.train(r, on_update, members)
        accepted, included, failed, reasons = self.judge_and_aggregate(r, files, draw)
        ev = evaluate(self.spec, self.weights, self.xte, self.yte)
        item: dict[str, Any] = {
            "round": r, "accuracy": ev["accuracy"],
            "loss": ev["loss"] if math.isfinite(ev["loss"]) else None,
            "accepted": len(accepted), "accepted_ids": accepted if not failed else [],
            "aggregated_ids": included if not failed else [],
            "rejected": len(files) - len(accepted), "failed": failed,
            "train_loss": float(np.mean(losses)), "seconds": round(time.perf_counter() - t0, 3),
            "model_hash": self.model_hash,
        }
        if reference is not None:
            theirs = reference.next_round(r)
            item["tff_accuracy"] = evaluate(self.spec, theirs, self.xte, self.yte)["accuracy"]
            item["tff_weight_gap"] = max(
                float(np.max(np.abs(np.asarray(a, np.float64) - b)))
                for a, b in zip(self.weights, theirs, strict=True))
        if draw is not None:
            item.update(self.draw_stats)
        if reasons:
            item["notes"] = reasons[:5]
        self.history.append(item)
        return item


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
    initial_weights: list[NDArray[Any]] | None = None,
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
    sampling: Sampling | None = None,
) -> dict[str, Any]:
    """Run the simulation and return its summary (JSON-serialisable).

    ``dataset`` is ``(x_train, y_train, x_test, y_test)``; by default digits split with
    ``test_size`` and ``seed``. ``model_spec`` is the task's model (default: the digits MLP)
    and ``initial_weights`` its starting weights (default: drawn from ``seed``; a user's model
    from `model init` brings its own). ``rule`` is a CLI name (see :data:`RULES`) or a chain rule.
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

    ``sampling``: a cohort, a committee and an audit share (docs/committees.md), each round
    drawn with :mod:`decentralml_client.protocol.sampling` (the summary's ``sampling``
    section: cohort sizes, evaluations per validator, audits and, with ``compare_full``, how
    often the committees' outcome is the whole electorate's).
    """
    from decentralml_client.ml.tff_runtime import tff_session

    cfg = _config(contributors, rounds, rule, malicious, attack, encoding, topk, partition,
                  alpha, seed, attack_scale=attack_scale, beta=beta, byzantine=byzantine,
                  keep=keep, dp=dp, test_size=test_size, max_update_bytes=max_update_bytes,
                  target_accuracy=target_accuracy, validators=validators,
                  validator_strategies=validator_strategies, economics=economics,
                  server_optimizer=server_optimizer, example_weighting=example_weighting,
                  sampling=sampling)
    model_spec = model_spec or default_digits_spec(seed)
    dataset = dataset or data.load_digits_split(test_size=test_size, seed=seed)
    start = time.perf_counter()
    sim = _Simulation(cfg, model_spec, dataset, initial_weights)
    reference: Any = None
    if tff_reference:
        sim.history[0]["tff_accuracy"] = sim.history[0]["accuracy"]
    with tff_session():
        if tff_reference:
            from decentralml_client.ml.tff_reference import TffReference

            reference = TffReference(model_spec, cfg.opt, sim.shards, sim.weights, seed)
        fast = numpy_forward() if sim.sampler else contextlib.nullcontext()
        with fast:
            for r in range(1, rounds + 1):
                item = sim.round(r, reference, on_update)
                if on_round:
                    on_round(item)
    summary = _summary(sim, tff_reference)
    summary["seconds"] = round(time.perf_counter() - start, 2)
    return summary


def _config(contributors: int, rounds: int, rule: str | Mapping[str, Any], malicious: int,
            attack: str, encoding: str, topk: float | None, partition: str, alpha: float,
            seed: int, *, attack_scale: float | None, beta: float | None,
            byzantine: int | None, keep: int | None, dp: Any, test_size: float,
            max_update_bytes: int, target_accuracy: float, validators: int,
            validator_strategies: Sequence[str], economics: Economics | None,
            server_optimizer: Any, example_weighting: str,
            sampling: Sampling | None = None) -> SimConfig:
    """The simulation's settings, checked (an :class:`MLError` names what is wrong)."""
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
    plan = sampling or Sampling()
    plan.check()
    try:
        weighting = weighting_name(example_weighting)
    except ValueError as e:
        raise MLError(str(e)) from None
    chain = (dict(rule) if isinstance(rule, Mapping)
             else chain_rule(rule, contributors, malicious, beta=beta, byzantine=byzantine,
                             keep=keep))
    agg.parse_rule(chain)
    opt = (server_optimizer if isinstance(server_optimizer, ServerOptimizer)
           else ServerOptimizer.from_chain(server_optimizer))
    scale = DEFAULT_ATTACK_SCALE[attack] if attack_scale is None else float(attack_scale)
    return SimConfig(contributors=contributors, rounds=rounds, chain=chain, opt=opt,
                     weighting=weighting, malicious=malicious, attack=attack, scale=scale,
                     encoding=encoding, topk=topk, partition=partition, alpha=alpha, seed=seed,
                     dp=dp, test_size=test_size, max_update_bytes=max_update_bytes,
                     target_accuracy=target_accuracy, validators=validators,
                     strategies=strategies, econ=economics or Economics(),
                     sampling=plan)


def _summary(sim: _Simulation, tff_reference: bool) -> dict[str, Any]:
    """The run's summary (JSON-serialisable): accuracy per round, pay, what was refused."""
    cfg, history, spec = sim.cfg, sim.history, sim.spec
    accs = [h["accuracy"] for h in history]
    sizes = sim.sizes
    reach = next((h["round"] for h in history if h["accuracy"] >= cfg.target_accuracy), None)
    return {
        **({"tff": tff_summary(sim)} if tff_reference else {}),
        "final_accuracy": accs[-1],
        "final_loss": history[-1]["loss"],
        "best_accuracy": max(accs),
        "initial_accuracy": accs[0],
        "rounds": history,
        "bytes_per_update": float(np.mean(sizes)) if sizes else 0.0,
        "bytes_per_param": float(np.mean(sizes)) / spec.num_params if sizes else 0.0,
        "num_params": spec.num_params,
        "rejected_updates": sim.rejected_total,
        "false_rejections": sim.false_rejections,
        "validators": sim.panel.report(),
        "contributors": [
            {"index": i, "malicious": i in sim.bad, "reward": sim.contributor_pay[i],
             "round_rewards": sim.round_pay[i]}
            for i in range(cfg.contributors)
        ],
        "target_accuracy": cfg.target_accuracy,
        "first_round_at_target": reach,
        "final_model_hash": sim.model_hash,
        "config": config_summary(sim),
        **({"sampling": sampling_summary(cfg.sampling, history, cfg.validators,
                                         cfg.contributors)} if sim.sampler else {}),
    }
