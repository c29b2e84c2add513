"""The summary pieces of a simulation run (:func:`~decentralml_client.ml.simulate.
run_simulation`): how TFF's own run compares, and the configuration it ran with."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any


def tff_summary(sim: Any) -> dict[str, Any]:
    """How TFF's own run compares with ours (``tff_reference``)."""
    history, target = sim.history, sim.cfg.target_accuracy
    accs = [h["accuracy"] for h in history]
    theirs = [h["tff_accuracy"] for h in history]
    return {
        "algorithm": ("build_weighted_fed_prox" if sim.spec.prox_mu > 0
                      else "build_weighted_fed_avg"),
        "final_accuracy": theirs[-1],
        "best_accuracy": max(theirs),
        "first_round_at_target": next(
            (h["round"] for h in history if h["tff_accuracy"] >= target), None),
        "max_gap_pp": round(100 * max(abs(a - b) for a, b in zip(accs, theirs, strict=True)),
                            2),
        "max_weight_gap": (max(h["tff_weight_gap"] for h in history[1:])
                           if sim.cfg.rounds else 0.0),
    }


def config_summary(sim: Any) -> dict[str, Any]:
    cfg, spec = sim.cfg, sim.spec
    return {
        "contributors": cfg.contributors,
        "rounds": cfg.rounds,
        "rule": cfg.chain,
        "server_optimizer": cfg.opt.to_chain(),
        "example_weighting": cfg.weighting,
        "prox_mu": spec.prox_mu,
        "local_epochs": spec.local_epochs,
        "local_steps": spec.local_steps,
        "malicious": cfg.malicious,
        "malicious_ids": sorted(sim.bad),
        "attack": cfg.attack if cfg.malicious else None,
        "attack_scale": cfg.scale if cfg.malicious else None,
        "encoding": cfg.encoding,
        "topk": cfg.topk,
        "partition": cfg.partition,
        "alpha": cfg.alpha if cfg.partition == "dirichlet" else None,
        "seed": cfg.seed,
        "test_size": cfg.test_size,
        "train_examples": len(sim.xtr),
        "test_examples": len(sim.xte),
        "model_spec_hash": spec.hash(),
        "validators": cfg.validators,
        "validator_strategies": cfg.strategies,
        "economics": asdict(cfg.econ),
        "dp": (None if cfg.dp is None
               else {"clip_norm": cfg.dp.clip_norm, "noise_multiplier": cfg.dp.noise_multiplier}),
        **({"sampling": asdict(cfg.sampling)} if cfg.sampling.active else {}),
    }
