"""The contributor: train on private data each round, publish the update, commit, reveal.

Per round attempt, each step is journalled before the next one starts:
``prepared`` (update and signed manifest uploaded, salt chosen) → ``committed`` → ``revealed``.
A task with a cohort (docs/committees.md) draws the contributors of each attempt: one not
drawn (``drawn: false``) trains nothing, commits nothing and waits for the next attempt; it is
not idle and loses nothing.
A restarted contributor resumes from the last journalled step and never trains twice for an
attempt it already prepared, so its commitment always matches what it reveals.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from decentralml_client.chain import DecentralMl
from decentralml_client.chain.api import account_id
from decentralml_client.chain.records import Hash, Task
from decentralml_client.keys import seal_for_validators
from decentralml_client.ml.attacks import (
    DEFAULT_ATTACK_SCALE,
    HISTORY_ATTACKS,
    attack_delta,
    attack_labels,
    claimed_examples,
    history_delta,
    trains,
)
from decentralml_client.ml.codec import encode_update, file_hash
from decentralml_client.protocol import update_commitment
from decentralml_client.protocol.sampling import in_cohort
from decentralml_client.roles.common import Attempt, RoleContext, account_key, attempt_changed
from decentralml_client.roles.driver import Fields, Step, drive, wait_for_phase
from decentralml_client.roles.manifests import build_update_manifest


@dataclass(frozen=True)
class ContributorOptions:
    encoding: str = "f32"
    topk: float | None = None
    attack: str | None = None  # poison the update (demos and tests of the defences)
    seed: int = 0
    max_rounds: int | None = None


def next_step(phase: str, entry: Mapping[str, Any]) -> str:
    """What a contributor does next in a round attempt's ``phase``, given what it journalled
    for the attempt: ``"prepare"`` (train and upload, then commit), ``"commit"`` (prepared
    before a restart: commit what was prepared, never train again), ``"reveal"`` or
    ``"wait"`` (nothing to do until the phase or round changes)."""
    if phase == "Commit" and "committed" not in entry:
        return "commit" if "prepared" in entry else "prepare"
    if phase == "Reveal" and "committed" in entry and "revealed" not in entry:
        return "reveal"
    return "wait"


def run_contributor(ctx: RoleContext, task_id: int, x: NDArray[Any], y: NDArray[Any],
                    opts: ContributorOptions = ContributorOptions()) -> dict[str, Any]:
    """Take part in every round of ``task_id`` until it ends; returns a short summary."""
    return drive(ctx, task_id, ContributorPlan(ctx, task_id, x, y, opts))


class ContributorPlan:
    """The contributor's steps (see :func:`next_step`): ``prepare`` trains, uploads and
    commits; ``commit`` commits what was prepared before a restart; ``reveal`` opens it."""

    role = "contributor"

    def __init__(self, ctx: RoleContext, task_id: int, x: NDArray[Any], y: NDArray[Any],
                 opts: ContributorOptions) -> None:
        self.ctx, self.task_id, self.x, self.y, self.opts = ctx, task_id, x, y, opts
        self.me = account_id(ctx.address)
        self.steps = {
            "prepare": Step(self.prepare, done="committed", sit_out=True),
            "commit": Step(self.commit, done="committed", sit_out=True),
            "reveal": Step(self.reveal, done="revealed", on_missed={"revealed": False}),
            "sit_out": Step(self.sit_out),
        }

    def next_step(self, at: Attempt) -> str:
        if at.entry.get("drawn") is False:
            return "wait"
        step = next_step(at.phase, at.entry)
        if step == "prepare" and not self.drawn(at):
            return "sit_out"
        return step

    def drawn(self, at: Attempt) -> bool:
        """Whether this contributor is in the attempt's cohort (docs/committees.md): its
        ticket, from the task's ``draw_seed``, is at most ``cohort_cut``. The draw is made by
        the call that opens the attempt; before it (round 0 still in Enrol on chain) the cut
        is ``u64::MAX`` and this reads as drawn — a commit refused with ``NotInCohort`` then
        sits the attempt out the same way."""
        task = at.task
        return in_cohort(self.task_id, at.round, at.retries, task.draw_seed.raw, self.me,
                         task.cohort_cut)

    def finished(self, at: Attempt, done: Counter[str]) -> bool:
        return self.opts.max_rounds is not None and done["revealed"] >= self.opts.max_rounds

    def recover(self, at: Attempt) -> Fields | None:
        """A commit included whose receipt was lost (a crash or a node restart)."""
        entry = at.entry
        if "prepared" in entry and "committed" not in entry and _commit_landed(
                self.ctx.dml, self.task_id, at.round, self.ctx.address,
                _commitment(self.task_id, at.round, at.retries, self.me, entry)):
            return {"committed": True}
        return None

    def wait_condition(self, at: Attempt) -> Callable[[Task], bool]:
        if at.entry.get("drawn") is False:  # sits this attempt out
            return attempt_changed(at.round, at.retries)
        return wait_for_phase(at)

    def summary(self, done: Counter[str]) -> dict[str, Any]:
        return {"task": self.task_id, "rounds": done["revealed"]}

    # -- steps ----------------------------------------------------------------------------

    def sit_out(self, at: Attempt, save: Callable[..., Fields]) -> Fields:
        """Not drawn for this attempt: no training, no commit; wait for the next one."""
        self.ctx.emit("not_drawn", task=self.task_id, round=at.round, attempt=at.retries,
                      cohort=at.task.spec.cohort, drawn=at.task.cohort_size,
                      note="sitting this round out; waiting for the next draw")
        return {"drawn": False}

    def prepare(self, at: Attempt, save: Callable[..., Fields]) -> Fields:
        """Train on the local data, upload the update and its signed manifest, choose the
        salt (journalled before the commit is sent), then commit."""
        entry = save(**self._train_and_upload(at))
        return self.commit(replace(at, entry=entry), save)

    def commit(self, at: Attempt, save: Callable[..., Fields]) -> Fields:
        c = _commitment(self.task_id, at.round, at.retries, self.me, at.entry)
        receipt = self.ctx.dml.commit_update(self.ctx.account.keypair, self.task_id, at.round, c)
        return {"committed": True, "cid": at.entry["manifest_cid"],
                "block": receipt.block_number}

    def reveal(self, at: Attempt, save: Callable[..., Fields]) -> Fields:
        entry = at.entry
        receipt = self.ctx.dml.reveal_update(
            self.ctx.account.keypair, self.task_id, at.round, entry["manifest_cid"],
            Hash(entry["manifest_hash"]), int(entry["num_examples"]), Hash(entry["salt"]))
        return {"revealed": True, "block": receipt.block_number}

    def _train_and_upload(self, at: Attempt) -> Fields:
        from decentralml_client.ml.train import TrainResult, train_local

        ctx, opts, task, r = self.ctx, self.opts, at.task, at.round
        model_spec = ctx.model_spec(task)
        weights, base_hash = ctx.global_model(task)
        ctx.emit("training", task=self.task_id, round=r, examples=len(self.y))
        if trains(opts.attack):
            result = train_local(model_spec, weights, self.x,
                                 attack_labels(self.y, opts.attack, model_spec.num_classes),
                                 seed=opts.seed + r * 1000 + at.retries)
        else:  # an idle attacker (free-rider, copy, history re-use) does not train
            result = TrainResult([np.zeros_like(w) for w in weights], len(self.y))
        delta = result.delta
        rng = np.random.default_rng(opts.seed + r)
        if opts.attack in HISTORY_ATTACKS:  # re-uses public history, trains nothing
            delta = history_delta(opts.attack, DEFAULT_ATTACK_SCALE[opts.attack], rng, weights,
                                  ctx.public_history(self.task_id, task), account_key(ctx.address))
        elif opts.attack:
            delta = attack_delta(delta, opts.attack, DEFAULT_ATTACK_SCALE[opts.attack], rng,
                                 ctx.previous_step(self.task_id, task))
        claimed = claimed_examples(opts.attack, result.num_examples, task.spec.max_examples)
        update = encode_update(
            delta, model_spec, task=str(self.task_id), round=r, base_model_hash=base_hash,
            num_examples=claimed, encoding=opts.encoding, topk=opts.topk,
            allow_nonfinite=opts.attack == "nan")
        sealed = task.spec.private
        stored = seal_for_validators(update, _validator_keys(ctx, self.task_id)) if sealed \
            else update
        update_cid = ctx.store.add(stored)
        signed = build_update_manifest(
            ctx.account, task_id=self.task_id, round_=r, base_model_hash=base_hash,
            update_cid=update_cid, update_bytes=stored, num_examples=claimed,
            metrics=result.metrics, sealed=sealed)
        return {"prepared": True, "manifest_cid": ctx.store.add(signed),
                "manifest_hash": file_hash(signed), "salt": "0x" + os.urandom(32).hex(),
                "num_examples": claimed, "update_bytes": len(stored), "metrics": result.metrics}


def _commitment(task_id: int, round_: int, attempt: int, me: bytes,
                entry: dict[str, Any]) -> bytes:
    """The update commitment of the round's prepared journal entry."""
    return update_commitment(task_id, round_, attempt, me, Hash(entry["manifest_hash"]).raw,
                             int(entry["num_examples"]), Hash(entry["salt"]).raw)


def _commit_landed(dml: DecentralMl, task_id: int, round_: int, address: str,
                   commitment: bytes) -> bool:
    """Whether the chain holds ``address``'s commitment ``commitment`` for the round."""
    want = Hash(commitment)
    return any(s.contributor == address and s.commitment == want
               for s in dml.submissions(task_id, round_).values())


def _validator_keys(ctx: RoleContext, task_id: int) -> list[bytes]:
    keys = []
    for address, member in ctx.dml.members(task_id).items():
        if member.role == "Validator":
            info = ctx.dml.participant(address)
            if info:
                keys.append(info.x25519_key.raw)
    return keys
