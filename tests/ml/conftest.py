"""Shared fixtures of the learning-engine tests: the digits task and its split."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def model_spec():
    from decentralml_client.ml.model_spec import default_digits_spec

    return default_digits_spec()


@pytest.fixture(scope="session")
def digits():
    from decentralml_client.ml.data import load_digits_split

    return load_digits_split(0.25, seed=0)
