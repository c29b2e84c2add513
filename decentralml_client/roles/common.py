"""What every role needs: its account, the chain, IPFS, the task's model, and waiting."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from decentralml_client.chain import Chain, DecentralMl
from decentralml_client.chain.records import Task
from decentralml_client.keys import Account
from decentralml_client.keys.account import ss58_to_public_key
from decentralml_client.ml.codec import decode_tensors
from decentralml_client.ml.model_spec import ModelSpec
from decentralml_client.ml.server_opt import ServerState
from decentralml_client.roles.errors import RoleError, Stopped
from decentralml_client.roles.journal import Journal, attempt_key
from decentralml_client.roles.manifests import build_update_manifest, read_update_manifest
from decentralml_client.storage import IpfsStore, StorageUnavailable

if TYPE_CHECKING:
    from decentralml_client.ml.attacks import PublicHistory
    from decentralml_client.ml.validators import Outcome
    from decentralml_client.protocol.consensus import Consensus

log = logging.getLogger("decentralml.roles")

__all__ = ["RoleContext", "RoleError", "Stopped", "build_update_manifest",
           "read_update_manifest"]

FINAL_STATES = ("Finished", "Cancelled")



@dataclass
class RoleContext:
    """One participant process: who it is and what it talks to."""

    chain: Chain
    store: IpfsStore
    account: Account
    data_dir: Path
    poll: float = 0.2
    stop: Callable[[], bool] = field(default=lambda: False)
    on_event: Callable[[str, dict[str, Any]], None] = field(default=lambda kind, info: None)
    _model_specs: dict[str, ModelSpec] = field(default_factory=dict)
    head_max_age: float = 1.0  # s: how old a head task() may judge deadlines by
    _head: tuple[int | None, float] = field(default_factory=lambda: (None, time.monotonic()))
    _weights: dict[str, list[NDArray[Any]]] = field(default_factory=dict)
    _server_states: dict[str, ServerState | None] = field(default_factory=dict)
    # (task, past round) -> that round's revealed updates by account key (see public_history)
    _history: dict[tuple[int, int], dict[int, list[NDArray[Any]]]] = field(
        default_factory=dict)

    @property
    def dml(self) -> DecentralMl:
        return DecentralMl(self.chain)

    @property
    def address(self) -> str:
        return self.account.ss58_address

    def emit(self, kind: str, **info: Any) -> None:
        log.info("%s %s", kind, info)
        self.on_event(kind, info)

    def task(self, task_id: int) -> Task:
        """The task as this role's next call will find it (:meth:`Task.as_of`): once a
        phase's deadline has passed, the phase the pallet moves it to, so a role acts when a
        silent member's deadline passes instead of waiting for someone else's call. The head
        it judges deadlines by is re-read at most every ``head_max_age`` seconds (a block
        takes longer than that)."""
        head, seen = self._head
        if time.monotonic() - seen > self.head_max_age:
            head = self._read_head()
        return self._as_of(task_id, head)

    def task_and_head(self, task_id: int) -> tuple[Task, int]:
        """:meth:`task` and the head block, both read now."""
        head = self._read_head()
        return self._as_of(task_id, head), head

    def _read_head(self) -> int:
        head, _ = self.chain.head()
        self._head = (head, time.monotonic())
        return head

    def _as_of(self, task_id: int, head: int | None) -> Task:
        t = self.dml.task(task_id)
        if t is None:
            raise RoleError(f"task {task_id} does not exist on this chain")
        if head is not None and t.active and head + 1 >= t.phase_ends_at:
            committed = len(self.dml.submissions(task_id, t.round)) if t.phase == "Commit" else 0
            t = t.as_of(head, committed)
        return t

    def wait(self, task_id: int, ready: Callable[[Task], bool],
             timeout: float | None = None) -> Task:
        """Poll the task until ``ready(task)`` (or it ended); returns the task."""
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            if self.stop():
                raise Stopped
            t = self.task(task_id)
            if not t.active or ready(t):
                return t
            if end is not None and time.monotonic() > end:
                raise TimeoutError(f"task {task_id}: condition not reached in {timeout} s")
            time.sleep(self.poll)

    # -- the task's model -------------------------------------------------------------------

    def model_spec(self, task: Task) -> ModelSpec:
        spec = task.spec
        key = spec.model_hash
        if key not in self._model_specs:
            data = self.store.fetch(spec.model_cid, spec.model_hash)
            self._model_specs[key] = ModelSpec.from_bytes(data)
        return self._model_specs[key]

    def global_model(self, task: Task) -> tuple[list[NDArray[Any]], str]:
        """The round's starting model M_r as float32 tensors, and its hash (``0x`` hex).

        Round 0 starts from the initial weights named by the model spec; later rounds
        from the adopted aggregate recorded on chain.
        """
        model_spec = self.model_spec(task)
        if task.model_hash == task.spec.model_hash:
            cid, digest = initial_weights(model_spec)
        else:
            cid, digest = task.model_cid, task.model_hash
        if digest not in self._weights:
            data = self.store.fetch(cid, digest)
            decoded = decode_tensors(data, model_spec, kind="weights")
            self._weights[digest] = decoded.tensors
            self._server_states[digest] = decoded.server_state
        return self._weights[digest], digest

    def server_state(self, task: Task) -> ServerState | None:
        """The server optimiser state the round's starting model M_r carries (``None`` for
        the initial weights or a task without a server optimiser); it is part of M_r's
        hashed weights file, so every party starts the next step from the same state."""
        _, digest = self.global_model(task)
        if digest not in self._server_states:
            model_spec = self.model_spec(task)
            cid = (initial_weights(model_spec)[0] if digest == model_spec.initial_weights_hash
                   else task.model_cid)
            data = self.store.fetch(cid, digest)
            self._server_states[digest] = decode_tensors(data, model_spec,
                                                         kind="weights").server_state
        return self._server_states[digest]


    def _round_start_ref(self, task_id: int, task: Task, round_: int
                         ) -> tuple[str, str]:
        """The CID and hash of the global model a round ``round_`` started from."""
        if round_ == 0:
            return initial_weights(self.model_spec(task))
        summary = self.dml.round_summary(task_id, round_ - 1)
        if summary is None:
            raise RoleError(f"round {round_ - 1} has no summary on chain")
        return summary.model_cid, summary.model_hash

    def _round_start(self, task_id: int, task: Task, round_: int) -> list[NDArray[Any]]:
        """The global model a past round ``round_`` started from."""
        cid, digest = self._round_start_ref(task_id, task, round_)
        if digest not in self._weights:
            data = self.store.fetch(cid, digest)
            self._weights[digest] = decode_tensors(data, self.model_spec(task),
                                                   kind="weights").tensors
        return self._weights[digest]

    def previous_step(self, task_id: int, task: Task) -> list[NDArray[Any]] | None:
        """``M_r − M_{r−1}``: the last adopted global step (None in round 0)."""
        r = task.round
        if r == 0:
            return None
        now, _ = self.global_model(task)
        before = self._round_start(task_id, task, r - 1)
        return [np.asarray(a, np.float64) - np.asarray(b, np.float64)
                for a, b in zip(now, before, strict=False)]

    def round_consensus(self, task_id: int, task: Task, r: int) -> Consensus:
        """Round ``r``'s consensus as the pallet computes it from the revealed votes
        (acceptance, consensus score and probe of every revealed update), also before the
        round is finalised."""
        from decentralml_client.protocol.consensus import VoteRecord, consensus

        subs = self.dml.submissions(task_id, r)
        bonds = self.dml.electorate(task_id, r)
        votes = self.dml.votes(task_id, r)
        records = {who: VoteRecord(bond, votes[who].as_tuples() if who in votes else None)
                   for who, bond in bonds.items()}
        revealed = sorted(i for i, s in subs.items()
                          if s.status in ("Revealed", "Accepted", "Rejected"))
        judges: dict[int, list[str]] | None = None
        if task.committees and r == task.round:
            judges = self.judges(task_id, task)
        elif task.committees:  # a past round: its outcome is final, its medians are over
            judges = {i: [w for w, v in votes.items()  # the verdicts its judges gave
                          if any(x.submission == i for x in v.verdicts)] for i in revealed}
        return consensus(revealed, records, task.spec.quorum, judges=judges)

    def judges(self, task_id: int, task: Task) -> dict[int, list[str]]:
        """The judges of every revealed submission of the task's current attempt, by
        submission index: their addresses in draw order (docs/committees.md), drawn from the
        task's ``committee_seed`` and the round's electorate in storage order; without a
        committee, the whole electorate (one code path: full judging is a committee of
        everyone)."""
        from decentralml_client.chain.api import account_id
        from decentralml_client.protocol.sampling import judges

        r = task.round
        bonds = self.dml.electorate(task_id, r)
        by_id = {account_id(a): a for a in bonds}
        electorate = [(account_id(a), b) for a, b in bonds.items()]
        seed = task.committee_seed.raw
        return {i: [by_id[j] for j in judges(task_id, r, task.retries, seed,
                                               account_id(s.contributor), electorate,
                                               task.spec.committee, task.spec.audit)]
                for i, s in sorted(self.dml.submissions(task_id, r).items()) if s.revealed}

    def committee_stakes(self, task_id: int, task: Task) -> dict[int, int]:
        """The stake judging each revealed submission of the current attempt (the sum of its
        judges' electorate bonds): what its accept verdicts must reach the quorum of."""
        bonds = self.dml.electorate(task_id, task.round)
        return {i: sum(bonds[j] for j in js) for i, js in self.judges(task_id, task).items()}

    def last_consensus(self, task_id: int, task: Task) -> dict[int, Outcome]:
        """The previous round's public outcome for each submission of the current round:
        submission index (this round's) → what the previous round's consensus said of the
        update the **same contributor account** revealed then (accepted, consensus score,
        consensus probe). Submission indices follow commit order, so they change between
        rounds; the account does not. Absent: the account revealed nothing last round."""
        from decentralml_client.ml.validators import Outcome

        r = task.round - 1
        if r < 0:
            return {}
        subs = self.dml.submissions(task_id, r)
        c = self.round_consensus(task_id, task, r)
        by_account = {subs[i].contributor: Outcome(subs[i].status == "Accepted",
                                                   c.scores[i], c.probes[i])
                      for i in c.scores if subs[i].status in ("Accepted", "Rejected")}
        now = self.dml.submissions(task_id, r + 1)
        return {i: by_account[s.contributor] for i, s in now.items()
                if s.contributor in by_account}

    def public_history(self, task_id: int, task: Task) -> PublicHistory:
        """What the previous ``HISTORY_ROUNDS`` rounds made public, oldest first: each
        round's revealed updates (contributor :func:`account_key` → delta; an update that
        cannot be fetched, verified or decoded is left out) and the global steps between
        the models they adopted. What :func:`~decentralml_client.ml.acceptance.judge_updates`
        takes as ``history`` (``.deltas()``) and the history attacks re-use.

        A past round never changes, so each round's updates are fetched once per task and
        kept while the round is within the window."""
        from decentralml_client.ml.acceptance import HISTORY_ROUNDS
        from decentralml_client.ml.attacks import PublicHistory

        r = task.round
        first = max(0, r - HISTORY_ROUNDS)
        for key in [k for k in self._history if k[0] == task_id and k[1] < first]:
            del self._history[key]
        history = PublicHistory()
        for past in range(first, r):
            key = (task_id, past)
            if key not in self._history:
                self._history[key] = self._round_updates(task_id, task, past)
            history.updates.append(self._history[key])
            before = self._round_start(task_id, task, past)
            after = self._round_start(task_id, task, past + 1)
            history.steps.append([np.asarray(a, np.float64) - np.asarray(b, np.float64)
                                  for a, b in zip(after, before, strict=False)])
        return history

    def _round_updates(self, task_id: int, task: Task, round_: int
                       ) -> dict[int, list[NDArray[Any]]]:
        """A past round's revealed updates that load, by contributor account key."""
        from decentralml_client.roles.updates import load_update

        _, base_hash = self._round_start_ref(task_id, task, round_)
        out: dict[int, list[NDArray[Any]]] = {}
        for index, sub in sorted(self.dml.submissions(task_id, round_).items()):
            if not sub.revealed:
                continue
            try:
                delta, _ = load_update(self, task_id, task, index, sub, round_=round_,
                                       base_hash=base_hash)
            except StorageUnavailable:
                raise  # our storage is down: the history is unknown, not without this update
            except Exception as exc:  # a defective update is no part of history
                log.info("history: task %s round %s submission %s left out: %s",
                         task_id, round_, index, exc)
                continue
            out[account_key(sub.contributor)] = delta
        return out


def account_key(address: str) -> int:
    """The key of a contributor account in :class:`~decentralml_client.ml.attacks.PublicHistory`
    (its 32-byte account id as a big-endian integer)."""
    return int.from_bytes(ss58_to_public_key(address), "big")


def initial_weights(model_spec: ModelSpec) -> tuple[str, str]:
    """The CID and hash of the round-0 weights a task's model spec names."""
    cid, digest = model_spec.initial_weights_cid, model_spec.initial_weights_hash
    if cid is None or digest is None:
        raise RoleError("the task's model spec names no initial weights (CID and hash)",
                        hint="create tasks with `decentralml task create`, which uploads the "
                        "initial weights and names them in the model spec.")
    return cid, digest


def attempt_changed(round_: int, retries: int) -> Callable[[Task], bool]:
    """A :meth:`RoleContext.wait` condition: the task has moved on to another round attempt."""
    return lambda t: t.attempt != (round_, retries)


def phase_changed(round_: int, retries: int, phase: str) -> Callable[[Task], bool]:
    """A :meth:`RoleContext.wait` condition: the task has left this attempt's ``phase``."""
    return lambda t: (t.round, t.retries, t.phase) != (round_, retries, phase)


@dataclass(frozen=True)
class Attempt:
    """Where a task stands when a role looks at it: one attempt of one round, in one phase."""

    task: Task
    round: int
    retries: int
    phase: str
    key: str  # the attempt's journal key
    entry: dict[str, Any]  # what this role journalled for the attempt so far


def attempts(ctx: RoleContext, task_id: int, journal: Journal) -> Iterator[Attempt]:
    """The task's state each time a role loop comes round, until the task has ended."""
    while True:
        task = ctx.wait(task_id, lambda t: True)
        if task.status in FINAL_STATES:
            return
        r, retries = task.attempt
        key = attempt_key(r, retries)
        yield Attempt(task, r, retries, task.phase, key, journal.entry(key))
