"""The validator: judge every revealed update, seal the vote, reveal it, attest the aggregate.

Per round attempt (each step journalled before the next, so a restarted validator reveals
exactly what it committed):

1. **VoteCommit.** Fetch and verify every revealed update
   (:func:`~decentralml_client.roles.updates.load_update`), judge them all with the one
   acceptance rule (:func:`~decentralml_client.ml.acceptance.judge_updates`) on the
   validator's own held-out data against the public history of the last rounds, measure
   each update's probe (:mod:`~decentralml_client.ml.evidence`: the evidence that it ran
   this round's updates), and commit to the hash of all verdicts, scores and probes with a
   fresh salt (:func:`~decentralml_client.protocol.vote_commitment`). Nobody can read the
   vote on chain until the commit window has closed.
2. **VoteReveal.** Reveal the verdicts and the salt.
3. **Aggregate.** Recompute the aggregate of the updates the chain accepted; attest the
   proposal whose hash matches after checking that its CID serves exactly those bytes (or
   propose it, with ``propose``); its score is the new model's accuracy on the validator's data.

``strategy`` other than ``honest`` plays a deviating validator (demos and tests of the
incentives), with the same strategy function as ``decentralml simulate``.

**Storage outages are not rejects.** A fetch can fail in two ways that mean opposite things
(docs/operator.md, "When IPFS is down"):

* *unavailable* — this validator's own IPFS daemon (or its network) cannot be reached:
  connection refused or reset, or the daemon does not even answer its ``id``
  (:class:`~decentralml_client.storage.StorageUnavailable`). That says nothing about the
  update, so the validator retries, backing off, until shortly before the phase's deadline
  (:data:`MARGIN_BLOCKS` before ``phase_ends_at``; the task record carries it). If storage
  is still down then, it **abstains from the whole vote**: it commits nothing this attempt
  (journalled as ``missed="storage_unavailable"``, sat out like any missed attempt). That
  costs it only the silence rule's slash, and the round is not failed by it: the others'
  votes decide (a vote that rejected what it could not read would count against the update
  and could fail the round, and then cost its own bond as a losing verdict).
* *withheld or invalid* — the daemon works but the content cannot be found within the
  fetch timeout (:class:`~decentralml_client.storage.ContentNotFound`), or the bytes fail
  their hash, the manifest's signature or decoding. Every honest validator sees the same,
  so the update is rejected, with probe 0 (nothing was run). A contributor that never
  serves its update is refused this way.

The aggregation phase's fetches (the proposal's bytes, the accepted updates) wait for an
outage the same way, until shortly before that phase's deadline; then the validator does
not attest.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from decentralml_client.chain import PalletError
from decentralml_client.chain.api import account_id
from decentralml_client.chain.errors import Kind
from decentralml_client.chain.records import Hash, Task
from decentralml_client.protocol import Verdict, vote_commitment
from decentralml_client.roles.common import (
    RoleContext,
    RoleError,
    Stopped,
    account_key,
    attempts,
    phase_changed,
)
from decentralml_client.roles.journal import Journal
from decentralml_client.roles.updates import UpdateCache, compute_aggregate, load_update
from decentralml_client.storage import StorageUnavailable

T = TypeVar("T")

MARGIN_BLOCKS = 1
"""While storage is down, a validator keeps retrying until this many blocks before the last
block in which its transaction could still be included (``phase_ends_at − 1``)."""

STORAGE_RETRY = (1.0, 8.0)
"""The first and the longest pause (seconds) between fetches while storage is down."""

STORAGE_UNAVAILABLE = "storage_unavailable"
"""The ``missed`` reason journalled when a validator abstained because its storage was down."""


class StorageOutage(RoleError):
    """This validator's storage stayed unreachable until shortly before the phase deadline."""

    hint = ("start (or fix the address of) the validator's IPFS daemon (--ipfs / "
            "DML_IPFS_API); the validator abstained from this attempt and takes part again "
            "in the next one.")


def while_storage_down(ctx: RoleContext, task_id: int, round_: int, retries: int, phase: str,
                       fetch: Callable[[], T], *, margin: int = MARGIN_BLOCKS) -> T:
    """``fetch()``, retried (pausing as :data:`STORAGE_RETRY` says, doubling) while
    storage is *unavailable*, until ``margin`` blocks before the phase's last
    includable block or the task leaves this attempt's ``phase``; then
    :class:`StorageOutage`. Any other error (withheld or invalid content) propagates at
    once."""
    delay, max_backoff = STORAGE_RETRY
    while True:
        try:
            return fetch()
        except StorageUnavailable as exc:
            task = ctx.task(task_id)
            head, _ = ctx.chain.head()
            left = task.phase_ends_at - 1 - head  # blocks that may still include us
            here = (task.round, task.retries, task.phase) == (round_, retries, phase)
            if not here or not task.active or left <= margin:
                raise StorageOutage(
                    f"task {task_id} round {round_}: storage still unavailable "
                    f"{max(left, 0)} block(s) before the {phase} deadline ({exc})") from exc
            ctx.emit("storage_unavailable", task=task_id, round=round_, phase=phase,
                     blocks_left=left, retry_in=round(delay, 1))
            end = time.monotonic() + delay
            while time.monotonic() < end:
                if ctx.stop():
                    raise Stopped from exc
                time.sleep(min(0.2, delay))
            delay = min(delay * 2, max_backoff)


@dataclass(frozen=True)
class ValidatorOptions:
    propose: bool = False  # also propose the aggregate when nobody has
    strategy: str = "honest"  # see decentralml_client.ml.validators.STRATEGIES
    seed: int = 0
    max_rounds: int | None = None


def basis_points(accuracy: float) -> int:
    return max(0, min(10_000, round(accuracy * 10_000)))


def _judge(ctx: RoleContext, task_id: int, task: Task, x_val: NDArray[Any],
           y_val: NDArray[Any], updates: UpdateCache, opts: ValidatorOptions,
           ) -> tuple[list[Verdict] | None, dict[int, str]]:
    """This validator's verdicts ``(submission, accept, score, probe)`` on every revealed
    submission, and its reasons."""
    from decentralml_client.ml.acceptance import AcceptancePolicy, judge_updates
    from decentralml_client.ml.evidence import Prober, probe_seed
    from decentralml_client.ml.validators import strategy_verdicts

    r = task.round
    subs = {i: s for i, s in sorted(ctx.dml.submissions(task_id, r).items())
            if s.status == "Revealed"}
    reasons: dict[int, str] = {}

    def honest() -> list[Verdict]:
        candidates: dict[int, Any] = {}
        for index, sub in subs.items():
            try:
                candidates[index] = load_update(ctx, task_id, task, index, sub)[0]
            except StorageUnavailable:
                raise  # our own storage is down: no verdict on anything (see the docstring)
            except Exception as exc:  # withheld, swapped, unsigned, undecodable: a reject
                candidates[index] = exc
        model_spec = ctx.model_spec(task)
        base = ctx.global_model(task)[0]
        policy = AcceptancePolicy(min_improvement=task.spec.min_improvement)
        public = ctx.public_history(task_id, task)
        judged = judge_updates(model_spec, base, candidates, x_val, y_val, policy=policy,
                               previous_step=ctx.previous_step(task_id, task),
                               history=public.deltas(),
                               not_own={i: public.not_own(account_key(s.contributor))
                                        for i, s in subs.items()})
        # The evidence that this validator ran every update: the seed is fixed by the
        # round's revealed update hashes, in submission order (ml/evidence.py).
        seed = probe_seed(task_id, r, task.retries,
                          [s.update_hash.raw for s in subs.values()
                           if s.update_hash is not None])
        prober = Prober(model_spec, base, seed)
        probes = {i: prober.probe(c) for i, c in candidates.items()}
        for index, j in judged.items():
            if j.accept:
                delta = candidates[index]
                updates[index] = (delta, subs[index].num_examples)
            elif j.reason:
                reasons[index] = j.reason
        return [(i, j.accept, j.score, probes[i]) for i, j in judged.items()]

    last = ctx.last_consensus(task_id, task)
    rng = np.random.default_rng([opts.seed, task_id, r, task.retries])
    return strategy_verdicts(opts.strategy, sorted(subs), honest, rng, last), reasons


def _verdicts(entry: Mapping[str, Any]) -> list[Verdict]:
    """The verdicts a journal entry holds, as (submission, accept, score, probe); an entry
    journalled before verdicts carried a probe reads as probe 0."""
    out: list[Verdict] = []
    for item in entry["verdicts"]:
        i, a, s, *rest = item
        out.append((int(i), bool(a), int(s), int(rest[0]) if rest else 0))
    return out


def _vote_commitment(task_id: int, round_: int, attempt: int, me: bytes,
                     entry: Mapping[str, Any]) -> bytes:
    """The vote commitment of the round's judged journal entry."""
    return vote_commitment(task_id, round_, attempt, me, _verdicts(entry), Hash(entry["salt"]).raw)


def next_step(phase: str, entry: Mapping[str, Any]) -> str:
    """What a validator does next in a round attempt's ``phase``, given what it journalled
    for the attempt: ``"judge"`` (judge the updates, then commit the vote), ``"commit_vote"``
    (judged before a restart: commit those verdicts), ``"reveal_vote"``, ``"attest"`` or
    ``"wait"``. An attempt journalled as missed (not in the electorate, too late, silent) is
    sat out: the validator neither votes nor reveals in it."""
    if phase == "VoteCommit" and "vote_committed" not in entry and "missed" not in entry:
        return "commit_vote" if "verdicts" in entry else "judge"
    if phase == "VoteReveal" and "vote_committed" in entry and "vote_revealed" not in entry:
        return "reveal_vote"
    if phase == "Aggregate" and "attested" not in entry and "vote_revealed" in entry:
        return "attest"
    return "wait"


def _proposed_or_changed(ctx: RoleContext, task_id: int, task: Task,
                         seen: int) -> Callable[[Task], bool]:
    """A wait condition: the task changed, or the round has other than ``seen`` proposals."""
    r = task.round
    return lambda t: t != task or len(ctx.dml.proposals(task_id, r)) != seen


def run_validator(ctx: RoleContext, task_id: int, x_val: NDArray[Any], y_val: NDArray[Any],
                  opts: ValidatorOptions = ValidatorOptions()) -> dict[str, Any]:
    from decentralml_client.ml.evaluate import evaluate

    journal = Journal.for_role(ctx.data_dir, "validator", ctx.address, task_id)
    me = account_id(ctx.address)
    cache: dict[str, UpdateCache] = {}
    voted_rounds = 0
    for at in attempts(ctx, task_id, journal):
        task, r, retries, phase, key, entry = (at.task, at.round, at.retries, at.phase, at.key,
                                               at.entry)
        if opts.max_rounds is not None and voted_rounds >= opts.max_rounds and phase == "Commit":
            break
        updates = cache.setdefault(key, {})

        if ("verdicts" in entry and "vote_committed" not in entry and "missed" not in entry
                and ctx.dml.vote_commits(task_id, r).get(ctx.address)
                == Hash(_vote_commitment(task_id, r, retries, me, entry))):
            # The vote commit was included but its receipt was lost (a crash or node restart).
            entry = journal.update(key, vote_committed=True)
            voted_rounds += 1

        step = next_step(phase, entry)
        if step in ("judge", "commit_vote"):
            if step == "judge":
                try:
                    verdicts, reasons = while_storage_down(
                        ctx, task_id, r, retries, phase,
                        partial(_judge, ctx, task_id, task, x_val, y_val, updates, opts))
                except StorageOutage as exc:  # abstain: silent this attempt, like a miss
                    journal.update(key, missed=STORAGE_UNAVAILABLE, reason=str(exc))
                    ctx.emit("abstained", task=task_id, round=r, reason=str(exc))
                    continue
                if verdicts is None or not verdicts:  # silent (or nothing to judge)
                    entry = journal.update(key, missed="silent" if verdicts is None else "empty")
                    continue
                entry = journal.update(key, verdicts=[list(v) for v in verdicts],
                                       reasons=reasons, salt="0x" + os.urandom(32).hex())
            try:
                ctx.dml.commit_vote(ctx.account.keypair, task_id, r,
                                    _vote_commitment(task_id, r, retries, me, entry))
            except PalletError as exc:
                if exc.kind is Kind.MISSED:
                    journal.update(key, missed=exc.name)
                    continue
                if exc.kind is not Kind.DONE:  # done: a commit sent before a crash landed
                    raise
            journal.update(key, vote_committed=True)
            voted_rounds += 1
            ctx.emit("vote_committed", task=task_id, round=r, verdicts=len(entry["verdicts"]),
                     reasons=entry.get("reasons", {}))
            continue

        if step == "reveal_vote":
            verdicts = _verdicts(entry)
            try:
                ctx.dml.reveal_vote(ctx.account.keypair, task_id, r, verdicts,
                                    Hash(entry["salt"]).raw)
            except PalletError as exc:
                if exc.kind not in (Kind.DONE, Kind.MISSED):
                    raise
            journal.update(key, vote_revealed=True)
            ctx.emit("vote_revealed", task=task_id, round=r, verdicts=verdicts)
            continue

        if step == "attest":
            if not any(s.accepted(task) for s in ctx.dml.submissions(task_id, r).values()):
                journal.update(key, attested=False, reason="nothing accepted")
                continue
            try:
                agg = while_storage_down(ctx, task_id, r, retries, phase,
                                         partial(compute_aggregate, ctx, task_id, task,
                                                 cache=updates))
            except RoleError as exc:  # (a StorageOutage too)
                journal.update(key, attested=False, reason=str(exc))
                continue
            proposals = ctx.dml.proposals(task_id, r)
            match = next((p for p in proposals if p.hash == agg.hash), None)
            if match is not None:
                cid = match.cid
                try:  # the CID must serve exactly the bytes we computed
                    while_storage_down(ctx, task_id, r, retries, phase,
                                       partial(ctx.store.fetch, cid, agg.hash))
                except Exception as exc:
                    journal.update(key, attested=False, reason=f"proposal CID: {exc}")
                    continue
                score = basis_points(
                    evaluate(ctx.model_spec(task), agg.weights, x_val, y_val)["accuracy"])
                try:
                    ctx.dml.attest_aggregate(ctx.account.keypair, task_id, r, match.cid,
                                             match.hash.raw, score)
                except PalletError as exc:
                    if exc.kind not in (Kind.DONE, Kind.MISSED):
                        raise
                journal.update(key, attested=True, hash=agg.hash, score=score)
                ctx.emit("attested", task=task_id, round=r, hash=agg.hash, score=score)
                continue
            if opts.propose and not any(p.proposer == ctx.address for p in proposals):
                cid = ctx.store.add(agg.data)
                try:
                    ctx.dml.propose_aggregate(ctx.account.keypair, task_id, r, cid,
                                              Hash(agg.hash).raw)
                except PalletError as exc:
                    if exc.kind is not Kind.DONE:
                        raise
                ctx.emit("proposed", task=task_id, round=r, cid=cid, hash=agg.hash)
                continue
            # Wait for a proposal (or a change of phase).
            ctx.wait(task_id, _proposed_or_changed(ctx, task_id, task, len(proposals)))
            continue

        ctx.wait(task_id, phase_changed(r, retries, phase))
    return {"task": task_id, "rounds": voted_rounds}
