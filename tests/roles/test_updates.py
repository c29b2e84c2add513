"""The round's aggregate every validator and the aggregator recompute: FedAvg weights the
accepted updates by their claims as the task's example weighting on chain says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from decentralml_client.ml.aggregate import fedavg
from decentralml_client.ml.model_spec import default_digits_spec, make_initial_weights
from decentralml_client.roles.common import RoleContext
from decentralml_client.roles.updates import compute_aggregate
from tests.roles.fakes import CREATOR, MODEL_HASH, TASK_ID, FakeChain, phases, role_context

CLAIMS = [100, 100, 400, 9_000]  # the last one inflated past max_examples
MAX_EXAMPLES = 1_000
WEIGHTS_HASH = "0x" + "ab" * 32


def _context(tmp_path: Path, weighting: str | None) -> tuple[RoleContext, dict[str, Any]]:
    spec: dict[str, Any] = {"rule": "FedAvg", "server_optimizer": "None",
                            "max_examples": MAX_EXAMPLES}
    if weighting is not None:
        spec["example_weighting"] = weighting
    subs = [(i, {"contributor": CREATOR, "commitment": MODEL_HASH, "status": "Accepted",
                 "num_examples": n}) for i, n in enumerate(CLAIMS)]
    chain = FakeChain(phases(0, "Aggregate"), maps={"Submissions": subs}, spec=spec)
    ctx = role_context(chain, tmp_path)
    # M_0 and its model spec as if fetched from IPFS already (the fake has no store).
    model_spec = default_digits_spec(0).with_initial_weights(cid="bafy-w0", hash_hex=WEIGHTS_HASH)
    ctx._model_specs[MODEL_HASH] = model_spec
    ctx._weights[WEIGHTS_HASH] = make_initial_weights(model_spec, 0)
    ctx._server_states[WEIGHTS_HASH] = None
    return ctx, ctx.task(TASK_ID)


def _deltas(base: list[np.ndarray]) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(5)
    return [[rng.normal(0, 0.01, w.shape).astype(np.float32) for w in base] for _ in CLAIMS]


@pytest.mark.parametrize(("weighting", "counts"), [
    ("MedianCapped", [100, 100, 100, 100]),  # capped at the lower median claim, 100
    (None, [100, 100, 100, 100]),  # a spec without the field: the default
    ("Claimed", [100, 100, 400, MAX_EXAMPLES]),  # capped at max_examples only
])
def test_the_aggregate_weights_claims_as_the_task_says(tmp_path: Path, weighting: str | None,
                                                       counts: list[int]) -> None:
    ctx, task = _context(tmp_path, weighting)
    base = ctx._weights[WEIGHTS_HASH]
    deltas = _deltas(base)
    cache = {i: (d, n) for i, (d, n) in enumerate(zip(deltas, CLAIMS))}

    agg = compute_aggregate(ctx, TASK_ID, task, cache)

    assert agg.included == [0, 1, 2, 3]
    want = fedavg(base, deltas, counts)
    for got, w in zip(agg.weights, want):
        np.testing.assert_array_equal(got, w)


def test_the_two_weightings_adopt_different_models(tmp_path: Path) -> None:
    hashes = set()
    for weighting in ("MedianCapped", "Claimed"):
        ctx, task = _context(tmp_path / weighting, weighting)
        deltas = _deltas(ctx._weights[WEIGHTS_HASH])
        cache = {i: (d, n) for i, (d, n) in enumerate(zip(deltas, CLAIMS))}
        hashes.add(compute_aggregate(ctx, TASK_ID, task, cache).hash)
    assert len(hashes) == 2
