"""The validator: check and evaluate every revealed update, vote once, attest the aggregate.

For each revealed submission of the round it fetches the signed update manifest (hash on
chain), verifies the contributor's signature and that the manifest names this task, round
and base model, fetches the tensor file (hash in the manifest), decodes it strictly (names,
shapes, dtypes, NaN/Inf), applies it to M_r and measures accuracy on its own held-out data.
An update is accepted when it does not raise the model's loss on the validator's data by
more than ``tolerance`` (relative): cross-entropy moves smoothly with honest training, where
accuracy early in training jumps around; poisoned updates raise the loss many-fold.
All verdicts go in one ``vote``. In the aggregation phase it recomputes the aggregate itself
and attests the proposal whose hash matches, with the new model's accuracy as its score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from decentralml_client.chain import PalletError
from decentralml_client.roles.aggregator import compute_aggregate, load_update
from decentralml_client.roles.common import RoleContext, RoleError, attempts
from decentralml_client.roles.journal import Journal


@dataclass(frozen=True)
class ValidatorOptions:
    tolerance: float = 0.05  # accept an update unless it raises the loss by more than this
    propose: bool = False  # also propose the aggregate when nobody has
    max_rounds: int | None = None


def basis_points(accuracy: float) -> int:
    return max(0, min(10_000, round(accuracy * 10_000)))


def run_validator(ctx: RoleContext, task_id: int, x_val: np.ndarray, y_val: np.ndarray,
                  opts: ValidatorOptions = ValidatorOptions()) -> dict[str, Any]:
    from decentralml_client.ml.evaluate import apply_delta, evaluate

    journal = Journal.for_role(ctx.data_dir, "validator", ctx.address, task_id)
    cache: dict[str, dict[int, tuple[list[np.ndarray], int]]] = {}
    voted_rounds = 0
    for at in attempts(ctx, task_id, journal):
        task, r, retries, phase, key, entry = (at.task, at.round, at.retries, at.phase, at.key,
                                               at.entry)
        if opts.max_rounds is not None and voted_rounds >= opts.max_rounds and phase == "Commit":
            break
        updates = cache.setdefault(key, {})

        if phase == "Vote" and "voted" not in entry:
            manifest = ctx.manifest(task)
            base, _ = ctx.global_model(task)
            base_eval = evaluate(manifest, base, x_val, y_val)
            base_loss = base_eval["loss"]
            verdicts: list[tuple[int, bool, int]] = []
            reasons: dict[int, str] = {}
            for index, sub in sorted(ctx.dml.submissions(task_id, r).items()):
                if sub["status"] != "Revealed":
                    continue
                try:
                    delta, n = load_update(ctx, task_id, task, index, sub)
                except Exception as exc:  # any defect in an update is a reject, with a reason
                    verdicts.append((index, False, 0))
                    reasons[index] = f"{exc.__class__.__name__}: {exc}"
                    continue
                ev = evaluate(manifest, apply_delta(base, delta), x_val, y_val)
                accept = ev["loss"] <= base_loss * (1 + opts.tolerance)
                if accept:
                    updates[index] = (delta, n)
                else:
                    reasons[index] = (f"loss {ev['loss']:.4f} > base {base_loss:.4f} "
                                      f"x (1 + {opts.tolerance})")
                verdicts.append((index, accept, basis_points(ev["accuracy"])))
            try:
                if verdicts:
                    ctx.dml.vote(ctx.account.keypair, task_id, r, verdicts)
            except PalletError as exc:
                if exc.name not in ("AlreadyVoted", "WrongPhase"):
                    raise
            journal.update(key, voted=True, verdicts=verdicts, reasons=reasons,
                           base_loss=base_loss, base_accuracy=base_eval["accuracy"])
            voted_rounds += 1
            ctx.emit("voted", task=task_id, round=r, verdicts=verdicts, reasons=reasons)
            continue

        if phase == "Aggregate" and "attested" not in entry:
            try:
                agg = compute_aggregate(ctx, task_id, task, cache=updates)
            except RoleError:
                journal.update(key, attested=False, reason="nothing accepted")
                continue
            proposals = ctx.dml.proposals(task_id, r)
            if any(p["hash"] == agg.hash for p in proposals):
                score = basis_points(
                    evaluate(ctx.manifest(task), agg.weights, x_val, y_val)["accuracy"])
                try:
                    ctx.dml.attest_aggregate(ctx.account.keypair, task_id, r,
                                             bytes.fromhex(agg.hash[2:]), score)
                except PalletError as exc:
                    if exc.name not in ("AlreadyAttested", "WrongPhase"):
                        raise
                journal.update(key, attested=True, hash=agg.hash, score=score)
                ctx.emit("attested", task=task_id, round=r, hash=agg.hash, score=score)
                continue
            if opts.propose and not proposals:
                cid = ctx.store.add(agg.data)
                ctx.dml.propose_aggregate(ctx.account.keypair, task_id, r, cid,
                                          bytes.fromhex(agg.hash[2:]))
                ctx.emit("proposed", task=task_id, round=r, cid=cid, hash=agg.hash)
                continue
            # Wait for a proposal (or a change of phase).
            ctx.wait(task_id, lambda t: t != task or len(ctx.dml.proposals(task_id, r)) != len(proposals))
            continue

        ctx.wait(task_id, lambda t: (t["round"], t["retries"], t["phase"]) != (r, retries, phase))
    return {"task": task_id, "rounds": voted_rounds}
