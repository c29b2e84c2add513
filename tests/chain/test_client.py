"""The connection's pure decoding: events from runtime records, receipts searched by event,
refusals by the node turned into messages that say what to do (no node needed)."""

from __future__ import annotations

from typing import Any

from decentralml_client.chain import Event, Receipt
from decentralml_client.chain.client import _event_from_record, _rejection_message


class _Record:
    """What substrate-interface returns for an event record: the decoded value in ``value``."""

    def __init__(self, value: dict[str, Any]) -> None:
        self.value = value


def test_events_are_decoded_from_records_or_plain_dicts() -> None:
    raw = {"event": {"module_id": "DecentralMl", "event_id": "TaskCreated",
                     "attributes": {"task_id": 3}}, "extrinsic_idx": 1}
    event = _event_from_record(_Record(raw))
    assert event == Event("DecentralMl", "TaskCreated", {"task_id": 3}, 1)
    assert event.qualname == "DecentralMl.TaskCreated"
    assert _event_from_record(raw) == event
    bare = _event_from_record({"event": {"module_id": "System", "event_id": "NewAccount"}})
    assert bare.attributes is None and bare.extrinsic_idx is None


def test_a_receipt_finds_its_events_by_name_in_the_pallet() -> None:
    created = Event("DecentralMl", "TaskCreated", {"task_id": 3})
    receipt = Receipt("0x01", "0x02", 7, [Event("System", "TaskCreated", None), created])
    assert receipt.find("TaskCreated") == [created]
    assert receipt.find("TaskCreated", pallet="System")[0].pallet == "System"
    assert receipt.find("RoundFinalized") == []


def test_a_refusal_the_node_explains_carries_its_fix() -> None:
    text = _rejection_message("DecentralMl.register",
                              "Invalid Transaction: Inability to pay some fees")
    assert text.startswith("DecentralMl.register: the node refused the transaction (Invalid")
    assert "What to do: the account cannot pay the fee" in text
    assert "decentralml account faucet" in text
    other = _rejection_message("DecentralMl.join_task", "something new")
    assert other == "DecentralMl.join_task: the node refused the transaction (something new)."
