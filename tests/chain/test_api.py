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
from decentralml_client.chain.api import account_id, h256, if_present, is_ss58_address
from decentralml_client.chain.client import Event
from decentralml_client.chain.records import (
    Hash,
    Proposal,
    Submission,
    Task,
    Verdict,
    Vote,
    cid_text,
)
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


H = "0x" + "22" * 32


def _stored_task(quorum: int = permill(2 / 3), electorate_stake: int = 0,
                 **fields: Any) -> dict[str, Any]:
    """A task as substrate-interface decodes it from storage."""
    return {"creator": ALICE, "spec": {"model_cid": CID, "model_hash": H, "quorum": quorum},
            "status": "Active", "round": 0, "phase": "Commit", "phase_ends_at": 9,
            "retries": 0, "model_cid": CID, "model_hash": H,
            "electorate_stake": electorate_stake, **fields}


def _submission(status: str, accept_stake: int = 0) -> Submission:
    return Submission.from_chain(0, {"contributor": ALICE, "commitment": H, "status": status,
                                     "accept_stake": accept_stake})


def test_is_accepted_is_the_pallets_stake_quorum() -> None:
    task = Task.from_chain(0, _stored_task(permill(2 / 3), 3 * UNIT))
    assert _submission("Revealed", 2 * UNIT).accepted(task)  # 2 of 3 equal bonds reach 2/3
    assert not _submission("Revealed", 1 * UNIT).accepted(task)
    assert _submission("Accepted").accepted(task)
    for status in ("Committed", "Rejected"):
        assert not _submission(status, 3 * UNIT).accepted(task)


def test_a_hash_has_one_text_form() -> None:
    assert Hash(b"\x01" * 32) == "0x" + "01" * 32 == Hash("01" * 32) == Hash("0X" + "01" * 32)
    assert Hash("0x" + "AB" * 32) == "0x" + "ab" * 32 and Hash("0x" + "ab" * 32).raw == b"\xab" * 32
    for bad in ("0x0102", "0x" + "zz" * 32, b"\x01"):
        with pytest.raises(ValueError, match="32-byte hash"):
            Hash(bad)


def test_addresses_hashes_and_cids() -> None:
    assert account_id(ALICE) == dev_account("alice").public_key
    assert is_ss58_address(ALICE)
    assert not is_ss58_address("not-an-address") and not is_ss58_address("")
    assert h256(b"\x01" * 32) == "0x" + "01" * 32 == h256("01" * 32)
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
    stored = _stored_task(round=1)
    stored["spec"] = {**stored["spec"], "model_cid": stored_cid, "rounds": 3}
    chain = _Storage(
        {"Tasks": {**stored, "model_cid": stored_cid},
         "Proposals": [{"cid": stored_cid, "hash": H, "proposer": ALICE}]},
        {"Submissions": [
            (0, {"contributor": ALICE, "commitment": H, "cid": stored_cid, "update_hash": H,
                 "status": "Revealed"}),
            (1, {"contributor": ALICE, "commitment": H, "cid": None, "update_hash": None,
                 "status": "Committed"})],
         "Electorate": []})
    dml = DecentralMl(chain)  # type: ignore[arg-type]
    task = dml.task(0)
    assert task is not None
    assert task.model_cid == CID and task.spec.model_cid == CID and task.spec.rounds == 3
    assert task.round == 1 and task.model_hash == H and isinstance(task.model_hash, Hash)
    assert dml.proposals(0, 0) == [Proposal(ALICE, CID, Hash(H))]
    subs = dml.submissions(0, 0)
    assert subs[0].cid == CID and subs[0].update_hash == H and subs[0].revealed
    assert subs[1].cid is None and subs[1].update_hash is None and not subs[1].revealed
    assert dml.participant(ALICE) is None  # an absent entry


def test_a_read_that_is_not_a_record_is_a_chain_error() -> None:
    dml = DecentralMl(_Storage({"Tasks": 5}, {}))  # type: ignore[arg-type]
    with pytest.raises(ChainError, match="record"):
        dml.task(0)


def test_calls_carry_hex_hashes_and_cids_as_bytes() -> None:
    chain = _Storage({}, {})
    dml = DecentralMl(chain)  # type: ignore[arg-type]
    kp = dev_account("alice").keypair
    assert dml.create_task(kp, TaskSpec(model_cid=CID, model_hash=H)) == 4
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
    assert read == {ALICE: Vote(ALICE, (Verdict(1, True, 9_000, 77),)),
                    "old": Vote("old", (Verdict(0, False, 0, 0),))}
    assert read[ALICE].as_tuples() == [(1, True, 9_000, 77)]


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
