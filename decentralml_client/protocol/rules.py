"""Aggregation rules by name: the one mapping from a user's rule name to the chain's
``AggregationRule`` value, shared by ``task create``, ``simulate`` and the demo.

Defaults: trimmed mean trims ``β = max(0.1, malicious/contributors)`` from each side; Krum
assumes ``f = max(1, malicious)`` Byzantine updates and keeps ``n − f`` (at least 1).
"""

from __future__ import annotations

from typing import Any

from decentralml_client.units import PERMILL

RULES = ("fedavg", "trimmed-mean", "median", "krum")


def rule_value(
    name: str,
    *,
    contributors: int = 1,
    malicious: int = 0,
    beta: float | None = None,
    byzantine: int | None = None,
    keep: int | None = None,
) -> str | dict[str, Any]:
    """The chain's rule value for a rule name (raises ``ValueError`` on a bad name or value)."""
    key = name.strip().lower().replace("_", "-")
    if key == "fedavg":
        return "FedAvg"
    if key == "median":
        return "Median"
    if key in ("trimmed-mean", "trimmedmean"):
        b = beta if beta is not None else max(0.1, malicious / max(contributors, 1))
        if not 0 <= b < 0.5:
            raise ValueError(f"beta must be in [0, 0.5), got {b}")
        return {"TrimmedMean": {"beta": round(b * PERMILL)}}
    if key in ("krum", "multi-krum", "multikrum"):
        f = byzantine if byzantine is not None else max(1, malicious)
        k = keep if keep is not None else max(1, contributors - f)
        if f < 0 or k < 1:
            raise ValueError(f"krum needs byzantine >= 0 and keep >= 1, got {f}, {k}")
        return {"MultiKrum": {"byzantine": int(f), "keep": int(k)}}
    raise ValueError(f"unknown aggregation rule {name!r}; choose one of {', '.join(RULES)}")


SERVER_OPTIMIZERS = ("none", "momentum", "adam", "yogi")
#: Defaults per server optimiser (tuned on digits, see docs/ml.md, Server optimisers).
SERVER_DEFAULTS: dict[str, dict[str, float]] = {
    "none": {},
    "momentum": {"lr": 1.0, "momentum": 0.9},
    "adam": {"lr": 0.1, "beta1": 0.9, "beta2": 0.99, "tau": 1e-3},
    "yogi": {"lr": 0.1, "beta1": 0.9, "beta2": 0.99, "tau": 1e-3},
}


def server_optimizer(
    name: str,
    *,
    lr: float | None = None,
    momentum: float | None = None,
    beta1: float | None = None,
    beta2: float | None = None,
    tau: float | None = None,
) -> Any:
    """The :class:`~decentralml_client.ml.server_opt.ServerOptimizer` for a user's name
    (``none``, ``momentum``/``fedavgm``, ``adam``/``fedadam``, ``yogi``/``fedyogi``); unset
    hyper-parameters take :data:`SERVER_DEFAULTS`. Raises ``ValueError`` on a bad name or value.
    Its ``to_chain()`` is the chain's ``ServerOptimizer`` value."""
    from decentralml_client.ml.errors import AggregationError
    from decentralml_client.ml.server_opt import ServerOptimizer

    key = name.strip().lower().replace("_", "-")
    key = {"fedavgm": "momentum", "fedadam": "adam", "fedyogi": "yogi", "sgd": "none"}.get(key, key)
    if key not in SERVER_OPTIMIZERS:
        raise ValueError(
            f"unknown server optimiser {name!r}; choose one of {', '.join(SERVER_OPTIMIZERS)}"
        )
    given = {"lr": lr, "momentum": momentum, "beta1": beta1, "beta2": beta2, "tau": tau}
    params = dict(SERVER_DEFAULTS[key])
    for k, v in given.items():
        if v is not None and k in params:
            params[k] = float(v)
    try:
        return ServerOptimizer(key, **params)
    except AggregationError as exc:
        raise ValueError(str(exc)) from None


def server_optimizer_value(name: str, **hyper: float | None) -> Any:
    """The chain's ``ServerOptimizer`` value for a user's name (see :func:`server_optimizer`)."""
    return server_optimizer(name, **hyper).to_chain()


def with_client_options(
    model_spec: Any,
    *,
    prox_mu: float | None = None,
    local_epochs: int | None = None,
    local_steps: int | None = None,
) -> Any:
    """The model spec with the contributors' FedProx ``prox_mu``, ``local_epochs`` and
    ``local_steps`` set where given (they are hashed with the spec). Raises ``ValueError``."""
    from dataclasses import replace

    from decentralml_client.ml.errors import ModelSpecError

    changes: dict[str, Any] = {}
    if prox_mu is not None:
        changes["prox_mu"] = float(prox_mu)
    if local_epochs is not None:
        changes["local_epochs"] = int(local_epochs)
    if local_steps is not None:
        changes["local_steps"] = int(local_steps)
    try:
        return replace(model_spec, **changes) if changes else model_spec
    except ModelSpecError as exc:
        raise ValueError(str(exc)) from None


#: How FedAvg weights accepted updates by their claimed ``num_examples``: user names in the
#: CLI's spelling and the chain's ``ExampleWeighting`` values.
EXAMPLE_WEIGHTINGS = ("median-capped", "claimed")
_WEIGHTING_CHAIN = {"median-capped": "MedianCapped", "claimed": "Claimed"}
DEFAULT_EXAMPLE_WEIGHTING = "median-capped"


def example_weighting(name: Any) -> str:
    """The weighting's name (``median-capped`` or ``claimed``) for a user's name or the chain's
    ``ExampleWeighting`` value (``MedianCapped``, ``Claimed``; ``None``, as a spec read from
    a chain without the field has it, is the default). Raises ``ValueError``.

    * ``median-capped``: each claim capped at ``max_examples`` and at the round's lower-median
      claim (the claim-inflation defence; the default).
    * ``claimed``: each claim capped at ``max_examples`` only (plain FedAvg, as TFF's
      ``build_weighted_fed_avg``); the chain refuses it with open admission.
    """
    if name is None:
        return DEFAULT_EXAMPLE_WEIGHTING
    if isinstance(name, str):
        key = name.strip().replace("_", "-")
        key = {v.lower(): k for k, v in _WEIGHTING_CHAIN.items()}.get(key.lower(), key.lower())
        if key in _WEIGHTING_CHAIN:
            return key
    raise ValueError(
        f"unknown example weighting {name!r}; choose one of {', '.join(EXAMPLE_WEIGHTINGS)}"
    )


def example_weighting_value(name: Any) -> str:
    """The chain's ``ExampleWeighting`` value for a user's name (see :func:`example_weighting`)."""
    return _WEIGHTING_CHAIN[example_weighting(name)]
