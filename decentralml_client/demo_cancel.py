"""What ``decentralml demo`` does when it is interrupted: it cancels its task.

The demo's task is created by the dev account Alice with the whole reward in escrow. A demo
that is stopped half-way (Ctrl-C, SIGTERM) would leave that task Active with the reward locked;
instead, the demo cancels it (``cancel_task``) before it stops its roles:

* a task that has not started a round (enrolment, or no commitment yet) ends at once and its
  whole escrow goes back to Alice;
* a task in the middle of a round ends when that round is finalised (its accepted work is paid,
  the rest of the escrow goes back): the roles, still running, finish the round (seconds on the
  dev chain) while the demo waits; a second Ctrl-C stops waiting, and the task then ends when
  the round's deadline has passed and anyone calls ``finalize``.

The message says which happened and how much went back. The next ``decentralml demo`` starts
a new task; it never resumes the cancelled one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from decentralml_client.errors import DecentralMLError

if TYPE_CHECKING:
    from decentralml_client.chain import Chain

WAIT_FOR_ROUND = 300.0  # s the demo waits for the current round to be finalised


class DemoInterrupted(DecentralMLError):
    """The demo was interrupted; its task was cancelled (the message says how)."""

    hint = "run `decentralml demo` again: it creates a new task."


def _refunded(chain: Chain, task_id: int, first_block: int) -> int | None:
    """What the TaskCancelled event of ``task_id`` since ``first_block`` gave back."""
    for _, events in chain.events_between(first_block, None):
        for e in events:
            if e.pallet == "DecentralMl" and e.name == "TaskCancelled" \
                    and int(e.field("task_id")) == task_id:
                return int(e.field("refunded"))
    return None


def cancel_interrupted(chain_url: str, task_id: int | None,
                       progress: Callable[[str, dict[str, Any]], None] = lambda s, i: None,
                       *, wait: float = WAIT_FOR_ROUND) -> str:
    """Cancel the interrupted demo's task (created by Alice); return what to tell the user."""
    from decentralml_client.chain import Chain, DecentralMl, PalletError
    from decentralml_client.chain.errors import Kind
    from decentralml_client.keys import dev_account
    from decentralml_client.units import fmt_units

    if task_id is None:
        return "demo interrupted before its task was created: nothing was paid into escrow."
    alice = dev_account("alice")
    with Chain(chain_url) as chain:
        dml = DecentralMl(chain)
        task = dml.task(task_id)
        status = task.status if task is not None else "gone"
        if status != "Active":
            return f"demo interrupted after task {task_id} had ended ({status})."
        first_block, _ = chain.head()
        try:
            dml.cancel_task(alice.keypair, task_id)
        except PalletError as exc:
            if exc.kind is not Kind.DONE:  # done: the cancellation is already scheduled
                ended = dml.task(task_id)
                if ended is not None and not ended.active:  # it ended as the signal came
                    return f"demo interrupted after task {task_id} had ended ({ended.status})."
                raise
        refunded = _refunded(chain, task_id, first_block)
        if refunded is not None:  # cancelled at once: no round under way
            when = ("before its first round; its whole" if task is None or task.round == 0
                    else f"between rounds (rounds 0–{task.round - 1} finalised and paid); "
                    "the rest of its")
            return (f"demo interrupted: task {task_id} cancelled {when} escrow "
                    f"({fmt_units(refunded)}) went back to alice.")
        round_ = task.round if task is not None else 0
        progress("cancelling", {"task": task_id, "round": round_})
        deadline = time.monotonic() + wait
        try:
            while time.monotonic() < deadline:
                task = dml.task(task_id)
                if task is None or not task.active:
                    refunded = _refunded(chain, task_id, first_block) or 0
                    return (f"demo interrupted: task {task_id} cancelled once its round "
                            f"{round_} was finalised (its accepted work paid); the rest of its "
                            f"escrow ({fmt_units(refunded)}) went back to alice.")
                time.sleep(0.5)
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting
            pass
        ends = task.phase_ends_at if task is not None else 0
        return (f"demo interrupted: task {task_id} is cancelled and ends when its round "
                f"{round_} is finalised (after block {ends} on this chain, by anyone's "
                f"`decentralml finalize --task {task_id}`); the rest of its escrow then goes "
                "back to alice.")
