"""The pallet's storage records as typed, frozen values, decoded once here.

substrate-interface returns storage as nested dicts and lists with hashes as hex text and CIDs
as hex-encoded bytes. Everything above ``chain/`` sees these records instead: ``task.spec.quorum``,
``submission.update_hash`` (a :class:`Hash`), ``member.role``. Each ``from_chain`` takes what
substrate-interface decoded and nothing else; the field names and types are the pallet's
(``chain/pallets/decentralml/src/types.rs``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from decentralml_client.protocol import consensus
from decentralml_client.protocol.sampling import (
    FULL_JUDGING_BUDGET,
    MAX_AUDIT_PPM,
    MAX_COMMITTEE,
    U64_MAX,
)
from decentralml_client.units import UNIT, permill

R = TypeVar("R")


class Hash(str):
    """A 32-byte hash in its one text form: ``0x`` + 64 lowercase hex digits.

    A ``str``, so it goes into JSON, journals and comparisons as it is; :attr:`raw` gives the
    bytes where a call or a commitment needs them (:meth:`of` makes one from bytes).
    """

    __slots__ = ()

    def __new__(cls, value: str | bytes | Hash) -> Hash:
        if isinstance(value, bytes):
            text = "0x" + value.hex()
        else:
            text = str(value).lower()
            text = text if text.startswith("0x") else "0x" + text
        if len(text) != 66 or any(c not in "0123456789abcdef" for c in text[2:]):
            raise ValueError(f"{value!r} is not a 32-byte hash (0x and 64 hex digits)")
        return super().__new__(cls, text)

    @classmethod
    def of(cls, raw: bytes) -> Hash:
        return cls(raw)

    @property
    def raw(self) -> bytes:
        return bytes.fromhex(self[2:])


def cid_text(value: Any) -> str | None:
    """A CID as stored on chain (bytes shown as hex, a byte list, or text) as text."""
    if value is None:
        return None
    if isinstance(value, str) and value.startswith("0x"):
        return bytes.fromhex(value[2:]).decode()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode()
    if isinstance(value, list):
        return bytes(value).decode()
    return str(value)


def _hash(value: Any) -> Hash | None:
    return None if value is None else Hash(str(value))


def _int(value: Any) -> int:
    return int(value or 0)


ZERO_HASH = Hash(bytes(32))
"""The all-zero hash: a seed the chain has not set (a runtime without cohorts)."""

COHORT_ALL = U64_MAX
"""``cohort_cut`` when every eligible contributor is drawn (``u64::MAX``)."""


#: The chain's enum values as substrate-interface decodes them: a variant name, or a
#: one-entry ``{variant: fields}`` dict (``{"TrimmedMean": {"beta": 100000}}``).
EnumValue = Any


@dataclass(frozen=True)
class TaskSpec:
    """What a task creator pays for (docs/chain.md, Tasks). Balances in plancks (UNIT = 1e12).

    Also the value a task is created with: :meth:`to_call` is ``create_task``'s ``spec``."""

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
    rule: EnumValue = "FedAvg"
    server_optimizer: EnumValue = "None"  # "None" | {"Adam": {lr, beta1, beta2, tau}} | ...
    max_examples: int = 10_000
    example_weighting: str = "MedianCapped"  # | "Claimed" (not with "Open" admission)
    min_improvement: int = 0  # basis points (validators' acceptance threshold)
    contributor_bond: int = 1 * UNIT
    validator_bond: int = 2 * UNIT
    admission: EnumValue = "Open"  # "Open" | "AllowList" | {"MinReputation": n}
    enrol_blocks: int = 10
    commit_blocks: int = 50
    reveal_blocks: int = 50
    vote_blocks: int = 50
    vote_reveal_blocks: int = 50
    attest_blocks: int = 50
    max_retries: int = 2
    private: bool = False
    max_idle_rounds: int = 2  # idle round attempts before a member loses its seat (0: never)
    # Cohorts and committees (docs/committees.md): contributors drawn per attempt (0: all),
    # validators judging each update (0: the whole electorate), the audited share (Permill).
    cohort: int = 0
    committee: int = 0
    audit: int = 0

    def to_call(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["model_cid"] = "0x" + self.model_cid.encode().hex()
        return d

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_chain(cls, value: Mapping[str, Any]) -> TaskSpec:
        return _decode(cls, value, model_cid=cid_text(value.get("model_cid")) or "",
                       model_hash=Hash(str(value["model_hash"])))

    def check_committees(self) -> None:
        """Refuse cohort/committee/audit settings the pallet refuses, with the same rules
        (docs/committees.md; the errors ``InvalidSpec``, ``InvalidCommittee``,
        ``CommitteeRequired``): raises ``ValueError`` saying what to change."""
        if self.cohort and self.cohort < self.min_contributors:
            raise ValueError(f"cohort {self.cohort} is below min_contributors "
                             f"{self.min_contributors}: draw at least the contributors a round "
                             "needs (or 0 = every contributor)")
        if not 0 <= self.committee <= MAX_COMMITTEE:
            raise ValueError(f"committee {self.committee}: a committee is 1 to {MAX_COMMITTEE} "
                             "validators (0 = the whole electorate judges every update)")
        if not 0 <= self.audit <= MAX_AUDIT_PPM:
            raise ValueError(f"audit {self.audit / 1e4:g}% is above the largest audited share, "
                             f"{MAX_AUDIT_PPM / 1e4:g}%")
        if self.audit and not self.committee:
            raise ValueError("an audit share needs a committee: set committee 1 to "
                             f"{MAX_COMMITTEE}, or audit 0")
        if not self.committee and \
                self.max_contributors * self.max_validators > FULL_JUDGING_BUDGET:
            raise ValueError(
                f"{self.max_contributors} contributors × {self.max_validators} validators is "
                f"above {FULL_JUDGING_BUDGET} verdicts a round without committees "
                "(CommitteeRequired): set a committee (1 to "
                f"{MAX_COMMITTEE} validators per update), or fewer seats")


#: A phase that ends at its deadline → (the next phase, the spec field of its length), as the
#: pallet's ``advance`` moves it (a phase whose work cannot go on ends the attempt instead:
#: Aggregate at once, where finalisation fails it).
_DEADLINE_NEXT = {"Commit": ("Reveal", "reveal_blocks"), "Reveal": ("VoteCommit", "vote_blocks"),
                  "VoteCommit": ("VoteReveal", "vote_reveal_blocks"),
                  "VoteReveal": ("Aggregate", "attest_blocks")}


@dataclass(frozen=True)
class Task:
    """A task as the pallet stores it (``Tasks``), with its id."""

    id: int
    creator: str
    spec: TaskSpec
    status: str  # Active | Finished | Cancelled
    round: int
    phase: str  # Enrol | Commit | Reveal | VoteCommit | VoteReveal | Aggregate
    phase_ends_at: int
    retries: int
    model_cid: str
    model_hash: Hash
    escrow: int = 0
    paid: int = 0
    num_contributors: int = 0
    num_validators: int = 0
    pending_contributors: int = 0
    pending_validators: int = 0
    revealed: int = 0
    electorate_stake: int = 0
    electorate_size: int = 0
    vote_commits: int = 0
    vote_reveals: int = 0
    attesters: int = 0
    adopted: int | None = None
    cancel_requested: bool = False
    deposit: int = 0
    slashed: int = 0
    created_at: int = 0
    # The task's running randomness and the current attempt's draws (docs/committees.md).
    seed: Hash = ZERO_HASH
    draw_seed: Hash = ZERO_HASH
    cohort_cut: int = COHORT_ALL
    cohort_size: int = 0
    committee_seed: Hash = ZERO_HASH

    @property
    def active(self) -> bool:
        return self.status == "Active"

    @property
    def attempt(self) -> tuple[int, int]:
        """The round attempt the task is in: (round, retries)."""
        return self.round, self.retries

    def as_of(self, head: int, committed: int) -> Task:
        """The task as the pallet's next call will find it. The pallet moves a phase on
        lazily, at the start of the next call that touches the task, once the phase's deadline
        has passed (``phases.rs``: ``advance``); a call sent now lands in block ``head + 1`` at
        the earliest. This applies the same deadline rules, so that a role acts on the phase
        its call will meet instead of waiting for someone else's call to move it: after a
        silent member's deadline, the others' next calls close the phase. ``committed``: the
        round's submission count (used once Commit's deadline has passed). An Enrol past its
        deadline with the minimums joined reads as Commit (ending ``commit_blocks`` after the
        call); the view stops there, as the round's electorate is fixed only by that call
        (and its cohort drawn). A Reveal past its deadline reads as VoteCommit with the
        ``committee_seed`` the pallet will record: the seed as it is (no reveal can land
        after the deadline)."""
        t, now = self, head + 1
        if (t.active and t.phase == "Enrol" and now >= t.phase_ends_at
                and t.num_validators - t.pending_validators >= t.spec.min_validators
                and t.num_contributors - t.pending_contributors >= t.spec.min_contributors):
            return dataclasses.replace(t, phase="Commit",
                                       phase_ends_at=now + t.spec.commit_blocks)
        while t.active and t.phase in _DEADLINE_NEXT and now >= t.phase_ends_at:
            nxt, blocks = _DEADLINE_NEXT[t.phase]
            viable = {"Commit": committed >= 1,
                      "Reveal": t.revealed >= t.spec.min_contributors,
                      "VoteCommit": t.vote_commits >= 1,
                      "VoteReveal": t.vote_reveals >= t.spec.min_validators}[t.phase]
            start = t.phase_ends_at
            t = dataclasses.replace(
                t, phase=nxt if viable else "Aggregate",
                phase_ends_at=start + int(getattr(t.spec, blocks)) if viable else start)
            if t.phase == "VoteCommit":  # the committees are drawn with the seed as it is
                t = dataclasses.replace(t, committee_seed=t.seed)
        return t

    @property
    def committees(self) -> bool:
        """Whether each update is judged by a committee drawn from the electorate (else the
        whole electorate judges every update)."""
        return self.spec.committee > 0

    @classmethod
    def from_chain(cls, task_id: int, value: Mapping[str, Any]) -> Task:
        seeds = {k: Hash(str(value[k])) for k in ("seed", "draw_seed", "committee_seed")
                 if value.get(k) is not None}
        return _decode(cls, value, id=task_id, creator=str(value["creator"]),
                       spec=TaskSpec.from_chain(value["spec"]),
                       model_cid=cid_text(value.get("model_cid")) or "",
                       model_hash=Hash(str(value["model_hash"])), **seeds)

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Round:
    """What a finalised round produced (``RoundSummaries``)."""

    model_cid: str
    model_hash: Hash
    accepted: int = 0
    rejected: int = 0
    void: int = 0
    attested_score: int = 0
    contributor_rewards: int = 0
    validator_rewards: int = 0
    slashed: int = 0
    retries: int = 0
    finalized_at: int = 0

    @classmethod
    def from_chain(cls, value: Mapping[str, Any]) -> Round:
        return _decode(cls, value, model_cid=cid_text(value.get("model_cid")) or "",
                       model_hash=Hash(str(value["model_hash"])))

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


REVEALED = ("Revealed", "Accepted", "Rejected")
"""Statuses of a submission whose update was revealed (public once the round is over)."""


@dataclass(frozen=True)
class Submission:
    """One contributor's update in a round (``Submissions``): committed, then revealed."""

    index: int
    contributor: str
    commitment: Hash
    status: str  # Committed | Revealed | Accepted | Rejected | Void
    cid: str | None = None
    update_hash: Hash | None = None
    num_examples: int = 0
    accept_stake: int = 0
    reject_stake: int = 0

    @property
    def revealed(self) -> bool:
        return self.status in REVEALED

    def accepted(self, task: Task, committee_stake: int | None = None) -> bool:
        """The pallet's consensus rule (docs/protocol.md, Consensus): the bonded stake behind
        the update's accept verdicts reaches the quorum of the stake that judges it — the
        electorate's, or with committees (docs/committees.md) its committee's:
        ``committee_stake``, the sum of its judges' electorate bonds."""
        if self.status == "Accepted":
            return True
        if self.status != "Revealed":
            return False
        if task.committees and committee_stake is None:
            raise ValueError(f"submission {self.index}: the task judges updates by committee; "
                             "give the stake of this update's judges")
        stake = task.electorate_stake if committee_stake is None else committee_stake
        return consensus.is_accepted(self.accept_stake, task.spec.quorum, stake)

    @classmethod
    def from_chain(cls, index: int, value: Mapping[str, Any]) -> Submission:
        return _decode(cls, value, index=index, contributor=str(value["contributor"]),
                       commitment=Hash(str(value["commitment"])),
                       cid=cid_text(value.get("cid")),
                       update_hash=_hash(value.get("update_hash")))

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Verdict:
    """A validator's judgement of one submission: accept or not, its score and probe."""

    submission: int
    accept: bool
    score: int
    probe: int = 0

    def as_tuple(self) -> consensus.Verdict:
        return self.submission, self.accept, self.score, self.probe

    @classmethod
    def from_chain(cls, value: Mapping[str, Any]) -> Verdict:
        return cls(int(value["submission"]), bool(value["accept"]), int(value["score"]),
                   _int(value.get("probe")))


@dataclass(frozen=True)
class Vote:
    """A validator's revealed vote in a round (``Votes``): a verdict per submission."""

    validator: str
    verdicts: tuple[Verdict, ...] = ()

    def as_tuples(self) -> list[consensus.Verdict]:
        return [v.as_tuple() for v in self.verdicts]

    @classmethod
    def from_chain(cls, validator: str, value: Any) -> Vote:
        return cls(validator, tuple(Verdict.from_chain(v) for v in (value or [])))


@dataclass(frozen=True)
class Member:
    """An account's seat in a task (``Members``)."""

    address: str
    role: str  # Contributor | Validator
    bond: int = 0
    joined_bond: int = 0
    from_round: int = 0
    leaving: bool = False
    idle_rounds: int = 0

    @classmethod
    def from_chain(cls, address: str, value: Mapping[str, Any]) -> Member:
        return _decode(cls, value, address=address, role=str(value["role"]))


@dataclass(frozen=True)
class Participant:
    """A registered account (``Participants``): its keys, reputation and stakes."""

    address: str
    x25519_key: Hash
    reputation: int = 0
    contributor_stake: int | None = None
    validator_stake: int | None = None
    contributor_tasks: int = 0
    validator_tasks: int = 0

    @classmethod
    def from_chain(cls, address: str, value: Mapping[str, Any]) -> Participant:
        return _decode(cls, value, address=address, x25519_key=Hash(str(value["x25519_key"])))

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Proposal:
    """An aggregate proposed for a round (``Proposals``) and the stake attesting it."""

    proposer: str
    cid: str
    hash: Hash
    attest_stake: int = 0
    attestations: int = 0
    score_sum: int = 0

    @classmethod
    def from_chain(cls, value: Mapping[str, Any]) -> Proposal:
        return _decode(cls, value, proposer=str(value["proposer"]),
                       cid=cid_text(value.get("cid")) or "", hash=Hash(str(value["hash"])))

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Attestation:
    """A validator's attestation of an aggregate (``Attestations``): its hash and score."""

    validator: str
    hash: Hash
    score: int

    @classmethod
    def from_chain(cls, validator: str, value: Any) -> Attestation:
        if isinstance(value, Mapping):
            digest, score = value.get("hash", value.get(0)), value.get("score", value.get(1))
        else:
            digest, score = value[0], value[1]
        return cls(validator, Hash(str(digest)), int(score))


@dataclass(frozen=True)
class Payments:
    """What a task paid and slashed per account, from its ``RewardPaid``/``Slashed`` events."""

    paid: dict[str, int] = field(default_factory=dict)
    slashed: dict[str, int] = field(default_factory=dict)


def _decode(cls: type[R], value: Mapping[str, Any], **given: Any) -> R:
    """``cls`` from a decoded storage struct: ``given`` fields as they are, the other fields
    converted to their declared type (int, bool, str, or kept as the chain's enum value)."""
    kwargs: dict[str, Any] = dict(given)
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in given or f.name not in value:
            continue
        v = value[f.name]
        kind = str(f.type)
        if v is None:
            kwargs[f.name] = None
        elif kind.startswith("int"):
            kwargs[f.name] = int(v)
        elif kind == "bool":
            kwargs[f.name] = bool(v)
        elif kind.startswith("str"):
            kwargs[f.name] = str(v)
        else:
            kwargs[f.name] = v
    return cls(**kwargs)
