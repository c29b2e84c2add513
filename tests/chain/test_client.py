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


# -- resends: a transaction already there is waited for, never reported as refused ---------

import pytest  # noqa: E402

from decentralml_client.chain import Chain, InclusionTimeout  # noqa: E402
from decentralml_client.keys import dev_account  # noqa: E402
from tests.chain.fake_substrate import FakeSubstrate, ext_hash  # noqa: E402

CALL = ("DecentralMl", "commit_vote", {"task_id": 1, "round": 0, "commitment": "0x" + "ab" * 32})


def _chain(fake: FakeSubstrate, monkeypatch: pytest.MonkeyPatch) -> Chain:
    monkeypatch.setattr(Chain, "_open", lambda self: fake)
    return Chain("ws://fake", check_abi=False, timeout=0.3)


def _timed_out_once(chain: Chain, fake: FakeSubstrate) -> str:
    """Send CALL while blocks pause: it reaches the pool, the inclusion wait times out."""
    with pytest.raises(InclusionTimeout):
        chain.submit(dev_account("bob").keypair, CALL[1], CALL[2], pallet=CALL[0])
    assert fake.answers == ["ok"] and len(fake.pool) == 1
    return fake.pool[0]


def test_a_resend_the_node_already_imported_waits_for_the_transaction(monkeypatch) -> None:
    fake = FakeSubstrate()
    chain = _chain(fake, monkeypatch)
    first = _timed_out_once(chain, fake)

    fake.resume_on_submit = True  # blocks resume after the resend
    receipt = chain.submit(dev_account("bob").keypair, CALL[1], CALL[2], pallet=CALL[0])

    assert fake.answers == ["ok", "1013"]  # the very same bytes were sent again
    assert fake.submitted == [first, first]
    assert receipt.extrinsic_hash == ext_hash(first) and receipt.block_number == 1
    assert fake.included(first) == 1


def test_a_resend_of_a_transaction_included_meanwhile_returns_its_receipt(monkeypatch) -> None:
    fake = FakeSubstrate()
    chain = _chain(fake, monkeypatch)
    first = _timed_out_once(chain, fake)
    fake.produce()  # included just after the wait gave up: its nonce is now stale

    receipt = chain.submit(dev_account("bob").keypair, CALL[1], CALL[2], pallet=CALL[0])

    assert fake.answers == ["ok", "1010"]
    assert receipt.extrinsic_hash == ext_hash(first) and receipt.block_number == 1
    assert fake.submitted == [first, first] and fake.included(first) == 1  # not signed anew


def test_a_resend_refused_for_its_taken_nonce_waits_for_the_copy_in_the_pool(monkeypatch) -> None:
    fake = FakeSubstrate()
    chain = _chain(fake, monkeypatch)
    first = _timed_out_once(chain, fake)
    fake.answer_next = "1014"  # some pools answer an identical resend this way
    fake.resume_on_submit = True

    receipt = chain.submit(dev_account("bob").keypair, CALL[1], CALL[2], pallet=CALL[0])

    assert fake.answers == ["ok", "1014"]
    assert receipt.extrinsic_hash == ext_hash(first) and fake.included(first) == 1
    assert len(fake.submitted) == 2  # nothing signed with a new nonce


def test_a_key_whose_transaction_another_process_left_pending_takes_the_next_nonce(
        monkeypatch) -> None:
    fake = FakeSubstrate()
    elsewhere = _chain(fake, monkeypatch)  # another process signing with the same key
    with pytest.raises(InclusionTimeout):
        elsewhere.submit(dev_account("bob").keypair, "attest_aggregate", {"round": 0})
    fake.resume_on_submit = True

    receipt = _chain(fake, monkeypatch).submit(dev_account("bob").keypair, CALL[1], CALL[2],
                                               pallet=CALL[0])

    # Signed with the chain's nonce, refused as the pending one holds it, signed past the pool.
    assert fake.answers == ["ok", "1014", "ok"]
    assert [FakeSubstrate._sender_nonce(x)[1] for x in fake.blocks[receipt.block_number]] \
        == [0, 1]


def test_a_new_process_sending_bytes_the_pool_holds_waits_for_them(monkeypatch) -> None:
    fake = FakeSubstrate()
    first = _timed_out_once(_chain(fake, monkeypatch), fake)
    fake.resume_on_submit = True
    # A restarted role signs the same call with the same (chain) nonce: the same bytes.
    receipt = _chain(fake, monkeypatch).submit(dev_account("bob").keypair, CALL[1], CALL[2],
                                               pallet=CALL[0])
    assert fake.answers == ["ok", "1013"]
    assert receipt.extrinsic_hash == ext_hash(first) and fake.included(first) == 1


def test_other_calls_after_a_confirmed_resend_are_signed_afresh(monkeypatch) -> None:
    fake = FakeSubstrate()
    chain = _chain(fake, monkeypatch)
    first = _timed_out_once(chain, fake)
    fake.resume_on_submit = True
    chain.submit(dev_account("bob").keypair, CALL[1], CALL[2], pallet=CALL[0])
    # the same call again, now that the first is confirmed, is a new transaction
    again = chain.submit(dev_account("bob").keypair, CALL[1], CALL[2], pallet=CALL[0])
    assert again.extrinsic_hash != ext_hash(first)
    assert fake.answers == ["ok", "1013", "ok"] and len(fake.blocks) == 3


# -- the storage version and lost connections ------------------------------------------------

from decentralml_client.chain.client import STORAGE_VERSION, _twox128  # noqa: E402
from decentralml_client.chain.errors import ConnectionLost, IncompatibleChain  # noqa: E402


class _Versioned(FakeSubstrate):
    """A node whose pallet reports storage ``version``; ``fail`` breaks its head reads."""

    version: int = STORAGE_VERSION
    fail: BaseException | None = None

    def rpc_request(self, method: str, params: list[Any]) -> dict[str, Any]:
        if method == "state_getStorage":
            assert params[0] == "0x" + _twox128(b"DecentralMl") + _twox128(b":__STORAGE_VERSION__:")
            return {"result": "0x" + self.version.to_bytes(2, "little").hex()}
        return super().rpc_request(method, params)

    def get_chain_head(self) -> str:
        if self.fail is not None:
            raise self.fail
        return super().get_chain_head()


def test_twox128_is_frames_storage_prefix_hash() -> None:
    # `System` is 26aa394eea5630e07c48ae0c9558cef7 in every Substrate chain.
    assert _twox128(b"System") == "26aa394eea5630e07c48ae0c9558cef7"


def test_the_client_refuses_a_pallet_with_another_storage_version(monkeypatch) -> None:
    fake = _Versioned()
    chain = _chain(fake, monkeypatch)
    assert chain.storage_version() == STORAGE_VERSION
    chain.check_storage_version()
    fake.version = STORAGE_VERSION - 1
    with pytest.raises(IncompatibleChain, match=f"storage version {STORAGE_VERSION - 1}") as err:
        chain.check_storage_version()
    assert "runtime" in err.value.hint


@pytest.mark.parametrize("failure", [ConnectionRefusedError(111, "refused"),
                                     TimeoutError("timed out"), BrokenPipeError()])
def test_every_transport_failure_is_one_connection_lost(monkeypatch, failure) -> None:
    fake = _Versioned()
    chain = _chain(fake, monkeypatch)
    fake.fail = failure
    monkeypatch.setattr(Chain, "reconnect", lambda self, timeout=0: None)
    with pytest.raises(ConnectionLost, match="lost the connection"):
        chain.head()


def test_events_of_the_interface_have_typed_records() -> None:
    from decentralml_client.chain.events import EVENT_RECORDS
    from decentralml_client.chain.records import Hash

    created = Event("DecentralMl", "TaskCreated",
                    {"task_id": "4", "creator": "5Alice", "escrow": 10, "deposit": 1})
    rec = created.record
    assert (rec.task_id, rec.creator, rec.escrow) == (4, "5Alice", 10)
    attested = Event("DecentralMl", "AggregateAttested",
                     {"task_id": 1, "round": 0, "validator": "5V", "hash": "0x" + "AB" * 32,
                      "score": 9000}).record
    assert attested.hash == "0x" + "ab" * 32 and isinstance(attested.hash, Hash)
    assert "RewardPaid" in EVENT_RECORDS and "Slashed" in EVENT_RECORDS
    with pytest.raises(KeyError):
        _ = Event("System", "NewAccount", {}).record
