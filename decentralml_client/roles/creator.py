"""The task creator: publish the model manifest and initial weights, create the task."""

from __future__ import annotations

from dataclasses import replace

from decentralml_client.chain import TaskSpec
from decentralml_client.ml.codec import file_hash
from decentralml_client.ml.manifest import ModelManifest, initial_weights_file
from decentralml_client.roles.common import RoleContext


def publish_model(ctx: RoleContext, manifest: ModelManifest, *, seed: int = 0) -> tuple[str, str]:
    """Upload the initial weights and the manifest naming them; returns (cid, hash) of it."""
    weights = initial_weights_file(manifest, seed)
    weights_cid = ctx.store.add(weights)
    manifest = manifest.with_initial_weights(cid=weights_cid, hash_hex=file_hash(weights))
    data = manifest.to_bytes()
    return ctx.store.add(data), file_hash(data)


def create_task(ctx: RoleContext, manifest: ModelManifest, spec: TaskSpec, *,
                seed: int = 0) -> int:
    """Publish the model and create the task (the whole reward moves to escrow)."""
    cid, digest = publish_model(ctx, manifest, seed=seed)
    task_id = ctx.dml.create_task(ctx.account.keypair,
                                  replace(spec, model_cid=cid, model_hash=digest))
    ctx.emit("task_created", task=task_id, manifest_cid=cid)
    return task_id

