"""What the creator paid for: the adopted models of a task, fetched, checked and evaluated.

:func:`pull_model` fetches the adopted model of a finalised round from IPFS and accepts it only
when its bytes hash to the hash the validators attested on chain, its lineage checks
(:func:`~decentralml_client.roles.lineage.check_lineage`), and — unless the task is private,
whose updates only its validators can open — the aggregate recomputed from the round's
accepted updates (fetched, signature-checked, decoded strictly) has that same hash.
:func:`evaluate_rounds` evaluates the initial model and each round's adopted model on the
creator's own data.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from numpy.typing import NDArray

from decentralml_client.chain.records import Hash, Task
from decentralml_client.ml.codec import decode_tensors
from decentralml_client.ml.model_spec import ModelSpec
from decentralml_client.roles.common import RoleContext
from decentralml_client.roles.lineage import (
    Lineage,
    LineageError,
    check_lineage,
    finished_rounds,
    read_lineage,
)
from decentralml_client.storage.errors import IntegrityError


class TamperedModel(IntegrityError):
    """The model IPFS served does not hash to the hash attested on chain: it is refused."""

    hint = ("the file was altered or swapped on IPFS: do not use it. Fetch it again from "
            "another IPFS node (--ipfs), or report the node that served it.")


@dataclass(frozen=True)
class PulledModel:
    """An adopted model that passed every check."""

    spec: ModelSpec
    weights: list[NDArray[Any]]
    data: bytes  # the weights file exactly as attested
    round: int
    lineage: Lineage
    recomputed: bool  # whether the aggregate was recomputed from the accepted updates


def reader_context(chain: Any, store: Any, data_dir: Any) -> RoleContext:
    """A role context for reading only: a throwaway account (it never signs anything)."""
    from decentralml_client.keys import Account

    return RoleContext(chain=chain, store=store, account=Account(os.urandom(32), name="reader"),
                       data_dir=data_dir)


def fetch_adopted(ctx: RoleContext, task_id: int, task: Task, cid: str,
                  digest: str, r: int | None) -> tuple[list[NDArray[Any]], bytes]:
    """Weights of an adopted model (``r`` None: the initial model), hash-checked."""
    spec = ctx.model_spec(task)
    what = "initial model" if r is None else f"adopted model of round {r}"
    try:
        data = ctx.store.fetch(cid, digest)
    except IntegrityError as exc:
        raise TamperedModel(f"task {task_id}: the {what} served by IPFS ({cid}) does not hash "
                            f"to the attested hash {digest}; refused. {exc}") from None
    decoded = decode_tensors(data, spec, kind="weights")
    return decoded.tensors, data


def pull_model(ctx: RoleContext, task_id: int, round_: int | None = None, *,
               recompute: bool = True) -> PulledModel:
    """The adopted model of round ``round_`` (default: the last finalised), fully checked."""
    task = ctx.task(task_id)
    lineage = read_lineage(ctx.dml, task_id, round_)
    check_lineage(lineage)
    rl = lineage.last
    weights, data = fetch_adopted(ctx, task_id, task, rl.model_cid, rl.model_hash, rl.round)
    done = False
    if recompute and not task.spec.private:
        got = recompute_round(ctx, task_id, task, rl.round)
        if got != rl.model_hash:
            raise LineageError(f"task {task_id} round {rl.round}: the aggregate of the accepted "
                               f"updates is {got}, not the adopted {rl.model_hash}")
        done = True
    return PulledModel(ctx.model_spec(task), weights, data, rl.round, lineage, done)


def recompute_round(ctx: RoleContext, task_id: int, task: Task, r: int) -> str:
    """The hash of round ``r``'s aggregate, recomputed as every validator does."""
    from decentralml_client.roles.updates import compute_aggregate

    if r == 0:  # RoleContext.global_model reads the initial weights for this view
        base_cid, base_hash = task.spec.model_cid, Hash(task.spec.model_hash)
    else:
        before = ctx.dml.round_summary(task_id, r - 1)
        if before is None:
            raise LineageError(f"task {task_id}: round {r - 1} has no summary on chain")
        base_cid, base_hash = before.model_cid, before.model_hash
    view = replace(task, round=r, model_cid=base_cid, model_hash=base_hash)
    return compute_aggregate(ctx, task_id, view).hash


def evaluate_rounds(ctx: RoleContext, task_id: int, x: Any, y: Any,
                    progress: Callable[[int, int], None] = lambda done, total: None
                    ) -> list[dict[str, Any]]:
    """Loss and accuracy on ``(x, y)`` of the initial model and of each round's adopted model,
    beside the accuracy the validators attested for it."""
    from decentralml_client.ml.evaluate import evaluate

    task = ctx.task(task_id)
    spec = ctx.model_spec(task)
    models: list[tuple[int | None, str, str, int | None]] = [
        (None, str(spec.initial_weights_cid), str(spec.initial_weights_hash), None)]
    for done in finished_rounds(ctx.dml, task_id):
        s = ctx.dml.round_summary(task_id, done)
        assert s is not None
        models.append((done, s.model_cid, s.model_hash, s.attested_score))
    rows = []
    for step, (r, cid, digest, attested) in enumerate(models):
        weights, _ = fetch_adopted(ctx, task_id, task, cid, digest, r)
        m = evaluate(spec, weights, x, y)
        rows.append({"round": r, "model_cid": cid, "model_hash": digest,
                     "accuracy": m["accuracy"], "loss": m["loss"],
                     "num_examples": m["num_examples"],
                     "attested_accuracy": None if attested is None else attested / 10_000})
        progress(step + 1, len(models))
    return rows
