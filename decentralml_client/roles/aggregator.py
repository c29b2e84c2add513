"""The aggregator: finalise rounds that end at their deadline.

The validators propose the aggregate themselves (attesting a hash nobody proposed proposes
it), and the attestation that completes the electorate's finalises the round in its block, so
a round whose electorate all attests needs nobody else. A round in which some member does not
attest is decided at the aggregation deadline, and somebody has to call ``finalize_round``
then: that is this role. Anyone may run it, with any funded key (``finalize_round`` is
permissionless); it needs no seat in the task. Give it a key of its own: a key shared with a
validator makes their transactions compete for the same nonce.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from decentralml_client.chain import PalletError
from decentralml_client.chain.errors import Kind
from decentralml_client.chain.records import Task
from decentralml_client.roles.common import Attempt, RoleContext
from decentralml_client.roles.driver import WAIT, Fields, Step, drive


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


def run_aggregator(ctx: RoleContext, task_id: int) -> dict[str, Any]:
    """Finalise every round of ``task_id`` that its deadline decides, until the task ends."""
    return drive(ctx, task_id, AggregatorPlan(ctx, task_id))


class AggregatorPlan:
    """The aggregator's one step: ``finalize`` (anyone, once the round may be finalised)."""

    role = "aggregator"

    def __init__(self, ctx: RoleContext, task_id: int) -> None:
        self.ctx, self.task_id = ctx, task_id
        self.steps = {"finalize": Step(self.finalize_round)}

    def next_step(self, at: Attempt) -> str:
        return "finalize" if round_finalizable(self.ctx, at.task) else WAIT

    def finished(self, at: Attempt, done: Counter[str]) -> bool:
        return False

    def recover(self, at: Attempt) -> Fields | None:
        return None

    def wait_condition(self, at: Attempt) -> Callable[[Task], bool]:
        task = at.task
        return lambda t: t != task or round_finalizable(self.ctx, t)

    def summary(self, done: Counter[str]) -> dict[str, Any]:
        return {"task": self.task_id, "finalized": done["finalize"]}

    def finalize_round(self, at: Attempt, save: Callable[..., Fields]) -> Fields | None:
        head, _ = self.ctx.chain.head()
        if not try_finalize(self.ctx, self.task_id, at.round):  # too early: try a block later
            self.ctx.wait(self.task_id,
                          lambda t: t != at.task or self.ctx.chain.head()[0] > head)
        return None
