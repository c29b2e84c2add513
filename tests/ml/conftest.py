"""Shared fixtures of the learning-engine tests: the digits task and its split."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def manifest():
    from decentralml_client.ml.manifest import default_digits_manifest

    return default_digits_manifest()


@pytest.fixture(scope="session")
def digits():
    from decentralml_client.ml.data import load_digits_split

    return load_digits_split(0.25, seed=0)
