"""The aggregator: propose each round's aggregate and finalise rounds.

Anyone may run it to finalise rounds (``finalize_round`` is permissionless). Proposals come
only from the round's electorate (a validator's bond answers for a losing proposal), so it
proposes when it runs with a validator's key: it recomputes exactly what every validator
recomputes (:func:`~decentralml_client.roles.updates.compute_aggregate`), uploads the
weights file and calls ``propose_aggregate``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from decentralml_client.chain import PalletError
from decentralml_client.chain.errors import Kind
from decentralml_client.chain.records import Hash, Task
from decentralml_client.roles.common import Attempt, RoleContext, RoleError
from decentralml_client.roles.driver import WAIT, Fields, Step, drive
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
    return drive(ctx, task_id, AggregatorPlan(ctx, task_id, finalize))


class AggregatorPlan:
    """The aggregator's steps: ``propose`` (with a key of the round's electorate) and
    ``finalize`` (anyone, once the round may be finalised)."""

    role = "aggregator"

    def __init__(self, ctx: RoleContext, task_id: int, finalize: bool) -> None:
        self.ctx, self.task_id, self.finalize = ctx, task_id, finalize
        self.steps = {
            "propose": Step(self.propose, done="proposed", on_missed={"proposed": False}),
            "finalize": Step(self.finalize_round),
        }

    def next_step(self, at: Attempt) -> str:
        if (at.phase == "Aggregate" and "proposed" not in at.entry
                and self.ctx.address in self.ctx.dml.electorate(self.task_id, at.round)):
            return "propose"
        if self.finalize and round_finalizable(self.ctx, at.task):
            return "finalize"
        return WAIT

    def finished(self, at: Attempt, done: Counter[str]) -> bool:
        return False

    def recover(self, at: Attempt) -> Fields | None:
        return None

    def wait_condition(self, at: Attempt) -> Callable[[Task], bool]:
        return _changed_or_finalizable(self.ctx, at.task, self.finalize)

    def summary(self, done: Counter[str]) -> dict[str, Any]:
        return {"task": self.task_id, "proposed": done["proposed"]}

    def propose(self, at: Attempt, save: Callable[..., Fields]) -> Fields:
        try:
            agg = compute_aggregate(self.ctx, self.task_id, at.task)
        except RoleError as exc:  # nothing accepted: the round will fail at finalisation
            return {"proposed": False, "reason": str(exc)}
        cid = self.ctx.store.add(agg.data)
        save(cid=cid, hash=agg.hash, included=agg.included)
        receipt = self.ctx.dml.propose_aggregate(self.ctx.account.keypair, self.task_id,
                                                 at.round, cid, Hash(agg.hash))
        return {"proposed": True, "updates": len(agg.included), "block": receipt.block_number}

    def finalize_round(self, at: Attempt, save: Callable[..., Fields]) -> Fields | None:
        head, _ = self.ctx.chain.head()
        if not try_finalize(self.ctx, self.task_id, at.round):  # too early: try a block later
            self.ctx.wait(self.task_id,
                          lambda t: t != at.task or self.ctx.chain.head()[0] > head)
        return None
