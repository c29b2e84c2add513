"""The validator: judge the revealed updates of its committees, seal the vote, reveal it, attest
the aggregate.

Per round attempt (each step journalled before the next, so a restarted validator reveals
exactly what it committed):

1. **VoteCommit.** Fetch and verify every revealed update it judges — all of them without a
   committee; with one, those whose judges, drawn from the task's ``committee_seed`` and the
   round's electorate (:func:`~decentralml_client.protocol.sampling.judges`,
   docs/committees.md), include it — (:func:`~decentralml_client.roles.updates.load_update`),
   judge them with the one
   acceptance rule (:func:`~decentralml_client.ml.acceptance.judge_updates`) on the
   validator's own held-out data against the public history of the last rounds, measure
   each update's probe (:mod:`~decentralml_client.ml.evidence`: the evidence that it ran
   this round's updates), and commit to the hash of all verdicts, scores and probes with a
   fresh salt (:func:`~decentralml_client.protocol.vote_commitment`). Nobody can read the
   vote on chain until the commit window has closed.
2. **VoteReveal.** Reveal the verdicts and the salt.
3. **Aggregate.** Recompute the aggregate of the updates the chain accepted and attest its
   hash: under the CID of a proposal with that hash (after checking that the CID serves exactly
   those bytes), or, with none yet, under the CID of the bytes it uploads, which proposes them
   in the same call. Its score is the new model's accuracy on the validator's data. The
   attestation that completes the electorate's finalises the round in its block.

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
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from decentralml_client.chain.api import account_id
from decentralml_client.chain.errors import PALLET_ERRORS
from decentralml_client.chain.records import Hash, Task
from decentralml_client.protocol import Verdict, vote_commitment
from decentralml_client.roles.common import Attempt, RoleContext, RoleError, Stopped, account_key
from decentralml_client.roles.driver import Fields, Step, drive, wait_for_phase
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
            task, head = ctx.task_and_head(task_id)
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
    strategy: str = "honest"  # see decentralml_client.ml.validators.STRATEGIES
    seed: int = 0
    max_rounds: int | None = None


def basis_points(accuracy: float) -> int:
    return max(0, min(10_000, round(accuracy * 10_000)))


def _judge(ctx: RoleContext, task_id: int, task: Task, x_val: NDArray[Any],
           y_val: NDArray[Any], updates: UpdateCache, opts: ValidatorOptions,
           ) -> tuple[list[Verdict] | None, dict[int, str]]:
    """This validator's verdicts ``(submission, accept, score, probe)`` on the revealed
    submissions it judges (all of them without a committee; with one, those whose judges
    include it: docs/committees.md), ascending, and its reasons."""
    from decentralml_client.ml.acceptance import AcceptancePolicy, judge_updates
    from decentralml_client.ml.evidence import Prober, probe_seed
    from decentralml_client.ml.validators import strategy_verdicts

    r = task.round
    revealed = {i: s for i, s in sorted(ctx.dml.submissions(task_id, r).items())
                if s.status == "Revealed"}
    judges = ctx.judges(task_id, task)
    subs = {i: s for i, s in revealed.items() if ctx.address in judges.get(i, ())}
    ctx.emit("judging", task=task_id, round=r, submissions=sorted(subs),
             revealed=len(revealed))
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
                          [s.update_hash.raw for s in revealed.values()
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


def run_validator(ctx: RoleContext, task_id: int, x_val: NDArray[Any], y_val: NDArray[Any],
                  opts: ValidatorOptions = ValidatorOptions()) -> dict[str, Any]:
    """Judge, vote and attest in every round of ``task_id`` until it ends."""
    return drive(ctx, task_id, ValidatorPlan(ctx, task_id, x_val, y_val, opts))


class ValidatorPlan:
    """The validator's steps (see :func:`next_step`): ``judge`` judges every revealed update
    and commits the sealed vote, ``commit_vote`` commits verdicts judged before a restart,
    ``reveal_vote`` opens the vote, ``attest`` recomputes and attests (proposing it when
    nobody has) the aggregate."""

    role = "validator"

    def __init__(self, ctx: RoleContext, task_id: int, x_val: NDArray[Any],
                 y_val: NDArray[Any], opts: ValidatorOptions) -> None:
        self.ctx, self.task_id, self.x, self.y, self.opts = ctx, task_id, x_val, y_val, opts
        self.me = account_id(ctx.address)
        self.cache: dict[str, UpdateCache] = {}
        self.steps = {
            "judge": Step(self.judge, done="vote_committed"),
            "commit_vote": Step(self.commit_vote, done="vote_committed"),
            "reveal_vote": Step(self.reveal_vote, done="vote_revealed",
                                on_missed={"vote_revealed": True}),
            "attest": Step(self.attest, done="attested", on_missed={"attested": True}),
        }

    def next_step(self, at: Attempt) -> str:
        return next_step(at.phase, at.entry)

    def finished(self, at: Attempt, done: Counter[str]) -> bool:
        return (self.opts.max_rounds is not None and at.phase == "Commit"
                and done["vote_committed"] >= self.opts.max_rounds)

    def recover(self, at: Attempt) -> Fields | None:
        """A vote commit included whose receipt was lost (a crash or a node restart)."""
        entry = at.entry
        if ("verdicts" in entry and "vote_committed" not in entry and "missed" not in entry
                and self.ctx.dml.vote_commits(self.task_id, at.round).get(self.ctx.address)
                == Hash(_vote_commitment(self.task_id, at.round, at.retries, self.me, entry))):
            return {"vote_committed": True}
        return None

    def wait_condition(self, at: Attempt) -> Callable[[Task], bool]:
        return wait_for_phase(at)

    def summary(self, done: Counter[str]) -> dict[str, Any]:
        return {"task": self.task_id, "rounds": done["vote_committed"]}

    # -- steps ----------------------------------------------------------------------------

    def judge(self, at: Attempt, save: Callable[..., Fields]) -> Fields:
        """Judge every revealed update (abstain while storage is down), journal the verdicts
        and the salt, then commit the sealed vote."""
        updates = self.cache.setdefault(at.key, {})
        try:
            verdicts, reasons = while_storage_down(
                self.ctx, self.task_id, at.round, at.retries, at.phase,
                partial(_judge, self.ctx, self.task_id, at.task, self.x, self.y, updates,
                        self.opts))
        except StorageOutage as exc:  # abstain: silent this attempt, like a miss
            self.ctx.emit("abstained", task=self.task_id, round=at.round, reason=str(exc))
            return {"missed": STORAGE_UNAVAILABLE, "reason": str(exc)}
        if verdicts is None or not (verdicts or at.task.revealed):  # silent, or no update
            return {"missed": "silent" if verdicts is None else "empty"}
        # A validator on no update's committee votes too, with no verdict: not silent.
        entry = save(verdicts=[list(v) for v in verdicts], reasons=reasons,
                     salt="0x" + os.urandom(32).hex())
        return self.commit_vote(replace(at, entry=entry), save)

    def commit_vote(self, at: Attempt, save: Callable[..., Fields]) -> Fields:
        receipt = self.ctx.dml.commit_vote(
            self.ctx.account.keypair, self.task_id, at.round,
            _vote_commitment(self.task_id, at.round, at.retries, self.me, at.entry))
        return {"vote_committed": True, "block": receipt.block_number}

    def reveal_vote(self, at: Attempt, save: Callable[..., Fields]) -> Fields:
        receipt = self.ctx.dml.reveal_vote(self.ctx.account.keypair, self.task_id, at.round,
                                           _verdicts(at.entry), Hash(at.entry["salt"]))
        return {"vote_revealed": True, "block": receipt.block_number}

    def attest(self, at: Attempt, save: Callable[..., Fields]) -> Fields | None:
        """Recompute the aggregate of the accepted updates and attest its hash, with its
        accuracy on this validator's data. A proposal with that hash is attested under its
        CID once the CID serves exactly those bytes; with none yet, the validator uploads the
        bytes and its attestation proposes them (the pallet takes both in one call), so every
        validator attests in the block after the votes open."""
        from decentralml_client.ml.evaluate import evaluate

        ctx, r = self.ctx, at.round
        stakes = ctx.committee_stakes(self.task_id, at.task)
        if not any(s.accepted(at.task, stakes.get(i, 0))
                   for i, s in ctx.dml.submissions(self.task_id, r).items()):
            return {"attested": False, "reason": "nothing accepted"}
        try:
            agg = while_storage_down(ctx, self.task_id, r, at.retries, at.phase,
                                     partial(compute_aggregate, ctx, self.task_id, at.task,
                                             cache=self.cache.setdefault(at.key, {})))
        except RoleError as exc:  # (a StorageOutage too)
            return {"attested": False, "reason": str(exc)}
        score = basis_points(
            evaluate(ctx.model_spec(at.task), agg.weights, self.x, self.y)["accuracy"])
        save(hash=agg.hash, score=score)
        for _ in range(2):  # a second time when another CID of these bytes won the race
            cid = self._cid_of(at, agg.hash, agg.data)
            if cid is None:
                return {"attested": False, "reason": "the proposal's CID does not serve the "
                                                     "aggregate's bytes"}
            try:
                receipt = ctx.dml.attest_aggregate(ctx.account.keypair, self.task_id, r, cid,
                                                   Hash(agg.hash), score)
            except PALLET_ERRORS["ProposalMismatch"]:
                continue
            return {"attested": True, "hash": agg.hash, "score": score, "cid": cid,
                    "block": receipt.block_number}
        return {"attested": False, "reason": "the aggregate's proposal kept changing"}

    def _cid_of(self, at: Attempt, digest: str, data: bytes) -> str | None:
        """The CID to attest ``digest`` under: the CID of ``data`` uploaded to this
        validator's storage when no proposal has that hash or the proposal names the same CID
        (the usual case: the same bytes, added the same way, have the same CID); else the
        proposal's CID once it serves ``data`` (None if it does not)."""
        ctx = self.ctx
        own = ctx.store.add(data)
        match = next((p for p in ctx.dml.proposals(self.task_id, at.round) if p.hash == digest),
                     None)
        if match is None or match.cid == own:
            return own
        try:
            while_storage_down(ctx, self.task_id, at.round, at.retries, at.phase,
                               partial(ctx.store.fetch, match.cid, digest))
        except Exception:  # any failure: the CID does not serve these bytes
            return None
        return match.cid
