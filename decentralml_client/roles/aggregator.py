"""The aggregator: propose each round's aggregate and finalise rounds.

Anyone may run it to finalise rounds (``finalize_round`` is permissionless). Proposals come
only from the round's electorate (a validator's bond answers for a losing proposal), so it
proposes when it runs with a validator's key: it recomputes exactly what every validator
recomputes (:func:`~decentralml_client.roles.updates.compute_aggregate`), uploads the
weights file and calls ``propose_aggregate``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from decentralml_client.chain import PalletError
from decentralml_client.chain.errors import Kind
from decentralml_client.chain.records import Hash, Task
from decentralml_client.roles.common import RoleContext, RoleError, attempts
from decentralml_client.roles.journal import Journal
from decentralml_client.roles.updates import compute_aggregate


def try_finalize(ctx: RoleContext, task_id: int, r: int) -> bool:
    """Finalise round ``r`` if the chain allows it now; False when it is too early."""
    try:
        ctx.dml.finalize_round(ctx.account.keypair, task_id, r)
    except PalletError as exc:
        if exc.kind in (Kind.NOT_YET, Kind.MISSED):
            return False
        raise
    ctx.emit("finalized", task=task_id, round=r)
    return True


def round_finalizable(ctx: RoleContext, task: Task) -> bool:
    """In the aggregation phase: a model was adopted and every electorate member attested,
    or the phase's deadline has passed."""
    if task.phase != "Aggregate":
        return False
    if task.adopted is not None and task.attesters >= task.electorate_size:
        return True
    head, _ = ctx.chain.head()
    return head >= task.phase_ends_at


def _changed_or_finalizable(ctx: RoleContext, task: Task,
                            finalize: bool) -> Callable[[Task], bool]:
    """A wait condition: the task changed, or (with ``finalize``) its round can be finalised."""
    return lambda t: t != task or (finalize and round_finalizable(ctx, t))


def run_aggregator(ctx: RoleContext, task_id: int, *, finalize: bool = True) -> dict[str, Any]:
    """Propose the aggregate of every round of ``task_id`` and finalise rounds until it ends."""
    journal = Journal.for_role(ctx.data_dir, "aggregator", ctx.address, task_id)
    proposed = 0
    for at in attempts(ctx, task_id, journal):
        task, r, key = at.task, at.round, at.key
        if (at.phase == "Aggregate" and "proposed" not in at.entry
                and ctx.address in ctx.dml.electorate(task_id, r)):
            try:
                agg = compute_aggregate(ctx, task_id, task)
            except RoleError as exc:  # nothing accepted: the round will fail at finalisation
                journal.update(key, proposed=False, reason=str(exc))
                continue
            cid = ctx.store.add(agg.data)
            try:
                ctx.dml.propose_aggregate(ctx.account.keypair, task_id, r, cid, Hash(agg.hash).raw)
            except PalletError as exc:
                if exc.kind not in (Kind.DONE, Kind.MISSED):
                    raise
            journal.update(key, proposed=True, cid=cid, hash=agg.hash, included=agg.included)
            proposed += 1
            ctx.emit("proposed", task=task_id, round=r, cid=cid, hash=agg.hash,
                     updates=len(agg.included))
            continue
        if finalize and round_finalizable(ctx, task) and try_finalize(ctx, task_id, r):
            continue
        ctx.wait(task_id, _changed_or_finalizable(ctx, task, finalize))
    return {"task": task_id, "proposed": proposed}
