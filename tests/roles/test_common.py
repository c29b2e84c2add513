"""What every role shares: the model spec's initial weights, checked before use."""

from __future__ import annotations

import pytest

from decentralml_client.ml.model_spec import default_digits_spec
from decentralml_client.roles.common import RoleError, initial_weights


def test_the_initial_weights_the_spec_names() -> None:
    spec = default_digits_spec().with_initial_weights(cid="bafyweights", hash_hex="0x" + "aa" * 32)
    assert initial_weights(spec) == ("bafyweights", "0x" + "aa" * 32)


def test_a_spec_without_initial_weights_is_a_role_error_with_a_hint() -> None:
    with pytest.raises(RoleError, match="names no initial weights") as caught:
        initial_weights(default_digits_spec())
    assert "decentralml task create" in caught.value.hint
