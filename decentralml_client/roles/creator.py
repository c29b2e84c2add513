"""The task creator: publish the model spec and initial weights, create the task."""

from __future__ import annotations

from dataclasses import replace

from decentralml_client.chain import TaskSpec
from decentralml_client.ml.codec import file_hash
from decentralml_client.ml.model_spec import ModelSpec, initial_weights_file
from decentralml_client.roles.common import RoleContext


def publish_model(ctx: RoleContext, model_spec: ModelSpec, *, seed: int = 0) -> tuple[str, str]:
    """Upload the initial weights and the model spec naming them; returns (cid, hash) of it."""
    weights = initial_weights_file(model_spec, seed)
    weights_cid = ctx.store.add(weights)
    model_spec = model_spec.with_initial_weights(cid=weights_cid, hash_hex=file_hash(weights))
    data = model_spec.to_bytes()
    return ctx.store.add(data), file_hash(data)


def create_task(ctx: RoleContext, model_spec: ModelSpec, spec: TaskSpec, *,
                seed: int = 0) -> int:
    """Publish the model and create the task (the whole reward moves to escrow)."""
    cid, digest = publish_model(ctx, model_spec, seed=seed)
    task_id = ctx.dml.create_task(ctx.account.keypair,
                                  replace(spec, model_cid=cid, model_hash=digest))
    ctx.emit("task_created", task=task_id, manifest_cid=cid)
    return task_id

