"""The contributor: train on private data each round, publish the update, commit, reveal.

Per round attempt, each step is journalled before the next one starts:
``prepared`` (update and signed manifest uploaded, salt chosen) → ``committed`` → ``revealed``.
A restarted contributor resumes from the last journalled step and never trains twice for an
attempt it already prepared, so its commitment always matches what it reveals.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from decentralml_client.chain import DecentralMl, PalletError
from decentralml_client.chain.api import account_id
from decentralml_client.chain.errors import Kind
from decentralml_client.chain.records import Hash
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
from decentralml_client.roles.common import (
    RoleContext,
    account_key,
    attempt_changed,
    attempts,
    build_update_manifest,
    phase_changed,
)
from decentralml_client.roles.journal import Journal


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
    from decentralml_client.ml.train import TrainResult, train_local

    dml = ctx.dml
    journal = Journal.for_role(ctx.data_dir, "contributor", ctx.address, task_id)
    me = account_id(ctx.address)
    rounds_done = 0
    for at in attempts(ctx, task_id, journal):
        task, r, retries, phase, key, entry = (at.task, at.round, at.retries, at.phase, at.key,
                                               at.entry)
        if opts.max_rounds is not None and rounds_done >= opts.max_rounds:
            break

        if "prepared" in entry and "committed" not in entry and _commit_landed(
                dml, task_id, r, ctx.address, _commitment(task_id, r, retries, me, entry)):
            # The commit was included but its receipt was lost (a crash or a node restart).
            entry = journal.update(key, committed=True)
            ctx.emit("committed", task=task_id, round=r)

        step = next_step(phase, entry)
        if step in ("prepare", "commit"):
            if step == "prepare":
                model_spec = ctx.model_spec(task)
                weights, base_hash = ctx.global_model(task)
                ctx.emit("training", task=task_id, round=r, examples=len(y))
                if trains(opts.attack):
                    result = train_local(model_spec, weights, x,
                                         attack_labels(y, opts.attack, model_spec.num_classes),
                                         seed=opts.seed + r * 1000 + retries)
                else:  # an idle attacker (free-rider, copy, history re-use) does not train
                    result = TrainResult([np.zeros_like(w) for w in weights], len(y))
                delta = result.delta
                rng = np.random.default_rng(opts.seed + r)
                if opts.attack in HISTORY_ATTACKS:  # re-uses public history, trains nothing
                    delta = history_delta(opts.attack, DEFAULT_ATTACK_SCALE[opts.attack], rng,
                                          weights, ctx.public_history(task_id, task),
                                          account_key(ctx.address))
                elif opts.attack:
                    delta = attack_delta(delta, opts.attack, DEFAULT_ATTACK_SCALE[opts.attack], rng,
                                         ctx.previous_step(task_id, task))
                claimed = claimed_examples(opts.attack, result.num_examples,
                                           task.spec.max_examples)
                result = TrainResult(delta, claimed, result.metrics)
                update = encode_update(
                    delta, model_spec, task=str(task_id), round=r, base_model_hash=base_hash,
                    num_examples=claimed, encoding=opts.encoding, topk=opts.topk,
                    allow_nonfinite=opts.attack == "nan",
                )
                sealed = task.spec.private
                stored = update
                if sealed:
                    stored = seal_for_validators(update, _validator_keys(ctx, task_id))
                update_cid = ctx.store.add(stored)
                signed = build_update_manifest(
                    ctx.account, task_id=task_id, round_=r, base_model_hash=base_hash,
                    update_cid=update_cid, update_bytes=stored,
                    num_examples=result.num_examples, metrics=result.metrics, sealed=sealed,
                )
                manifest_cid = ctx.store.add(signed)
                entry = journal.update(
                    key, prepared=True, manifest_cid=manifest_cid,
                    manifest_hash=file_hash(signed), salt="0x" + os.urandom(32).hex(),
                    num_examples=result.num_examples, update_bytes=len(stored),
                    metrics=result.metrics,
                )
                ctx.emit("prepared", task=task_id, round=r, cid=manifest_cid,
                         bytes=len(stored), **result.metrics)
            c = _commitment(task_id, r, retries, me, entry)
            try:
                dml.commit_update(ctx.account.keypair, task_id, r, c)
            except PalletError as exc:
                if exc.kind is Kind.MISSED:
                    journal.update(key, missed=exc.name)
                    ctx.wait(task_id, attempt_changed(r, retries))
                    continue
                if exc.kind is not Kind.DONE:  # done: a commit sent before a crash landed
                    raise
            journal.update(key, committed=True)
            ctx.emit("committed", task=task_id, round=r)
            continue

        if step == "reveal":
            try:
                dml.reveal_update(
                    ctx.account.keypair, task_id, r, entry["manifest_cid"],
                    Hash(entry["manifest_hash"]).raw, int(entry["num_examples"]),
                    Hash(entry["salt"]).raw,
                )
            except PalletError as exc:
                if exc.kind is Kind.MISSED:  # e.g. the same bytes as an earlier submission
                    journal.update(key, revealed=False, missed=exc.name)
                    continue
                if exc.kind is not Kind.DONE:
                    raise
            journal.update(key, revealed=True)
            rounds_done += 1
            ctx.emit("revealed", task=task_id, round=r)
            continue

        # Nothing to do in this phase: wait for the next phase or round.
        ctx.wait(task_id, phase_changed(r, retries, phase))
    return {"task": task_id, "rounds": rounds_done}


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
