"""The JSON API's response models: what each endpoint returns, field by field.

They describe the dicts built by :mod:`._views` and :mod:`._data` (which the HTML pages
render too, so pages and API cannot disagree). Fields marked *v2* are present only on a
protocol v2 runtime (sealed votes, per-task bonds, slashing); routes serialise with
``exclude_unset`` so a key that was not set is left out rather than sent as ``null``.
Balances are plancks (1 DML = 10¹² plancks), scores basis points (10 000 = 100 %).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from decentralml_client.roles import lineage


class ChainStatus(BaseModel):
    connected: bool
    url: str
    head: int | None
    head_hash: str | None = None
    error: str | None


class LiveStatus(BaseModel):
    following: bool
    connected: bool
    error: str | None
    head: int | None
    since: float | None = None
    subscribers: int


class CacheStatus(BaseModel):
    node_reads: int
    ttl_s: float


class Health(BaseModel):
    status: Literal["ok", "chain_unreachable"]
    chain: ChainStatus
    live: LiveStatus
    cache: CacheStatus
    read_only: bool


class Error(BaseModel):
    error: str
    detail: str
    node_url: str | None = None


class TaskSummary(BaseModel):
    id: int
    creator: str
    status: str
    round: int
    rounds: int
    completed_rounds: int
    progress: float
    phase: str | None
    phase_ends_at: int
    blocks_left: int | None
    retries: int
    model_cid: str | None
    model_hash: str | None
    rule: Any
    num_contributors: int
    num_validators: int
    escrow: int
    paid: int
    reward_total: int
    created_at: int
    slashed: int | None = None  # v2: total moved from bonds into escrow
    electorate_stake: int | None = None  # v2


class TasksPage(BaseModel):
    head: int
    page: int
    per_page: int
    pages: int
    total: int
    tasks: list[TaskSummary]


class PhaseStep(BaseModel):
    phase: str
    state: Literal["done", "current", "next"]
    length: int
    ends_at: int | None = None
    blocks_left: int | None = None


class RoundState(BaseModel):
    round: int
    state: Literal["finalized", "current", "pending", "not run"]
    model_cid: str | None = None
    model_hash: str | None = None
    accepted: int | None = None
    rejected: int | None = None
    void: int | None = None
    attested_score: int | None = None
    attested_accuracy: float | None = None
    contributor_rewards: int | None = None
    validator_rewards: int | None = None
    slashed: int | None = None  # v2
    retries: int | None = None
    finalized_at: int | None = None
    phase: str | None = None
    phase_ends_at: int | None = None
    blocks_left: int | None = None
    loss_decrease: int | None = None  # bp: accepted updates' median validator score, mean
    model_url: str | None = None  # read-only download of the adopted weights file


class RoundPay(BaseModel):
    """What one account earned and was slashed in one finalised round."""

    round: int
    earned: int
    slashed: int
    cast: int | None = None  # a validator's verdicts on decided updates
    agreed: int | None = None  # of them, agreeing with the outcome, with matching evidence


class Account(BaseModel):
    """An account that took part in a task: role, bond, and its pay per round."""

    address: str
    role: str
    bond: int | None = None
    member: bool
    leaving: bool | None = None
    earned: int
    slashed: int
    rounds: list[RoundPay]


class SubmissionView(BaseModel):
    index: int
    contributor: str
    cid: str | None
    update_hash: str | None
    num_examples: int | None
    accepts: int
    rejects: int
    status: str
    outcome: str
    accept_stake: int | None = None  # v2
    reject_stake: int | None = None  # v2


class Verdict(BaseModel):
    accept: bool
    score: int
    probe: int | None = None  # v2: evidence of evaluation (units of 1e-9, ml/evidence.py)
    evidenced: bool | None = None  # v2: the probe matches the consensus probe (else: losing)


class VoteRow(BaseModel):
    validator: str
    voted: bool
    verdicts: list[Verdict | None]
    committed: bool | None = None  # v2: a sealed vote was committed
    stake: int | None = None  # v2: the validator's bond in the round's electorate


class Tally(BaseModel):
    submission: int
    accepts: int
    rejects: int
    accept_stake: int | None = None  # v2
    reject_stake: int | None = None  # v2
    probe: int | None = None  # v2: the consensus probe (bond-weighted median of the verdicts')


class VoteMatrix(BaseModel):
    submissions: list[int]
    rows: list[VoteRow]
    tallies: list[Tally]
    sealed: bool
    electorate_stake: int | None = None  # v2


class RoundDetail(BaseModel):
    round: int
    finalized: bool
    submissions: list[SubmissionView]
    vote_matrix: VoteMatrix
    proposals: list[dict[str, Any]]


class LineageUpdate(BaseModel):
    index: int
    contributor: str
    cid: str | None
    update_hash: str | None
    num_examples: int | None


class ModelVersion(BaseModel):
    version: int
    round: int | None
    model_cid: str | None
    model_hash: str | None
    attested_accuracy: float | None = None
    updates: list[LineageUpdate]


class Member(BaseModel):
    address: str
    contributor: bool
    validator: bool
    role: str | None = None  # v2
    bond: int | None = None  # v2
    from_round: int | None = None  # v2
    leaving: bool | None = None  # v2


class Rewards(BaseModel):
    paid: int
    escrow: int
    contributors: int
    validators: int
    slashed: int | None = None  # v2


class TaskDetail(BaseModel):
    task: TaskSummary
    spec: dict[str, Any]
    quorum: str
    committees: str = ""  # cohort, committee and audit settings, and the round's cohort
    head: int
    phases: list[PhaseStep]
    enrol_wait: str | None = None  # why an Enrol phase waits
    rounds: list[RoundState]
    selected_round: RoundDetail
    lineage: list[ModelVersion]
    members: list[Member]
    accounts: list[Account]
    rewards: Rewards


class Balance(BaseModel):
    free: int
    reserved: int
    frozen: int = 0


class Participant(BaseModel):
    address: str
    roles: list[str]
    contributor_stake: int | None
    validator_stake: int | None
    stake: int
    reputation: int
    contributor_tasks: int
    validator_tasks: int
    x25519_public_key: str | None
    balance: Balance | None
    bonded: int | None = None  # v2: bonds held in active tasks


class HistoryUpdate(BaseModel):
    index: int
    cid: str | None
    outcome: str


class HistoryRound(BaseModel):
    round: int
    updates: list[HistoryUpdate]
    verdicts: int
    finalized: bool


class HistoryEntry(BaseModel):
    task: int
    status: str
    creator: bool
    contributor: bool
    validator: bool
    rounds: list[HistoryRound]
    bond: int | None = None  # v2: the account's bond in this task
    leaving: bool | None = None  # v2
    from_round: int | None = None  # v2
    task_slashed: int | None = None  # v2: all bonds slashed in this task so far


class ParticipantDetail(Participant):
    history: list[HistoryEntry]


@dataclass(frozen=True)
class Lineage(lineage.Lineage):
    """Where a round's adopted model comes from (``decentralml model lineage --json``): the
    lineage as :mod:`~decentralml_client.roles.lineage` reads it, and whether its records meet
    the quorums."""

    checked: bool
    problem: str | None
