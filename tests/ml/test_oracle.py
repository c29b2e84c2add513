"""Oracle: our FedAvg (TFF client work + our codec + our aggregation) against TFF's own
``build_weighted_fed_avg`` on the same data, model, initial weights and batches.

Tolerance: max |difference| of every weight ≤ 1e-6 after each round (measured: 3e-8, one
float32 rounding step). TFF averages in float32
on its side; we accumulate in float64 (PROTOCOL §5), so the two agree to float32 rounding.
"""

from __future__ import annotations

import numpy as np

from decentralml_client.ml.aggregate import fedavg
from decentralml_client.ml.codec import decode_tensors, encode_update
from decentralml_client.ml.data import partition_iid
from decentralml_client.ml.model_spec import make_initial_weights
from decentralml_client.ml.tff_runtime import tff, tff_session, worker_pids
from decentralml_client.ml.train import (
    client_optimizer,
    keras_model_fn,
    make_client_dataset,
    train_local,
)

TOL = 1e-6


def test_fedavg_matches_tff_build_weighted_fed_avg(model_spec, digits) -> None:
    xtr, ytr, _, _ = digits
    shards = partition_iid(xtr[:300], ytr[:300], 3, seed=0)
    shards[2] = (shards[2][0][:60], shards[2][1][:60])  # unequal sizes exercise the weighting
    w0 = make_initial_weights(model_spec, 0)

    with tff_session():
        proc = tff.learning.algorithms.build_weighted_fed_avg(
            keras_model_fn(model_spec),
            client_optimizer_fn=client_optimizer(model_spec),
            server_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate=1.0),
        )
        state = proc.initialize()
        state = proc.set_model_weights(
            state, tff.learning.models.ModelWeights(trainable=tuple(w0), non_trainable=())
        )
        ours = w0
        for rnd in range(3):
            seeds = [100 * rnd + i for i in range(len(shards))]
            data = [make_client_dataset(model_spec, x, y, s) for (x, y), s in zip(shards, seeds)]
            state = proc.next(state, data).state
            theirs = [np.asarray(t) for t in proc.get_model_weights(state).trainable]

            deltas, ns = [], []
            for (x, y), s in zip(shards, seeds):
                res = train_local(model_spec, ours, x, y, seed=s)
                f = encode_update(
                    res.delta,
                    model_spec,
                    task="t",
                    round=rnd,
                    base_model_hash="",
                    num_examples=res.num_examples,
                )
                d = decode_tensors(f, model_spec, kind="delta")
                deltas.append(d.tensors)
                ns.append(d.num_examples)
            assert ns == [len(s[1]) for s in shards]
            ours = fedavg(ours, deltas, ns)
            worst = max(float(np.max(np.abs(a - b))) for a, b in zip(ours, theirs))
            print(f"round {rnd}: max |ours - TFF| = {worst:.2e}")  # shown with pytest -s
            assert worst <= TOL, f"round {rnd}: max |ours - TFF| = {worst}"
            assert max(float(np.max(np.abs(a - b))) for a, b in zip(ours, w0)) > 1e-3  # it moved
    assert worker_pids() == []
