"""Every refusal the pallet can make reaches the user with a hint saying what to do, as its
own error class with a kind, made from the pallet interface (``pallet_abi/decentralml.json``)."""

import json
from pathlib import Path

import pytest

from decentralml_client.chain.abi import load
from decentralml_client.chain.errors import (
    HINTS,
    KIND_HINTS,
    KINDS,
    PALLET_ERRORS,
    ChainUnreachable,
    ConnectionLost,
    Kind,
    PalletError,
    _error_classes,
)


def test_every_pallet_error_has_a_class_and_a_hint() -> None:
    errors = load()["errors"]
    assert sorted(PALLET_ERRORS) == sorted(e["name"] for e in errors)
    for e in errors:
        cls = PALLET_ERRORS[e["name"]]
        assert issubclass(cls, PalletError) and cls.__name__ == e["name"]
        assert cls.hint == (HINTS.get(e["name"]) or KIND_HINTS[cls.kind])
        assert str(cls("DecentralMl", e["name"])).count("What to do: ") == 1


def test_a_pallet_error_is_raised_as_its_own_class_with_its_kind() -> None:
    err = PalletError("DecentralMl", "AlreadyCommitted", call="DecentralMl.commit_update")
    assert isinstance(err, PALLET_ERRORS["AlreadyCommitted"]) and err.kind is Kind.DONE
    assert "already committed" in str(err)  # the pallet's own docs, from the interface
    assert PalletError("DecentralMl", "WrongPhase").kind is Kind.MISSED
    assert PalletError("DecentralMl", "RoundNotFinished").kind is Kind.NOT_YET
    assert PalletError("DecentralMl", "StakeTooLow").kind is Kind.FATAL
    other = PalletError("Balances", "InsufficientBalance")
    assert type(other) is PalletError and other.kind is Kind.FATAL
    assert set(KINDS) <= set(PALLET_ERRORS)  # no kind for an error the pallet lacks


def test_error_classes_follow_the_interface_file(tmp_path: Path) -> None:
    abi = tmp_path / "abi.json"
    abi.write_text(json.dumps({"errors": [{"name": "BrandNew", "docs": "Something new."}]}))
    classes = _error_classes(abi)
    assert list(classes) == ["BrandNew"] and classes["BrandNew"].kind is Kind.FATAL
    assert classes["BrandNew"].hint == KIND_HINTS[Kind.FATAL]
    assert classes["BrandNew"].__doc__ == "Something new."


def test_message_names_the_call_the_error_and_the_fix() -> None:
    err = PalletError("DecentralMl", "StakeTooLow", "The stake is below the minimum.",
                      call="DecentralMl.register")
    text = str(err)
    assert text.startswith("DecentralMl.register: DecentralMl.StakeTooLow")
    assert "below the minimum" in text and "What to do: stake at least" in text


def test_a_lost_connection_is_one_error_that_means_unreachable() -> None:
    with pytest.raises(ChainUnreachable):
        raise ConnectionLost("the websocket closed")
