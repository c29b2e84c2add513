"""The one round driver: every role is a table of steps, the driver owns the loop.

As Flower's server owns the round loop and a strategy only supplies ``configure_fit`` and
``aggregate_fit``, :func:`drive` owns what every role does the same way:

* following the task's round attempts (:func:`~.common.attempts`) until it ends, and
  reconnecting when the node goes away (the journal says where it was);
* the journal: each step's result is written before the next step starts, so a restarted
  process carries on where it was (``next_step`` is a pure function of phase and journal);
* recovery of a call that landed on chain while its receipt was lost in a restart
  (:meth:`RolePlan.recover`);
* waiting for the next phase or attempt, and saying what it waits for;
* the chain's refusals, by kind: *done* (a call sent before a crash landed) counts as done,
  *missed* (too late for this attempt) is journalled and sat out, anything else is raised;
* reporting: every line a role prints goes through ``ctx.emit`` from here (the CLI chooses
  plain text or JSON lines).

A role supplies a :class:`RolePlan`: its name, ``next_step``, and a :class:`Step` per name,
each calling the learning code or the chain through one function.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from decentralml_client.chain.errors import ChainUnreachable, InclusionTimeout, Kind, PalletError
from decentralml_client.chain.records import Task
from decentralml_client.roles.common import (
    Attempt,
    RoleContext,
    attempts,
    phase_changed,
)
from decentralml_client.roles.journal import Journal

WAIT = "wait"
"""The step name that means: nothing to do until the phase or the attempt changes."""

Fields = dict[str, Any]
T = TypeVar("T")

SECRET = frozenset({"salt"})
"""Journal fields never reported (a commitment's salt stays on this machine until revealed)."""


@dataclass(frozen=True)
class Step:
    """One thing a role does in a round attempt.

    ``run(at, save)`` does the work (learning, storage, one chain call) and returns the fields
    to journal (and report); ``save(**fields)`` journals at once what must survive a refusal or
    a crash of the rest of the step, and returns the entry; ``done`` is the journal field a
    *done* refusal sets; ``on_missed`` what a *missed* refusal journals beside ``missed``;
    ``sit_out`` waits for the next attempt after a miss."""

    run: Callable[[Attempt, Callable[..., Fields]], Fields | None]
    done: str | None = None
    on_missed: Fields = field(default_factory=dict)
    sit_out: bool = False


class RolePlan(Protocol):
    """What a role supplies to :func:`drive`."""

    role: str

    @property
    def steps(self) -> Mapping[str, Step]:
        """The role's steps by name."""
        ...

    def next_step(self, at: Attempt) -> str:
        """The name of the step to run now, or :data:`WAIT`."""
        ...

    def recover(self, at: Attempt) -> Fields | None:
        """Journal fields of a step whose call landed on chain but whose receipt was lost
        (None: nothing to recover)."""
        ...

    def finished(self, at: Attempt, done: Counter[str]) -> bool:
        """Stop before this attempt (e.g. after ``--rounds``); ``done`` counts the journal
        fields set true so far (``revealed``, ``vote_committed``, ...)."""
        ...

    def wait_condition(self, at: Attempt) -> Callable[[Task], bool]:
        """What ends the wait when there is nothing to do."""
        ...

    def summary(self, done: Counter[str]) -> dict[str, Any]:
        """What the role did, returned when the task ends."""
        ...


def drive(ctx: RoleContext, task_id: int, plan: RolePlan) -> dict[str, Any]:
    """Run ``plan`` for every round attempt of ``task_id`` until the task ends. When the node
    goes away the driver reconnects and carries on from the journal (:func:`reconnecting`)."""
    journal = Journal.for_role(ctx.data_dir, plan.role, ctx.address, task_id)
    ctx.emit("joined", task=task_id, role=plan.role)
    done: Counter[str] = Counter()
    reconnecting(ctx, lambda: _rounds(ctx, task_id, plan, journal, done))
    result = plan.summary(done)
    ctx.emit("finished", **{"task": task_id, "role": plan.role, **result})
    return result


def _rounds(ctx: RoleContext, task_id: int, plan: RolePlan, journal: Journal,
            done: Counter[str]) -> None:
    """Every round attempt until the task ends (or the plan has finished)."""
    waited: tuple[int, int, str] | None = None
    for at in attempts(ctx, task_id, journal):
        if plan.finished(at, done):
            break
        landed = plan.recover(at)
        if landed:
            at = replace(at, entry=journal.update(at.key, **landed))
            done.update(k for k, v in landed.items() if v is True)
            ctx.emit("recovered", task=task_id, round=at.round, **landed)
        name = plan.next_step(at)
        if name == WAIT:
            here = (at.round, at.retries, at.phase)
            if here != waited:  # say it once per phase
                waited = here
                head, _ = ctx.chain.head()
                ctx.emit("waiting", task=task_id, round=at.round, phase=at.phase,
                         ends_at=at.task.phase_ends_at, head=head)
            ctx.wait(task_id, plan.wait_condition(at))
            continue
        done.update(_run_step(ctx, task_id, journal, at, name, plan.steps[name]))


def _run_step(ctx: RoleContext, task_id: int, journal: Journal, at: Attempt, name: str,
              step: Step) -> list[str]:
    """One step: run it, journal its result, report it; refusals by kind. Returns the journal
    fields it set true."""
    def save(**fields: Any) -> Fields:
        entry = journal.update(at.key, **fields)
        shown = {k: v for k, v in fields.items() if k not in SECRET}
        ctx.emit(f"{name}:saved", task=task_id, round=at.round, **shown)
        return entry

    try:
        fields = step.run(at, save)
    except PalletError as exc:
        if exc.kind is Kind.DONE and step.done is not None:
            journal.update(at.key, **{step.done: True})
            ctx.emit(name, task=task_id, round=at.round, already=True)
            return [step.done]
        if exc.kind is Kind.MISSED:
            journal.update(at.key, missed=exc.name, **step.on_missed)
            ctx.emit("missed", task=task_id, round=at.round, step=name, reason=exc.name)
            if step.sit_out:
                ctx.wait(task_id, lambda t: t.attempt != (at.round, at.retries))
            return []
        raise
    if not fields:
        return []
    journal.update(at.key, **fields)
    shown = {k: v for k, v in fields.items() if k not in SECRET}
    ctx.emit(name, task=task_id, round=at.round, **shown)
    return [k for k, v in fields.items() if v is True]


def reconnecting(ctx: RoleContext, loop: Callable[[], T], *, timeout: float = 300.0,
                 lost_transactions: int = 5) -> T:
    """Run a role loop; when the connection to the node drops, reconnect (waiting up to
    ``timeout`` s for the node to come back) and run the loop again. A transaction that never
    got included (lost with a restarted node's pool) is sent again the same way, up to
    ``lost_transactions`` times. Every step of a loop is journalled before the next, so it
    resumes where it was, as after a restart."""
    lost = 0
    while True:
        try:
            return loop()
        except ChainUnreachable as exc:  # the node went away (a crash or restart)
            ctx.emit("reconnecting", node=ctx.chain.url, error=f"{exc.__class__.__name__}")
            ctx.chain.reconnect(timeout)
        except InclusionTimeout:
            lost += 1
            if lost > lost_transactions:
                raise
            ctx.emit("resending", node=ctx.chain.url, attempt=lost)


def wait_for_phase(at: Attempt) -> Callable[[Task], bool]:
    """The usual wait condition: the task has left this attempt's phase."""
    return phase_changed(at.round, at.retries, at.phase)
