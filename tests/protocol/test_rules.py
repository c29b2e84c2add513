"""The one codec from user names to the chain's rule and server-optimiser values."""

from __future__ import annotations

import pytest

from decentralml_client.ml.model_spec import default_digits_spec, with_client_options
from decentralml_client.ml.server_opt import server_optimizer, server_optimizer_value
from decentralml_client.protocol.rules import (
    EXAMPLE_WEIGHTINGS,
    example_weighting,
    example_weighting_value,
    rule_value,
)


def test_rule_names_map_to_chain_values() -> None:
    assert rule_value("fedavg") == "FedAvg"
    assert rule_value("trimmed-mean", contributors=10, malicious=3) == {
        "TrimmedMean": {"beta": 300_000}}
    assert rule_value("krum", contributors=10, malicious=2) == {
        "MultiKrum": {"byzantine": 2, "keep": 8}}
    with pytest.raises(ValueError):
        rule_value("mean")


def test_server_optimizer_names_defaults_and_overrides() -> None:
    assert server_optimizer_value("none") == "None"
    assert server_optimizer_value("fedavgm") == {"Momentum": {"lr": 1_000_000,
                                                              "momentum": 900_000}}
    assert server_optimizer_value("adam") == {
        "Adam": {"lr": 100_000, "beta1": 900_000, "beta2": 990_000, "tau": 1_000_000}}
    assert server_optimizer_value("FedYogi", lr=0.03, beta2=0.999, tau=1e-7) == {
        "Yogi": {"lr": 30_000, "beta1": 900_000, "beta2": 999_000, "tau": 100}}
    # hyper-parameters an optimiser does not have are ignored, not smuggled in
    assert server_optimizer("momentum", beta1=0.5).beta1 == 0.9
    for bad in ({"lr": 0.0}, {"beta1": 1.0}, {"tau": 0.0}):
        with pytest.raises(ValueError):
            server_optimizer("adam", **bad)
    with pytest.raises(ValueError):
        server_optimizer("lamb")


def test_client_options_change_the_model_spec_and_its_hash_only_when_set() -> None:
    spec = default_digits_spec()
    assert with_client_options(spec) is spec
    prox = with_client_options(spec, prox_mu=0.01, local_epochs=2, local_steps=5)
    assert (prox.prox_mu, prox.local_epochs, prox.local_steps) == (0.01, 2, 5)
    assert prox.hash() != spec.hash()
    # unset options are not written, so existing model specs keep their bytes
    assert b"prox_mu" not in spec.to_bytes() and b"local_steps" not in spec.to_bytes()
    assert type(spec).from_bytes(prox.to_bytes()) == prox
    with pytest.raises(ValueError):
        with_client_options(spec, prox_mu=-1.0)
    with pytest.raises(ValueError):
        with_client_options(spec, local_steps=0)


def test_example_weighting_names_map_to_chain_values_and_back() -> None:
    assert example_weighting_value("median-capped") == "MedianCapped"
    assert example_weighting_value("claimed") == "Claimed"
    assert example_weighting_value(" Median_Capped ") == "MedianCapped"
    for name in EXAMPLE_WEIGHTINGS:
        assert example_weighting(example_weighting_value(name)) == name
    assert example_weighting(None) == "median-capped"  # the default
    for bad in ("raw", "", 3, {"Claimed": None}):
        with pytest.raises(ValueError, match="median-capped, claimed"):
            example_weighting(bad)
