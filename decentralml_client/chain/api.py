"""Typed access to the DecentralMl pallet: one method per call, storage item and event.

    chain = Chain("ws://127.0.0.1:9944")
    dml = DecentralMl(chain)
    dml.register(alice.keypair, Role.VALIDATOR, stake=100 * UNIT, x25519_key=alice.x25519_public)
    task_id = dml.create_task(creator.keypair, TaskSpec(...))

Every call waits for inclusion and raises :class:`~.errors.PalletError` (with a hint) when the
runtime refuses it. Reads return plain Python values: hashes as ``0x`` hex, CIDs as ``str``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from substrateinterface import Keypair
from substrateinterface.exceptions import StorageFunctionNotFound, SubstrateRequestException
from substrateinterface.utils.ss58 import ss58_decode
from websocket import WebSocketException

from decentralml_client.chain.client import PALLET, Chain, Receipt
from decentralml_client.chain.errors import ChainError
from decentralml_client.protocol import consensus
from decentralml_client.protocol.rules import rule_value

Call = tuple[str, dict[str, Any]]
"""An extrinsic of the pallet, by name and parameters, ready to sign and send."""

T = TypeVar("T")

UNIT = 10**12
PERMILL = 1_000_000


class Role(str, enum.Enum):
    CONTRIBUTOR = "Contributor"
    VALIDATOR = "Validator"


def permill(fraction: float) -> int:
    """A fraction in [0, 1] as the chain's ``Permill`` parts per million, rounded down (so
    that a quorum of 2/3 is reached by exactly 2 of 3 equal bonds: the pallet rounds the
    stake a quorum needs up)."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"{fraction} is not a fraction between 0 and 1")
    return int(fraction * PERMILL + 1e-9)


@dataclass(frozen=True)
class TaskSpec:
    """What a task creator pays for (PROTOCOL §3, Tasks). Balances in plancks (UNIT = 1e12)."""

    model_cid: str
    model_hash: str
    rounds: int = 3
    min_contributors: int = 1
    max_contributors: int = 16
    max_validators: int = 8
    quorum: int = permill(2 / 3)  # of the electorate's bonded stake
    min_validators: int = 1
    reward_per_round: int = 100 * UNIT
    validator_share: int = permill(0.2)
    rule: Any = "FedAvg"
    server_optimizer: Any = "None"  # "None" | {"Adam": {lr, beta1, beta2, tau}} | ...
    max_examples: int = 10_000
    example_weighting: str = "MedianCapped"  # | "Claimed" (not with "Open" admission)
    min_improvement: int = 0  # basis points (validators' acceptance threshold)
    contributor_bond: int = 1 * UNIT
    validator_bond: int = 2 * UNIT
    admission: Any = "Open"  # "Open" | "AllowList" | {"MinReputation": n}
    enrol_blocks: int = 10
    commit_blocks: int = 50
    reveal_blocks: int = 50
    vote_blocks: int = 50
    vote_reveal_blocks: int = 50
    attest_blocks: int = 50
    max_retries: int = 2
    private: bool = False
    max_idle_rounds: int = 2  # idle round attempts before a member loses its seat (0: never)

    def to_call(self) -> dict[str, Any]:
        d = asdict(self)
        d["model_cid"] = "0x" + self.model_cid.encode().hex()
        return d


def admission_param(text: str) -> Any:
    """The chain's ``Admission`` for ``open``, ``allow-list`` or ``min-reputation:N``."""
    key = text.strip().lower()
    if key == "open":
        return "Open"
    if key in ("allow-list", "allowlist"):
        return "AllowList"
    if key.startswith("min-reputation:"):
        value = key.split(":", 1)[1]
        if value.isdigit():
            return {"MinReputation": int(value)}
    raise ValueError(f"admission {text!r}: use open, allow-list or min-reputation:N")


def rule_param(name: str, *, max_contributors: int = 16, beta: float = 0.1,
               byzantine: int = 1, keep: int | None = None) -> Any:
    """The chain's ``AggregationRule`` value for a rule name used by the CLI (Krum keeps
    ``max_contributors − byzantine`` updates unless ``keep`` says otherwise)."""
    return rule_value(name, contributors=max_contributors, beta=beta, byzantine=byzantine,
                      keep=keep)


def is_accepted(task: dict[str, Any], submission: dict[str, Any]) -> bool:
    """The pallet's consensus rule for one revealed update (docs/protocol.md, Consensus):
    the bonded stake behind its accept verdicts reaches the quorum of the electorate stake."""
    if submission["status"] == "Accepted":
        return True
    if submission["status"] != "Revealed":
        return False
    return consensus.is_accepted(int(submission["accept_stake"]), int(task["spec"]["quorum"]),
                                 int(task["electorate_stake"]))


def vote_verdict(value: Any) -> dict[str, Any]:
    """One revealed verdict as read from storage: ``{submission, accept, score, probe}``."""
    return {"submission": int(value["submission"]), "accept": bool(value["accept"]),
            "score": int(value["score"]), "probe": int(value.get("probe", 0) or 0)}


def verdict_tuple(value: dict[str, Any]) -> consensus.Verdict:
    """A verdict read by :meth:`DecentralMl.votes` as ``(submission, accept, score, probe)``."""
    return (int(value["submission"]), bool(value["accept"]), int(value["score"]),
            int(value.get("probe", 0)))


def account_id(address: str) -> bytes:
    return bytes.fromhex(ss58_decode(address))


def is_ss58_address(address: str) -> bool:
    """Whether ``address`` is a valid SS58 address."""
    try:
        ss58_decode(address)
    except Exception:  # ss58_decode raises bare ValueErrors and others
        return False
    return True


def h256(value: bytes | str) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value if value.startswith("0x") else "0x" + value


def cid_text(value: Any) -> str | None:
    """A CID as stored on chain (bytes shown as hex or a string) back to text."""
    if value is None:
        return None
    if isinstance(value, str) and value.startswith("0x"):
        return bytes.fromhex(value[2:]).decode()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode()
    if isinstance(value, list):
        return bytes(value).decode()
    return str(value)


def _cid_param(cid: str) -> str:
    return "0x" + cid.encode().hex()


CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError, WebSocketException, ChainError, SubstrateRequestException, TimeoutError,
)
"""Errors that mean "the node is gone or unusable", as opposed to a bug in our own code."""


def if_present(read: Callable[[], T], default: T) -> T:
    """``read()``, or ``default`` when the connected runtime lacks the storage item it reads
    (protocol v2 items such as ``VoteCommits`` and ``Electorate`` on a v1 runtime)."""
    try:
        return read()
    except StorageFunctionNotFound:
        return default


class DecentralMl:
    """The pallet's calls and reads over a :class:`Chain`."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain

    # -- calls ------------------------------------------------------------------------------

    def submit_all(self, items: list[tuple[Keypair, Call]]) -> list[Receipt]:
        """Send several accounts' calls together, so that they share blocks (a phase's
        transactions cost one block, not one each); e.g.
        ``dml.submit_all([(kp, DecentralMl.join_task_call(t, Role.VALIDATOR, b)), ...])``."""
        return self.chain.submit_all([(signer, PALLET, name, params)
                                      for signer, (name, params) in items])

    @staticmethod
    def register_call(role: Role, stake: int, x25519_key: bytes) -> Call:
        return "register", {"role": Role(role).value, "stake": stake,
                            "x25519_key": h256(x25519_key)}

    def register(self, signer: Keypair, role: Role, stake: int, x25519_key: bytes) -> Receipt:
        return self.chain.submit(signer, *self.register_call(role, stake, x25519_key))

    def deregister(self, signer: Keypair, role: Role) -> Receipt:
        return self.chain.submit(signer, "deregister", {"role": Role(role).value})

    def create_task(self, signer: Keypair, spec: TaskSpec) -> int:
        receipt = self.chain.submit(signer, "create_task", {"spec": spec.to_call()})
        (event,) = receipt.find("TaskCreated")
        return int(_field(event.attributes, "task_id"))

    @staticmethod
    def join_task_call(task_id: int, role: Role, bond: int) -> Call:
        return "join_task", {"task_id": task_id, "role": Role(role).value, "bond": bond}

    def join_task(self, signer: Keypair, task_id: int, role: Role, bond: int) -> Receipt:
        """Join ``task_id`` in ``role``, bonding ``bond`` (at least the task's bond)."""
        return self.chain.submit(signer, *self.join_task_call(task_id, role, bond))

    def leave_task(self, signer: Keypair, task_id: int) -> Receipt:
        return self.chain.submit(signer, "leave_task", {"task_id": task_id})

    @staticmethod
    def set_allowed_call(task_id: int, accounts: Sequence[str], allowed: bool) -> Call:
        """``set_allowed``'s parameters. ``accounts`` is a ``BoundedVec<AccountId, _>``,
        which the runtime's metadata describes as a one-field tuple struct around the
        ``Vec``; substrate-interface encodes such a struct from a sequence of its fields, so
        the account list goes inside a one-element list (a bare list is taken as the field
        values themselves: "Provided value is not a list")."""
        return "set_allowed", {"task_id": task_id, "accounts": [[str(a) for a in accounts]],
                               "allowed": allowed}

    def set_allowed(self, signer: Keypair, task_id: int, accounts: Sequence[str],
                    allowed: bool) -> Receipt:
        """Allow (or, with ``allowed=False``, disallow) ``accounts`` to join an
        ``AllowList`` task (creator only)."""
        return self.chain.submit(signer, *self.set_allowed_call(task_id, accounts, allowed))

    def purge_task(self, signer: Keypair, task_id: int, limit: int = 1_000) -> Receipt:
        return self.chain.submit(signer, "purge_task", {"task_id": task_id, "limit": limit})

    def cancel_task(self, signer: Keypair, task_id: int) -> Receipt:
        return self.chain.submit(signer, "cancel_task", {"task_id": task_id})

    @staticmethod
    def commit_update_call(task_id: int, round_: int, commitment_: bytes) -> Call:
        return "commit_update", {"task_id": task_id, "round": round_,
                                 "commitment": h256(commitment_)}

    def commit_update(self, signer: Keypair, task_id: int, round_: int,
                      commitment_: bytes) -> Receipt:
        return self.chain.submit(signer, *self.commit_update_call(task_id, round_, commitment_))

    @staticmethod
    def reveal_update_call(task_id: int, round_: int, cid: str, update_hash: bytes,
                           num_examples: int, salt: bytes) -> Call:
        return "reveal_update", {
            "task_id": task_id, "round": round_, "cid": _cid_param(cid),
            "update_hash": h256(update_hash), "num_examples": num_examples, "salt": h256(salt)}

    def reveal_update(self, signer: Keypair, task_id: int, round_: int, cid: str,
                      update_hash: bytes, num_examples: int, salt: bytes) -> Receipt:
        return self.chain.submit(signer, *self.reveal_update_call(
            task_id, round_, cid, update_hash, num_examples, salt))

    @staticmethod
    def commit_vote_call(task_id: int, round_: int, commitment_: bytes) -> Call:
        return "commit_vote", {"task_id": task_id, "round": round_,
                               "commitment": h256(commitment_)}

    def commit_vote(self, signer: Keypair, task_id: int, round_: int,
                    commitment_: bytes) -> Receipt:
        """Seal a vote: commit to the hash of all verdicts and scores (see
        :func:`decentralml_client.protocol.vote_commitment`)."""
        return self.chain.submit(signer, *self.commit_vote_call(task_id, round_, commitment_))

    @staticmethod
    def reveal_vote_call(task_id: int, round_: int, verdicts: Sequence[consensus.Verdict],
                         salt: bytes) -> Call:
        return "reveal_vote", {
            "task_id": task_id, "round": round_,
            "verdicts": [{"submission": s, "accept": a, "score": sc, "probe": p}
                         for s, a, sc, p in verdicts],
            "salt": h256(salt)}

    def reveal_vote(self, signer: Keypair, task_id: int, round_: int,
                    verdicts: Sequence[consensus.Verdict], salt: bytes) -> Receipt:
        """Open a sealed vote: every (submission, accept, score bp, probe), ascending, and
        the salt (see :mod:`decentralml_client.ml.evidence` for the probe)."""
        return self.chain.submit(signer, *self.reveal_vote_call(task_id, round_, verdicts, salt))

    def propose_aggregate(self, signer: Keypair, task_id: int, round_: int, cid: str,
                          hash_: bytes) -> Receipt:
        return self.chain.submit(signer, "propose_aggregate", {
            "task_id": task_id, "round": round_, "cid": _cid_param(cid), "hash": h256(hash_)})

    @staticmethod
    def attest_aggregate_call(task_id: int, round_: int, cid: str, hash_: bytes,
                              score: int) -> Call:
        return "attest_aggregate", {"task_id": task_id, "round": round_, "cid": _cid_param(cid),
                                    "hash": h256(hash_), "score": score}

    def attest_aggregate(self, signer: Keypair, task_id: int, round_: int, cid: str,
                         hash_: bytes, score: int) -> Receipt:
        return self.chain.submit(signer, *self.attest_aggregate_call(
            task_id, round_, cid, hash_, score))

    def finalize_round(self, signer: Keypair, task_id: int, round_: int) -> Receipt:
        return self.chain.submit(signer, "finalize_round", {"task_id": task_id,
                                                            "round": round_})

    # -- reads ------------------------------------------------------------------------------

    def task(self, task_id: int) -> dict[str, Any] | None:
        return _record(self.chain.query("Tasks", [task_id]))

    def tasks(self) -> dict[int, dict[str, Any]]:
        return {int(k): _normalise(v) for k, v in self.chain.query_map("Tasks")}

    def participant(self, address: str) -> dict[str, Any] | None:
        return _record(self.chain.query("Participants", [address]))

    def participants(self) -> dict[str, dict[str, Any]]:
        return {str(k): _normalise(v) for k, v in self.chain.query_map("Participants")}

    def members(self, task_id: int) -> dict[str, dict[str, Any]]:
        """Members of a task: ``{address: {role, bond, from_round, leaving}}``."""
        return {str(k): v for k, v in self.chain.query_map("Members", [task_id])}

    def electorate(self, task_id: int, round_: int) -> dict[str, int]:
        """The round's electorate (fixed when the round attempt opened): address → bond."""
        value = self.chain.query("Electorate", [[task_id, round_]]) or []
        return {str(who): int(bond) for who, bond in value}

    def vote_commits(self, task_id: int, round_: int) -> dict[str, str]:
        """Sealed votes of the round: validator → commitment (the verdicts stay hidden)."""
        return {str(k): str(v) for k, v in self.chain.query_map("VoteCommits",
                                                                  [[task_id, round_]])}

    def submissions(self, task_id: int, round_: int) -> dict[int, dict[str, Any]]:
        return {int(k): _normalise(v)
                for k, v in self.chain.query_map("Submissions", [[task_id, round_]])}

    def votes(self, task_id: int, round_: int) -> dict[str, list[dict[str, Any]]]:
        """Revealed votes of the round: validator → ``[{submission, accept, score, probe}]``
        (a vote read from a runtime without probes has probe 0)."""
        return {str(k): [vote_verdict(v) for v in (value or [])]
                for k, value in self.chain.query_map("Votes", [[task_id, round_]])}

    def proposals(self, task_id: int, round_: int) -> list[dict[str, Any]]:
        return [_normalise(p) for p in (self.chain.query("Proposals", [[task_id, round_]]) or [])]

    def attestations(self, task_id: int, round_: int) -> dict[str, Any]:
        return {str(k): v for k, v in self.chain.query_map("Attestations", [[task_id, round_]])}

    def round_summary(self, task_id: int, round_: int) -> dict[str, Any] | None:
        return _record(self.chain.query("RoundSummaries", [[task_id, round_]]))

    def payments(self, task_id: int, first_block: int, last_block: int | None = None
                 ) -> dict[str, dict[str, int]]:
        """What ``task_id`` paid and slashed between two blocks, per account, from its
        ``RewardPaid`` and ``Slashed`` events: ``{"paid": {address: amount}, "slashed": ...}``."""
        out: dict[str, dict[str, int]] = {"paid": {}, "slashed": {}}
        kinds = {"RewardPaid": "paid", "Slashed": "slashed"}
        for _, events in self.chain.events_between(first_block, last_block):
            for e in events:
                kind = kinds.get(e.name) if e.pallet == "DecentralMl" else None
                if kind and int(_field(e.attributes, "task_id")) == task_id:
                    who = str(_field(e.attributes, "who"))
                    out[kind][who] = out[kind].get(who, 0) + int(_field(e.attributes, "amount"))
        return out


def _field(attributes: Any, name: str) -> Any:
    if isinstance(attributes, dict):
        return attributes[name]
    raise KeyError(f"event attributes {attributes!r} have no field {name!r}")


_CID_FIELDS = {"model_cid", "cid"}


def _normalise(value: Any) -> Any:
    """Decode CID byte strings inside a storage value into text (recursively)."""
    if isinstance(value, dict):
        return {k: (cid_text(v) if k in _CID_FIELDS and v is not None else _normalise(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def _record(value: Any) -> dict[str, Any] | None:
    """A struct read from storage with its CIDs as text; None when the entry is absent."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ChainError(f"the chain returned {value!r} where a record was expected")
    record: dict[str, Any] = _normalise(value)
    return record
