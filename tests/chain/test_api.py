"""The chain API's pure parts: parameters as the pallet takes them, storage values as the
client returns them, and the helpers the roles and the dashboard share (no node needed)."""

from __future__ import annotations

from typing import Any

import pytest
from substrateinterface.exceptions import StorageFunctionNotFound

from decentralml_client.chain import (
    UNIT,
    ChainError,
    DecentralMl,
    Receipt,
    Role,
    TaskSpec,
    admission_param,
    permill,
    rule_param,
)
from decentralml_client.chain.api import (
    account_id,
    cid_text,
    h256,
    if_present,
    is_accepted,
    is_ss58_address,
    verdict_tuple,
)
from decentralml_client.chain.client import Event
from decentralml_client.keys import dev_account

ALICE = dev_account("alice").ss58_address
CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"


def test_permill_rounds_down_so_two_of_three_reach_a_two_thirds_quorum() -> None:
    assert permill(0) == 0 and permill(1) == 1_000_000 and permill(0.2) == 200_000
    assert permill(2 / 3) == 666_666
    for bad in (-0.01, 1.01):
        with pytest.raises(ValueError, match="not a fraction"):
            permill(bad)


def test_a_task_spec_is_sent_with_its_cid_as_bytes() -> None:
    spec = TaskSpec(model_cid=CID, model_hash="0x" + "11" * 32, rounds=5)
    call = spec.to_call()
    assert call["model_cid"] == "0x" + CID.encode().hex()
    assert cid_text(call["model_cid"]) == CID  # and read back as text
    assert call["model_hash"] == "0x" + "11" * 32 and call["rounds"] == 5
    assert call["reward_per_round"] == 100 * UNIT and call["rule"] == "FedAvg"
    assert call["quorum"] == permill(2 / 3) and call["admission"] == "Open"
    assert call["example_weighting"] == "MedianCapped"  # the claim-inflation defence


@pytest.mark.parametrize(("text", "value"), [
    ("open", "Open"), (" Open ", "Open"), ("allow-list", "AllowList"),
    ("allowlist", "AllowList"), ("min-reputation:7", {"MinReputation": 7}),
])
def test_admission_param(text: str, value: Any) -> None:
    assert admission_param(text) == value


@pytest.mark.parametrize("text", ["closed", "min-reputation:", "min-reputation:-1", ""])
def test_a_bad_admission_names_the_choices(text: str) -> None:
    with pytest.raises(ValueError, match="open, allow-list or min-reputation:N"):
        admission_param(text)


def test_rule_param_gives_the_chains_aggregation_rule() -> None:
    assert rule_param("fedavg") == "FedAvg" and rule_param("median") == "Median"
    assert rule_param("trimmed-mean", beta=0.2) == {"TrimmedMean": {"beta": 200_000}}
    # Krum keeps max_contributors − byzantine updates unless told otherwise.
    assert rule_param("krum", max_contributors=10, byzantine=2) == {
        "MultiKrum": {"byzantine": 2, "keep": 8}}
    assert rule_param("multi-krum", byzantine=1, keep=3) == {
        "MultiKrum": {"byzantine": 1, "keep": 3}}
    with pytest.raises(ValueError, match="unknown aggregation rule"):
        rule_param("mean")


def _task(quorum: int, electorate_stake: int) -> dict[str, Any]:
    return {"spec": {"quorum": quorum}, "electorate_stake": electorate_stake}


def test_is_accepted_is_the_pallets_stake_quorum() -> None:
    task = _task(permill(2 / 3), 3 * UNIT)
    revealed = {"status": "Revealed", "accept_stake": 2 * UNIT}
    assert is_accepted(task, revealed)  # 2 of 3 equal bonds reach 2/3
    assert not is_accepted(task, {**revealed, "accept_stake": 1 * UNIT})
    assert is_accepted(task, {"status": "Accepted"})
    for status in ("Committed", "Rejected"):
        assert not is_accepted(task, {"status": status, "accept_stake": 3 * UNIT})


def test_addresses_hashes_and_cids() -> None:
    assert account_id(ALICE) == dev_account("alice").public_key
    assert is_ss58_address(ALICE)
    assert not is_ss58_address("not-an-address") and not is_ss58_address("")
    assert h256(b"\x01\x02") == "0x0102" and h256("0102") == "0x0102"
    assert h256("0xab") == "0xab"
    raw = CID.encode()
    assert cid_text("0x" + raw.hex()) == cid_text(raw) == cid_text(list(raw)) == CID
    assert cid_text(CID) == CID and cid_text(None) is None


class _Storage:
    """A chain answering reads from a dict and recording the calls sent."""

    def __init__(self, values: dict[str, Any], maps: dict[str, list[tuple[Any, Any]]]) -> None:
        self.values, self.maps = values, maps
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def query(self, storage: str, params: list[Any]) -> Any:
        return self.values.get(storage)

    def query_map(self, storage: str, params: list[Any]) -> list[tuple[Any, Any]]:
        return self.maps.get(storage, [])

    def submit(self, signer: Any, call: str, params: dict[str, Any]) -> Receipt:
        self.sent.append((call, params))
        event = Event("DecentralMl", "TaskCreated", {"task_id": 4, "creator": ALICE})
        return Receipt("0x01", "0x02", 1, [event])


def test_reads_decode_cids_inside_records_and_lists() -> None:
    stored_cid = "0x" + CID.encode().hex()
    chain = _Storage(
        {"Tasks": {"spec": {"model_cid": stored_cid, "rounds": 3}, "model_cid": stored_cid,
                   "round": 1},
         "Proposals": [{"cid": stored_cid, "hash": "0x22", "proposer": ALICE}]},
        {"Submissions": [(0, {"cid": stored_cid, "status": "Revealed"}), (1, {"cid": None})],
         "Electorate": []})
    dml = DecentralMl(chain)  # type: ignore[arg-type]
    task = dml.task(0)
    assert task is not None
    assert task["model_cid"] == CID and task["spec"]["model_cid"] == CID
    assert dml.proposals(0, 0) == [{"cid": CID, "hash": "0x22", "proposer": ALICE}]
    assert dml.submissions(0, 0) == {0: {"cid": CID, "status": "Revealed"}, 1: {"cid": None}}
    assert dml.participant(ALICE) is None  # an absent entry


def test_a_read_that_is_not_a_record_is_a_chain_error() -> None:
    dml = DecentralMl(_Storage({"Tasks": 5}, {}))  # type: ignore[arg-type]
    with pytest.raises(ChainError, match="record"):
        dml.task(0)


def test_calls_carry_hex_hashes_and_cids_as_bytes() -> None:
    chain = _Storage({}, {})
    dml = DecentralMl(chain)  # type: ignore[arg-type]
    kp = dev_account("alice").keypair
    assert dml.create_task(kp, TaskSpec(model_cid=CID, model_hash="0x00")) == 4
    dml.register(kp, Role.VALIDATOR, 5 * UNIT, b"\x07" * 32)
    dml.reveal_update(kp, 4, 0, CID, b"\x01" * 32, 12, b"\x02" * 32)
    dml.reveal_vote(kp, 4, 0, [(0, True, 9_000, 123_456)], b"\x03" * 32)
    (_, create), (_, register), (_, reveal), (_, vote) = chain.sent
    assert create["spec"]["model_cid"] == "0x" + CID.encode().hex()
    assert register == {"role": "Validator", "stake": 5 * UNIT, "x25519_key": "0x" + "07" * 32}
    assert reveal == {"task_id": 4, "round": 0, "cid": "0x" + CID.encode().hex(),
                      "update_hash": "0x" + "01" * 32, "num_examples": 12,
                      "salt": "0x" + "02" * 32}
    assert vote["verdicts"] == [{"submission": 0, "accept": True, "score": 9_000,
                                 "probe": 123_456}]


def test_votes_are_read_back_with_their_probe() -> None:
    votes = {"Votes": [(ALICE, [{"submission": 1, "accept": True, "score": 9_000,
                                 "probe": 77}]),
                       ("old", [{"submission": 0, "accept": False, "score": 0}])]}
    dml = DecentralMl(_Storage({}, votes))  # type: ignore[arg-type]
    read = dml.votes(0, 0)
    assert read == {ALICE: [{"submission": 1, "accept": True, "score": 9_000, "probe": 77}],
                    "old": [{"submission": 0, "accept": False, "score": 0, "probe": 0}]}
    assert [verdict_tuple(v) for v in read[ALICE]] == [(1, True, 9_000, 77)]


class _V1Runtime:
    """A chain whose runtime has no v2 storage items (substrate-interface's error)."""

    def query_map(self, storage: str, params: list[Any]) -> list[tuple[Any, Any]]:
        raise StorageFunctionNotFound(f'Storage function "DecentralMl.{storage}" not found')

    def query(self, storage: str, params: list[Any]) -> Any:
        raise StorageFunctionNotFound(f'Storage function "DecentralMl.{storage}" not found')


def test_v2_storage_missing_on_the_runtime_reads_as_empty() -> None:
    dml = DecentralMl(_V1Runtime())  # type: ignore[arg-type]
    assert if_present(lambda: dml.vote_commits(0, 0), {}) == {}
    assert if_present(lambda: dml.electorate(0, 0), {}) == {}
    assert if_present(lambda: 3, 0) == 3


def _bounded_account_vec() -> Any:
    """A scale object of ``BoundedVec<AccountId32, _>`` as the runtime's metadata describes it
    (a one-field tuple struct around the ``Vec``), built offline with scalecodec."""
    from scalecodec.base import RuntimeConfigurationObject
    from scalecodec.type_registry import load_type_registry_preset

    def ty(i: int, definition: dict[str, Any], path: list[str] | None = None) -> dict[str, Any]:
        return {"id": i, "type": {"path": path or [], "params": [], "def": definition,
                                  "docs": []}}

    def field(t: int, name: str) -> dict[str, Any]:
        return {"name": None, "type": t, "typeName": name, "docs": []}

    types = [
        ty(0, {"composite": {"fields": [field(1, "[u8; 32]")]}},
           ["sp_core", "crypto", "AccountId32"]),
        ty(1, {"array": {"len": 32, "type": 2}}),
        ty(2, {"primitive": "u8"}),
        ty(3, {"sequence": {"type": 0}}),
        ty(4, {"composite": {"fields": [field(3, "Vec<T>")]}},
           ["bounded_collections", "bounded_vec", "BoundedVec"]),
    ]
    rc = RuntimeConfigurationObject()
    rc.update_type_registry(load_type_registry_preset("core"))
    registry = rc.create_scale_object("PortableRegistry")
    registry.encode({"types": types})
    rc.update_from_scale_info_types(registry["types"], prefix="scale_info")
    return lambda: rc.create_scale_object("scale_info::4")


def test_set_allowed_sends_the_account_list_in_the_shape_the_bounded_vec_encodes_from() -> None:
    chain = _Storage({}, {})
    dml = DecentralMl(chain)  # type: ignore[arg-type]
    bob = dev_account("bob").ss58_address
    dml.set_allowed(dev_account("alice").keypair, 3, [ALICE, bob], True)
    dml.set_allowed(dev_account("alice").keypair, 3, (bob,), False)
    (name, allow), (_, revoke) = chain.sent
    assert name == "set_allowed" and allow["task_id"] == 3 and allow["allowed"] is True
    assert revoke["allowed"] is False
    new = _bounded_account_vec()
    encoded = bytes.fromhex(str(new().encode(allow["accounts"]))[2:])
    assert encoded == (bytes([2 << 2]) + account_id(ALICE) + account_id(bob))  # compact 2
    assert str(new().encode(revoke["accounts"])) == "0x04" + account_id(bob).hex()
    with pytest.raises(ValueError, match="not a list"):  # the shape the client used to send
        new().encode([ALICE])
