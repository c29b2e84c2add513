"""Fetching, verifying and aggregating a round's updates: the steps the validator and the
aggregator share (one copy).

``load_update`` fetches the signed update manifest named on chain (hash-checked), verifies
the contributor's signature and that it names this task, round, base model and the committed
``num_examples``, fetches the tensor file (hash in the manifest), opens it if sealed, and
decodes it strictly. ``compute_aggregate`` recomputes the round's aggregate over the updates
the chain accepted, exactly as every honest party does (PROTOCOL §5): the task's rule (FedAvg
weights each update by its claim as the task's example weighting says), then its server
optimiser started from the state ``M_r``'s weights file carries; the new weights file carries
the new state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from numpy.typing import NDArray

from decentralml_client.chain.records import Submission, Task
from decentralml_client.keys import is_sealed, open_sealed
from decentralml_client.ml.aggregate import effective_examples, next_model
from decentralml_client.ml.codec import decode_tensors, encode_weights, file_hash
from decentralml_client.protocol.consensus import aggregated
from decentralml_client.roles.errors import RoleError
from decentralml_client.roles.manifests import read_update_manifest

if TYPE_CHECKING:
    from decentralml_client.roles.common import RoleContext

UpdateCache = dict[int, tuple[list[NDArray[Any]], int]]


@dataclass(frozen=True)
class Aggregate:
    data: bytes
    hash: str
    weights: list[NDArray[Any]]
    included: list[int]


def load_update(ctx: RoleContext, task_id: int, task: Task, index: int,
                sub: Submission, *, round_: int | None = None,
                base_hash: str | None = None) -> tuple[list[NDArray[Any]], int]:
    """Fetch, verify and decode one revealed update: (delta tensors, num_examples).

    By default the update is one of the task's current round, built on the current global
    model; a past round's update names its ``round_`` and the ``base_hash`` of the model that
    round started from. Raises on anything wrong: unavailable or swapped content, bad
    signature, a manifest for another task/round/base model, a malformed or non-finite
    tensor file.
    """
    model_spec = ctx.model_spec(task)
    if base_hash is None:
        _, base_hash = ctx.global_model(task)
    if sub.cid is None or sub.update_hash is None:
        raise RoleError(f"submission {index} is not revealed")
    raw = ctx.store.fetch(sub.cid, sub.update_hash)
    body = read_update_manifest(raw, sub.contributor)
    expect = {"task": task_id, "round": task.round if round_ is None else round_,
              "base_model_hash": base_hash, "num_examples": sub.num_examples}
    for k, v in expect.items():
        if body.get(k) != v:
            raise RoleError(f"submission {index}: manifest {k}={body.get(k)!r}, expected {v!r}")
    data = ctx.store.fetch(body["update_cid"], body["update_hash"])
    if body.get("sealed") or is_sealed(data):
        data = open_sealed(data, ctx.account)
    decoded = decode_tensors(data, model_spec, kind="delta")
    if decoded.meta.get("base_model_hash") != base_hash:
        raise RoleError(f"submission {index}: update built on another model")
    return decoded.tensors, sub.num_examples


def compute_aggregate(ctx: RoleContext, task_id: int, task: Task,
                      cache: UpdateCache | None = None) -> Aggregate:
    """The round's aggregate, as canonical weights bytes, over the accepted submissions that
    add value (:func:`~decentralml_client.protocol.consensus.aggregated`: a positive
    consensus score; all accepted ones when none has)."""
    r = task.round
    subs = ctx.dml.submissions(task_id, r)
    stakes = ctx.committee_stakes(task_id, task)  # what each update's quorum is of
    accepted = sorted(i for i, s in subs.items() if s.accepted(task, stakes.get(i, 0)))
    if not accepted:
        raise RoleError(f"task {task_id} round {r}: no accepted update to aggregate")
    accepted = aggregated(accepted, ctx.round_consensus(task_id, task, r).scores)
    deltas, claims = [], []
    for i in accepted:
        if cache is not None and i in cache:
            delta, n = cache[i]
        else:
            delta, n = load_update(ctx, task_id, task, i, subs[i])
        deltas.append(delta)
        claims.append(n)
    counts = effective_examples(claims, task.spec.max_examples, task.spec.example_weighting)
    base, base_hash = ctx.global_model(task)
    weights, state = next_model(task.spec.rule, task.spec.server_optimizer,
                                base, ctx.server_state(task), deltas, counts)
    data = encode_weights(weights, ctx.model_spec(task), task=str(task_id), round=r + 1,
                          base_model_hash=base_hash, server_state=state)
    return Aggregate(data, file_hash(data), weights, accepted)
