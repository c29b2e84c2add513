"""Aggregation rules by name: the one mapping from a user's rule name to the chain's
``AggregationRule`` value, shared by ``task create``, ``simulate`` and the demo, and the one
check of a rule value (:func:`check_rule`; the pallet's ``check_spec`` mirrors it).

Defaults: trimmed mean trims ``β = max(0.1, malicious/contributors)`` from each side; Krum
assumes ``f = max(1, malicious)`` Byzantine updates and keeps ``n − f`` (at least 1).
"""

from __future__ import annotations

from collections.abc import Mapping
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
    value: dict[str, Any]
    if key in ("trimmed-mean", "trimmedmean"):
        b = beta if beta is not None else max(0.1, malicious / max(contributors, 1))
        if not 0 <= b < 0.5:
            raise ValueError(f"beta must be in [0, 0.5), got {b}")
        value = {"TrimmedMean": {"beta": round(b * PERMILL)}}
    elif key in ("krum", "multi-krum", "multikrum"):
        f = byzantine if byzantine is not None else max(1, malicious)
        k = keep if keep is not None else max(1, contributors - f)
        value = {"MultiKrum": {"byzantine": int(f), "keep": int(k)}}
    else:
        raise ValueError(f"unknown aggregation rule {name!r}; choose one of {', '.join(RULES)}")
    check_rule(value)
    return value


def check_rule(rule: str | Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Check a chain rule value (``"FedAvg"``, ``{"TrimmedMean": {"beta": 100000}}``, …) and
    return it as ``(name, params)``; ``beta`` is in Permill, as on chain. Raises
    ``ValueError`` on what the pallet's ``check_spec`` refuses."""
    if isinstance(rule, str):
        name, params = rule, dict[str, Any]()
    elif isinstance(rule, Mapping) and len(rule) == 1:
        ((name, raw),) = rule.items()
        if raw is None:
            raw = {}
        elif not isinstance(raw, Mapping):
            raw = {"beta": raw} if name == "TrimmedMean" else {"value": raw}
        params = dict(raw)
    else:
        raise ValueError(f"cannot read aggregation rule {rule!r}")
    if name in ("FedAvg", "Median"):
        if params:
            raise ValueError(f"{name} takes no parameters, got {params}")
    elif name == "TrimmedMean":
        beta = params.get("beta")
        if set(params) != {"beta"} or not isinstance(beta, int) or not 0 <= beta < PERMILL // 2:
            raise ValueError(f"TrimmedMean needs beta in Permill, 0 <= beta < 500000: {params}")
    elif name == "MultiKrum":
        if set(params) != {"byzantine", "keep"} or not all(
                isinstance(v, int) for v in params.values()):
            raise ValueError(f"MultiKrum needs integer byzantine and keep: {params}")
        if params["byzantine"] < 0 or params["keep"] < 1:
            raise ValueError(f"krum needs byzantine >= 0 and keep >= 1, got {params}")
    else:
        raise ValueError(
            f"unknown aggregation rule {name!r}; known: FedAvg, TrimmedMean, Median, MultiKrum")
    return name, params


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
