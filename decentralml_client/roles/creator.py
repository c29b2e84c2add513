"""The task creator: publish the model spec and initial weights, create the task."""

from __future__ import annotations

from dataclasses import replace

from decentralml_client.chain import TaskSpec
from decentralml_client.ml.codec import decode_tensors, file_hash
from decentralml_client.ml.errors import ModelSpecError
from decentralml_client.ml.model_spec import ModelSpec, initial_weights_file
from decentralml_client.roles.common import RoleContext


def publish_model(ctx: RoleContext, model_spec: ModelSpec, *, seed: int = 0,
                  initial_weights: bytes | None = None) -> tuple[str, str]:
    """Upload the initial weights and the model spec naming them; returns (cid, hash) of it.

    ``initial_weights`` is the round-0 weights file the spec names (as ``decentralml model
    init`` writes it beside the spec); without it, weights are drawn from ``seed``.
    """
    if initial_weights is not None:
        check_initial_weights(model_spec, initial_weights)
        weights = initial_weights
    else:
        weights = initial_weights_file(model_spec, seed)
    weights_cid = ctx.store.add(weights)
    model_spec = model_spec.with_initial_weights(cid=weights_cid, hash_hex=file_hash(weights))
    data = model_spec.to_bytes()
    return ctx.store.add(data), file_hash(data)


def check_initial_weights(model_spec: ModelSpec, data: bytes) -> None:
    """Refuse a weights file the spec does not name, or that does not fit the model."""
    named = model_spec.initial_weights_hash
    if named is not None and file_hash(data) != named:
        raise ModelSpecError(
            f"the initial weights file hashes to {file_hash(data)}, but the model spec names "
            f"{named}", hint="pass the weights file written with the spec by `decentralml "
            "model init` (NAME.weights.safetensors), or run model init again.")
    decode_tensors(data, model_spec, kind="weights")


def create_task(ctx: RoleContext, model_spec: ModelSpec, spec: TaskSpec, *,
                seed: int = 0, initial_weights: bytes | None = None) -> int:
    """Publish the model and create the task (the whole reward moves to escrow). Cohort,
    committee and audit settings the pallet would refuse are refused first
    (:meth:`TaskSpec.check_committees`, ``ValueError``), before anything is uploaded."""
    spec.check_committees()
    cid, digest = publish_model(ctx, model_spec, seed=seed, initial_weights=initial_weights)
    task_id = ctx.dml.create_task(ctx.account.keypair,
                                  replace(spec, model_cid=cid, model_hash=digest))
    ctx.emit("task_created", task=task_id, manifest_cid=cid)
    return task_id

