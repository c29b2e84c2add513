"""Typed access to the DecentralMl pallet: one method per call, storage item and event.

    chain = Chain("ws://127.0.0.1:9944")
    dml = DecentralMl(chain)
    dml.register(alice.keypair, Role.VALIDATOR, stake=100 * UNIT, x25519_key=alice.x25519_public)
    task_id = dml.create_task(creator.keypair, TaskSpec(...))

Every call waits for inclusion and raises :class:`~.errors.PalletError` (with a hint) when the
runtime refuses it. Reads return the typed records of :mod:`.records` (``Task``, ``Submission``,
``Vote``, ...): hashes as :class:`~.records.Hash`, CIDs as ``str``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from substrateinterface import Keypair
from substrateinterface.exceptions import StorageFunctionNotFound
from substrateinterface.utils.ss58 import ss58_decode

from decentralml_client.chain.client import PALLET, Chain, Receipt
from decentralml_client.chain.errors import ChainError
from decentralml_client.chain.records import (
    Attestation,
    Hash,
    Member,
    Participant,
    Payments,
    Proposal,
    Round,
    Submission,
    Task,
    TaskSpec,
    Vote,
)
from decentralml_client.protocol import consensus
from decentralml_client.protocol.rules import rule_value
from decentralml_client.units import PERMILL, UNIT, permill

__all__ = ["PERMILL", "UNIT", "Call", "DecentralMl", "Role", "TaskSpec", "permill"]

Call = tuple[str, dict[str, Any]]
"""An extrinsic of the pallet, by name and parameters, ready to sign and send."""

T = TypeVar("T")


class Role(str, enum.Enum):
    CONTRIBUTOR = "Contributor"
    VALIDATOR = "Validator"


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


def account_id(address: str) -> bytes:
    return bytes.fromhex(ss58_decode(address))


def is_ss58_address(address: str) -> bool:
    """Whether ``address`` is a valid SS58 address."""
    try:
        ss58_decode(address)
    except Exception:  # ss58_decode raises bare ValueErrors and others
        return False
    return True


HashLike = bytes | str
"""A 32-byte value as bytes or as hex text (a :class:`~.records.Hash` is one)."""


def h256(value: HashLike) -> str:
    """A 32-byte value (bytes or hex) as the ``0x`` hex a call parameter takes."""
    return str(Hash(value))


def _cid_param(cid: str) -> str:
    return "0x" + cid.encode().hex()


def if_present(read: Callable[[], T], default: T) -> T:
    """``read()``, or ``default`` when the connected runtime lacks the storage item it reads."""
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
        return int(event.record.task_id)

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
    def commit_update_call(task_id: int, round_: int, commitment_: HashLike) -> Call:
        return "commit_update", {"task_id": task_id, "round": round_,
                                 "commitment": h256(commitment_)}

    def commit_update(self, signer: Keypair, task_id: int, round_: int,
                      commitment_: HashLike) -> Receipt:
        return self.chain.submit(signer, *self.commit_update_call(task_id, round_, commitment_))

    @staticmethod
    def reveal_update_call(task_id: int, round_: int, cid: str, update_hash: HashLike,
                           num_examples: int, salt: HashLike) -> Call:
        return "reveal_update", {
            "task_id": task_id, "round": round_, "cid": _cid_param(cid),
            "update_hash": h256(update_hash), "num_examples": num_examples, "salt": h256(salt)}

    def reveal_update(self, signer: Keypair, task_id: int, round_: int, cid: str,
                      update_hash: HashLike, num_examples: int, salt: HashLike) -> Receipt:
        return self.chain.submit(signer, *self.reveal_update_call(
            task_id, round_, cid, update_hash, num_examples, salt))

    @staticmethod
    def commit_vote_call(task_id: int, round_: int, commitment_: HashLike) -> Call:
        return "commit_vote", {"task_id": task_id, "round": round_,
                               "commitment": h256(commitment_)}

    def commit_vote(self, signer: Keypair, task_id: int, round_: int,
                    commitment_: HashLike) -> Receipt:
        """Seal a vote: commit to the hash of all verdicts and scores (see
        :func:`decentralml_client.protocol.vote_commitment`)."""
        return self.chain.submit(signer, *self.commit_vote_call(task_id, round_, commitment_))

    @staticmethod
    def reveal_vote_call(task_id: int, round_: int, verdicts: Sequence[consensus.Verdict],
                         salt: HashLike) -> Call:
        return "reveal_vote", {
            "task_id": task_id, "round": round_,
            "verdicts": [{"submission": s, "accept": a, "score": sc, "probe": p}
                         for s, a, sc, p in verdicts],
            "salt": h256(salt)}

    def reveal_vote(self, signer: Keypair, task_id: int, round_: int,
                    verdicts: Sequence[consensus.Verdict], salt: HashLike) -> Receipt:
        """Open a sealed vote: every (submission, accept, score bp, probe), ascending, and
        the salt (see :mod:`decentralml_client.ml.evidence` for the probe)."""
        return self.chain.submit(signer, *self.reveal_vote_call(task_id, round_, verdicts, salt))

    def propose_aggregate(self, signer: Keypair, task_id: int, round_: int, cid: str,
                          hash_: HashLike) -> Receipt:
        return self.chain.submit(signer, "propose_aggregate", {
            "task_id": task_id, "round": round_, "cid": _cid_param(cid), "hash": h256(hash_)})

    @staticmethod
    def attest_aggregate_call(task_id: int, round_: int, cid: str, hash_: HashLike,
                              score: int) -> Call:
        return "attest_aggregate", {"task_id": task_id, "round": round_, "cid": _cid_param(cid),
                                    "hash": h256(hash_), "score": score}

    def attest_aggregate(self, signer: Keypair, task_id: int, round_: int, cid: str,
                         hash_: HashLike, score: int) -> Receipt:
        return self.chain.submit(signer, *self.attest_aggregate_call(
            task_id, round_, cid, hash_, score))

    def finalize_round(self, signer: Keypair, task_id: int, round_: int) -> Receipt:
        return self.chain.submit(signer, "finalize_round", {"task_id": task_id,
                                                            "round": round_})

    # -- reads ------------------------------------------------------------------------------

    def task(self, task_id: int) -> Task | None:
        value = _struct(self.chain.query("Tasks", [task_id]))
        return None if value is None else Task.from_chain(task_id, value)

    def tasks(self) -> dict[int, Task]:
        return {int(k): Task.from_chain(int(k), v) for k, v in self.chain.query_map("Tasks")}

    def participant(self, address: str) -> Participant | None:
        value = _struct(self.chain.query("Participants", [address]))
        return None if value is None else Participant.from_chain(address, value)

    def participants(self) -> dict[str, Participant]:
        return {str(k): Participant.from_chain(str(k), v)
                for k, v in self.chain.query_map("Participants")}

    def members(self, task_id: int) -> dict[str, Member]:
        """Members of a task by address."""
        return {str(k): Member.from_chain(str(k), v)
                for k, v in self.chain.query_map("Members", [task_id])}

    def electorate(self, task_id: int, round_: int) -> dict[str, int]:
        """The round's electorate (fixed when the round attempt opened): address → bond."""
        value = self.chain.query("Electorate", [[task_id, round_]]) or []
        return {str(who): int(bond) for who, bond in value}

    def vote_commits(self, task_id: int, round_: int) -> dict[str, Hash]:
        """Sealed votes of the round: validator → commitment (the verdicts stay hidden)."""
        return {str(k): Hash(str(v)) for k, v in self.chain.query_map("VoteCommits",
                                                                       [[task_id, round_]])}

    def submissions(self, task_id: int, round_: int) -> dict[int, Submission]:
        return {int(k): Submission.from_chain(int(k), v)
                for k, v in self.chain.query_map("Submissions", [[task_id, round_]])}

    def votes(self, task_id: int, round_: int) -> dict[str, Vote]:
        """Revealed votes of the round by validator."""
        return {str(k): Vote.from_chain(str(k), value)
                for k, value in self.chain.query_map("Votes", [[task_id, round_]])}

    def proposals(self, task_id: int, round_: int) -> list[Proposal]:
        return [Proposal.from_chain(p)
                for p in (self.chain.query("Proposals", [[task_id, round_]]) or [])]

    def attestations(self, task_id: int, round_: int) -> dict[str, Attestation]:
        return {str(k): Attestation.from_chain(str(k), v)
                for k, v in self.chain.query_map("Attestations", [[task_id, round_]])}

    def round_summary(self, task_id: int, round_: int) -> Round | None:
        value = _struct(self.chain.query("RoundSummaries", [[task_id, round_]]))
        return None if value is None else Round.from_chain(value)

    def payments(self, task_id: int, first_block: int, last_block: int | None = None
                 ) -> Payments:
        """What ``task_id`` paid and slashed between two blocks, per account, from its
        ``RewardPaid`` and ``Slashed`` events."""
        out = Payments()
        kinds = {"RewardPaid": out.paid, "Slashed": out.slashed}
        for _, events in self.chain.events_between(first_block, last_block):
            for e in events:
                into = kinds.get(e.name) if e.pallet == PALLET else None
                if into is not None and (rec := e.record).task_id == task_id:
                    into[rec.who] = into.get(rec.who, 0) + rec.amount
        return out


def _struct(value: Any) -> dict[str, Any] | None:
    """A struct read from storage; None when the entry is absent."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ChainError(f"the chain returned {value!r} where a record was expected")
    return value
