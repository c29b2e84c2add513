"""Every refusal the pallet can make reaches the user with a hint saying what to do."""

from decentralml_client.chain.abi import load
from decentralml_client.chain.errors import HINTS, PalletError


def test_every_pallet_error_has_a_hint() -> None:
    names = {e["name"] for e in load()["errors"]}
    assert sorted(names - set(HINTS)) == []


def test_message_names_the_call_the_error_and_the_fix() -> None:
    err = PalletError("DecentralMl", "StakeTooLow", "The stake is below the minimum.",
                      call="DecentralMl.register")
    text = str(err)
    assert text.startswith("DecentralMl.register: DecentralMl.StakeTooLow")
    assert "below the minimum" in text and "What to do: stake at least" in text
