"""TensorFlow Federated's own algorithm beside ours, on the same split (``simulate --tff``,
``bench/bench_ml.py``, the oracle tests).

:class:`TffReference` runs ``tff.learning.algorithms.build_weighted_fed_avg`` with the server
optimiser matching the task's (:func:`tff_server_optimizer`) — or, when the model spec sets a
FedProx ``prox_mu``, ``build_weighted_fed_prox``, whose proximal term has the opposite sign of
ours (docs/ml.md, FedProx) — from the same initial weights, on the same shards, with the same
client batches each round (:func:`client_seed` seeds ``make_client_dataset`` for both). TFF
weights the clients by their example counts, which is our ``claimed`` example weighting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from decentralml_client.ml.data import client_seed
from decentralml_client.ml.model_spec import ModelSpec
from decentralml_client.ml.server_opt import ServerOptimizer
from decentralml_client.ml.tff_runtime import tff, worker_safe_streams
from decentralml_client.ml.train import client_optimizer, keras_model_fn, make_client_dataset


def tff_server_optimizer(opt: ServerOptimizer) -> Any:
    """TFF's optimizer with the same step as ``opt`` (``none``: SGD with learning rate 1, i.e.
    ``w + Δ``; Yogi starts its second moment at ``τ²``, as ours does)."""
    o = tff.learning.optimizers
    if opt.kind == "none":
        return o.build_sgdm(learning_rate=1.0)
    if opt.kind == "momentum":
        return o.build_sgdm(learning_rate=opt.lr, momentum=opt.momentum)
    if opt.kind == "adam":
        return o.build_adam(learning_rate=opt.lr, beta_1=opt.beta1, beta_2=opt.beta2,
                            epsilon=opt.tau)
    return o.build_yogi(learning_rate=opt.lr, beta_1=opt.beta1, beta_2=opt.beta2,
                        epsilon=opt.tau, initial_preconditioner_value=opt.tau**2)


def build_tff_process(model_spec: ModelSpec, opt: ServerOptimizer) -> Any:
    """TFF's learning process for the task: weighted FedAvg with ``opt`` on the server, or
    TFF's FedProx when ``model_spec.prox_mu > 0``."""
    algorithms = tff.learning.algorithms
    if model_spec.prox_mu > 0:
        return algorithms.build_weighted_fed_prox(
            keras_model_fn(model_spec), client_optimizer_fn=client_optimizer(model_spec),
            server_optimizer_fn=tff_server_optimizer(opt),
            proximal_strength=float(model_spec.prox_mu))
    return algorithms.build_weighted_fed_avg(
        keras_model_fn(model_spec), client_optimizer_fn=client_optimizer(model_spec),
        server_optimizer_fn=tff_server_optimizer(opt))


class TffReference:
    """TFF's process for the task, started from ``initial_weights``, one round per
    :meth:`next_round` on ``shards``. Call inside a :func:`~decentralml_client.ml.tff_runtime.
    tff_session`."""

    def __init__(self, model_spec: ModelSpec, opt: ServerOptimizer,
                 shards: Sequence[tuple[NDArray[Any], NDArray[Any]]],
                 initial_weights: Sequence[NDArray[Any]], seed: int) -> None:
        self.model_spec, self.shards, self.seed = model_spec, list(shards), seed
        self.process = build_tff_process(model_spec, opt)
        with worker_safe_streams():
            self.state = self.process.set_model_weights(
                self.process.initialize(),
                tff.learning.models.ModelWeights(trainable=tuple(initial_weights),
                                                 non_trainable=()))

    def next_round(self, rnd: int) -> list[NDArray[Any]]:
        """Run round ``rnd`` (1, 2, …) with every shard as a client; return TFF's new model."""
        data = [make_client_dataset(self.model_spec, x, y, client_seed(self.seed, rnd, i))
                for i, (x, y) in enumerate(self.shards)]
        with worker_safe_streams():
            self.state = self.process.next(self.state, data).state
            weights = self.process.get_model_weights(self.state).trainable
        return [np.asarray(t) for t in weights]
