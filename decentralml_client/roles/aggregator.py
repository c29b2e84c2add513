"""The aggregator: combine the accepted updates into the next global model and propose it.

Anyone may run it. It recomputes exactly what every validator recomputes (the rule of the
task over the accepted updates in ascending submission order, PROTOCOL §5), uploads the
weights file, calls ``propose_aggregate``, and finalises the round once a model is adopted
or the round's deadline has passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from decentralml_client.chain import PalletError
from decentralml_client.chain.api import is_accepted
from decentralml_client.keys import is_sealed, open_sealed
from decentralml_client.ml.aggregate import aggregate
from decentralml_client.ml.codec import decode_tensors, encode_weights, file_hash
from decentralml_client.roles.common import RoleContext, RoleError, attempts, read_update_manifest
from decentralml_client.roles.journal import Journal


@dataclass(frozen=True)
class Aggregate:
    data: bytes
    hash: str
    weights: list[np.ndarray]
    included: list[int]


def load_update(ctx: RoleContext, task_id: int, task: dict[str, Any], index: int,
                sub: dict[str, Any]) -> tuple[list[np.ndarray], int]:
    """Fetch, verify and decode one revealed update: (delta tensors, num_examples).

    Raises on anything wrong: unavailable or swapped content, bad signature, a manifest for
    another task/round/base model, a malformed or non-finite tensor file.
    """
    manifest = ctx.manifest(task)
    _, base_hash = ctx.global_model(task)
    raw = ctx.store.fetch(sub["cid"], sub["update_hash"])
    body = read_update_manifest(raw, sub["contributor"])
    expect = {"task": task_id, "round": int(task["round"]),
              "base_model_hash": base_hash, "num_examples": int(sub["num_examples"])}
    for k, v in expect.items():
        if body.get(k) != v:
            raise RoleError(f"submission {index}: manifest {k}={body.get(k)!r}, expected {v!r}")
    data = ctx.store.fetch(body["update_cid"], body["update_hash"])
    if body.get("sealed") or is_sealed(data):
        data = open_sealed(data, ctx.account)
    decoded = decode_tensors(data, manifest, kind="delta")
    if decoded.meta.get("base_model_hash") != base_hash:
        raise RoleError(f"submission {index}: update built on another model")
    return decoded.tensors, int(sub["num_examples"])


def compute_aggregate(ctx: RoleContext, task_id: int, task: dict[str, Any],
                      cache: dict[int, tuple[list[np.ndarray], int]] | None = None) -> Aggregate:
    """The round's aggregate over the accepted submissions, as canonical weights bytes."""
    r = int(task["round"])
    subs = ctx.dml.submissions(task_id, r)
    accepted = sorted(i for i, s in subs.items() if is_accepted(task, s))
    if not accepted:
        raise RoleError(f"task {task_id} round {r}: no accepted update to aggregate")
    cap = int(task["spec"]["max_examples"])
    deltas, counts = [], []
    for i in accepted:
        if cache is not None and i in cache:
            delta, n = cache[i]
        else:
            delta, n = load_update(ctx, task_id, task, i, subs[i])
        deltas.append(delta)
        counts.append(min(n, cap))
    base, base_hash = ctx.global_model(task)
    weights = aggregate(task["spec"]["rule"], base, deltas, counts)
    data = encode_weights(weights, ctx.manifest(task), task=str(task_id), round=r + 1,
                          base_model_hash=base_hash)
    return Aggregate(data, file_hash(data), weights, accepted)


def try_finalize(ctx: RoleContext, task_id: int, r: int) -> bool:
    """Finalise round ``r`` if the chain allows it now; False when it is too early."""
    try:
        ctx.dml.finalize_round(ctx.account.keypair, task_id, r)
    except PalletError as exc:
        if exc.name in ("RoundNotFinished", "WrongRound", "WrongPhase", "TaskNotActive"):
            return False
        raise
    ctx.emit("finalized", task=task_id, round=r)
    return True


def round_finalizable(ctx: RoleContext, task: dict[str, Any]) -> bool:
    """A model was adopted for the round, or the current phase's deadline has passed."""
    if task.get("adopted") is not None:
        return True
    head, _ = ctx.chain.head()
    return head >= int(task["phase_ends_at"])


def run_aggregator(ctx: RoleContext, task_id: int, *, finalize: bool = True) -> dict[str, Any]:
    """Propose the aggregate of every round of ``task_id`` and finalise rounds until it ends."""
    journal = Journal.for_role(ctx.data_dir, "aggregator", ctx.address, task_id)
    proposed = 0
    for at in attempts(ctx, task_id, journal):
        task, r, key = at.task, at.round, at.key
        if at.phase == "Aggregate" and "proposed" not in at.entry:
            try:
                agg = compute_aggregate(ctx, task_id, task)
            except RoleError as exc:  # nothing accepted: the round will fail at finalisation
                journal.update(key, proposed=False, reason=str(exc))
                continue
            cid = ctx.store.add(agg.data)
            try:
                ctx.dml.propose_aggregate(ctx.account.keypair, task_id, r, cid,
                                          bytes.fromhex(agg.hash[2:]))
            except PalletError as exc:
                if exc.name not in ("AlreadyProposed", "WrongPhase"):
                    raise
            journal.update(key, proposed=True, cid=cid, hash=agg.hash, included=agg.included)
            proposed += 1
            ctx.emit("proposed", task=task_id, round=r, cid=cid, hash=agg.hash,
                     updates=len(agg.included))
            continue
        if finalize and round_finalizable(ctx, task) and try_finalize(ctx, task_id, r):
            continue
        ctx.wait(task_id, lambda t: t != task or (finalize and round_finalizable(ctx, t)))
    return {"task": task_id, "proposed": proposed}
