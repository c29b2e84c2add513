"""Where a task's models come from: the lineage from the initial model to round R.

Every finalised round ``r`` turned the global model ``M_r`` into ``M_{r+1}`` (its *adopted
model*): the contributors' accepted updates, accepted by the stake of the validators' votes,
aggregated, and the aggregate's hash attested by a quorum of the round's electorate. All of it
is on chain until the task is purged; :func:`read_lineage` reads it (chain only, no IPFS, no
TensorFlow) for ``decentralml model lineage``, ``model pull`` and the dashboard, and
:func:`check_lineage` checks the chain's own records against the protocol's rules:

* the adopted hash was attested by electorate stake reaching the task's quorum;
* every update the round counts as accepted has accept votes reaching the quorum (with
  committees: of its judges' stake, docs/committees.md), and the number of accepted updates
  is the round summary's.

``decentralml model pull`` also recomputes the aggregate from the accepted updates (see
:mod:`decentralml_client.roles.models`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from decentralml_client.chain import DecentralMl
from decentralml_client.chain.api import account_id
from decentralml_client.chain.records import Round, Submission, Task, TaskSpec
from decentralml_client.errors import DecentralMLError
from decentralml_client.protocol.consensus import VoteRecord, consensus, evidenced, quorum_stake
from decentralml_client.protocol.sampling import judges


class LineageError(DecentralMLError):
    """A round's records on chain do not support its adopted model, or do not exist."""

    hint = ("do not use this model; check the task with `decentralml task show` and "
            "`decentralml model lineage`.")


@dataclass(frozen=True)
class Vote:
    """One validator's revealed verdict on one update."""

    validator: str
    accept: bool
    score: int  # basis points
    bond: int  # the validator's stake in the round's electorate
    probe: int = 0  # evidence of evaluation (decentralml_client.ml.evidence)
    evidenced: bool = True  # the probe matches the consensus probe (else: a losing verdict)


@dataclass(frozen=True)
class Update:
    """A revealed update of a round and the votes on it."""

    index: int
    contributor: str
    cid: str | None
    update_hash: str | None
    num_examples: int
    status: str
    accept_stake: int
    reject_stake: int
    votes: list[Vote] = field(default_factory=list)
    # with committees (docs/committees.md): the stake of its judges, whose quorum it needs
    committee_stake: int | None = None


@dataclass(frozen=True)
class Attestation:
    """A validator's attestation of an aggregate's hash, with the score it measured."""

    validator: str
    hash: str
    score: int  # basis points
    bond: int


@dataclass(frozen=True)
class RoundLineage:
    """How round ``round`` turned ``base_model_hash`` into ``model_hash``."""

    round: int
    base_model_hash: str  # M_r (for round 0: the initial weights named by the model spec)
    model_cid: str
    model_hash: str  # M_{r+1}, the adopted model
    attested_score: int  # mean of the adopted model's attestations, basis points
    accepted: int
    rejected: int
    void: int
    retries: int
    finalized_at: int
    electorate_stake: int
    quorum: int  # Permill of the electorate stake
    rule: Any
    proposer: str | None
    updates: list[Update]  # revealed updates, accepted and rejected, by submission index
    attestations: list[Attestation]  # of the adopted hash

    @property
    def accepted_updates(self) -> list[Update]:
        return [u for u in self.updates if u.status == "Accepted"]


@dataclass(frozen=True)
class Lineage:
    """The tree from a task's initial model to round ``rounds[-1].round``."""

    task_id: int
    status: str
    model_spec_cid: str
    model_spec_hash: str
    rounds: list[RoundLineage]

    @property
    def last(self) -> RoundLineage:
        return self.rounds[-1]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def finished_rounds(dml: DecentralMl, task_id: int) -> list[int]:
    """The task's finalised rounds, in order."""
    task = _task(dml, task_id)
    return [r for r in range(task.round + 1) if dml.round_summary(task_id, r)]


def read_lineage(dml: DecentralMl, task_id: int, upto: int | None = None) -> Lineage:
    """The lineage from the initial model to round ``upto`` (default: the last finalised)."""
    task = _task(dml, task_id)
    done = finished_rounds(dml, task_id)
    if not done:
        raise LineageError(f"task {task_id} has no finalised round yet: no model was adopted",
                           hint="wait for the first round to end (`decentralml task show`).")
    if upto is None:
        upto = done[-1]
    if upto not in done:
        raise LineageError(f"task {task_id} round {upto} is not finalised; finalised rounds: "
                           f"{', '.join(map(str, done))}",
                           hint="pick one of the finalised rounds with --round.")
    spec = task.spec
    rounds: list[RoundLineage] = []
    base = "initial"  # replaced by each adopted model in turn
    for r in range(upto + 1):
        summary = dml.round_summary(task_id, r)
        if summary is None:
            raise LineageError(f"task {task_id}: round {r} has no summary on chain")
        rounds.append(_round(dml, task_id, r, summary, base, spec))
        base = summary.model_hash
    return Lineage(task_id=task_id, status=task.status, model_spec_cid=spec.model_cid,
                   model_spec_hash=spec.model_hash, rounds=rounds)


def _round(dml: DecentralMl, task_id: int, r: int, summary: Round, base: str,
           spec: TaskSpec) -> RoundLineage:
    bonds = dml.electorate(task_id, r)
    votes = dml.votes(task_id, r)
    subs = dml.submissions(task_id, r)
    revealed = sorted(i for i, s in subs.items() if s.status in ("Accepted", "Rejected"))
    records = {who: VoteRecord(bonds.get(who, 0), vote.as_tuples())
               for who, vote in votes.items()}
    probes = consensus(revealed, records, spec.quorum).probes
    by_submission: dict[int, list[Vote]] = {}
    for validator, vote in sorted(votes.items()):
        for v in vote.verdicts:
            i = v.submission
            by_submission.setdefault(i, []).append(
                Vote(validator, v.accept, v.score, bonds.get(validator, 0),
                     v.probe, i in probes and evidenced(v.probe, probes[i])))
    stakes = _committee_stakes(dml, task_id, r, summary, spec, bonds, subs, by_submission)
    updates = [
        Update(index=i, contributor=s.contributor, cid=s.cid, update_hash=s.update_hash,
               num_examples=s.num_examples, status=s.status, accept_stake=s.accept_stake,
               reject_stake=s.reject_stake, votes=by_submission.get(i, []),
               committee_stake=stakes.get(i))
        for i, s in sorted(subs.items())
        if s.status in ("Accepted", "Rejected")
    ]
    model_hash = summary.model_hash
    attestations = [Attestation(validator, a.hash, a.score, bonds.get(validator, 0))
                    for validator, a in sorted(dml.attestations(task_id, r).items())
                    if a.hash == model_hash]
    proposer = next((p.proposer for p in dml.proposals(task_id, r) if p.hash == model_hash),
                    None)
    return RoundLineage(
        round=r, base_model_hash=base, model_cid=summary.model_cid,
        model_hash=model_hash, attested_score=summary.attested_score,
        accepted=summary.accepted, rejected=summary.rejected,
        void=summary.void, retries=summary.retries,
        finalized_at=summary.finalized_at, electorate_stake=sum(bonds.values()),
        quorum=spec.quorum, rule=spec.rule, proposer=proposer, updates=updates,
        attestations=attestations)


def _committee_stakes(dml: DecentralMl, task_id: int, r: int, summary: Round, spec: TaskSpec,
                      bonds: dict[str, int], subs: dict[int, Submission],
                      votes: dict[int, list[Vote]]) -> dict[int, int]:
    """With committees, each revealed update's judges' stake: its judges drawn again from the
    ``committee_seed`` of the attempt that was finalised (the task's state in the block before
    the finalising one) and the round's electorate. Where that state is no longer kept (a
    pruned node), the stake of the validators that voted on it: a lower bound, so the check
    stays sound but weaker. Without committees: nothing (the electorate's stake)."""
    if not spec.committee:
        return {}
    revealed = {i: s for i, s in subs.items() if s.status in ("Accepted", "Rejected")}
    try:
        chain = dml.chain
        before = chain.query("Tasks", [task_id],
                             block_hash=chain.block_hash(summary.finalized_at - 1))
        seed = Task.from_chain(task_id, before).committee_seed.raw
    except Exception:  # pruned state, or an unexpected record: fall back to the voters
        return {i: sum(v.bond for v in votes.get(i, [])) for i in revealed}
    electorate = [(account_id(a), b) for a, b in bonds.items()]
    by_id = {account_id(a): a for a in bonds}
    return {i: sum(bonds[by_id[j]] for j in judges(
        task_id, r, summary.retries, seed, account_id(s.contributor), electorate,
        spec.committee, spec.audit)) for i, s in revealed.items()}


def check_lineage(lineage: Lineage) -> None:
    """Check every round's records against the protocol's rules; raise :class:`LineageError`."""
    for rl in lineage.rounds:
        where = f"task {lineage.task_id} round {rl.round}"
        need = quorum_stake(rl.quorum, rl.electorate_stake)
        attested = sum(a.bond for a in rl.attestations)
        if rl.electorate_stake <= 0 or attested < need:
            raise LineageError(f"{where}: the adopted model {rl.model_hash} is attested by "
                               f"{attested} of the {need} stake the quorum needs")
        accepted = rl.accepted_updates
        if len(accepted) != rl.accepted:
            raise LineageError(f"{where}: {len(accepted)} accepted updates on chain, the round "
                               f"summary counts {rl.accepted}")
        for u in accepted:
            stake = sum(v.bond for v in u.votes if v.accept)
            judged = need if u.committee_stake is None else quorum_stake(rl.quorum,
                                                                         u.committee_stake)
            if stake < judged or stake <= 0:
                raise LineageError(f"{where}: update {u.index} counts as accepted with accept "
                                   f"votes of {stake} stake, below the quorum's {judged}")


def lineage_report(dml: DecentralMl, task_id: int, upto: int | None = None
                   ) -> tuple[Lineage, dict[str, Any]]:
    """The lineage and its JSON form with the outcome of :func:`check_lineage` (``checked``,
    ``problem``): what ``model lineage --json`` prints and the dashboard shows."""
    lineage = read_lineage(dml, task_id, upto)
    try:
        check_lineage(lineage)
        problem = None
    except LineageError as exc:
        problem = str(exc)
    return lineage, {**lineage.to_dict(), "checked": problem is None, "problem": problem}


def _task(dml: DecentralMl, task_id: int) -> Task:
    task = dml.task(task_id)
    if task is None:
        raise LineageError(f"task {task_id} does not exist on this chain",
                           hint="see `decentralml task list`.")
    return task
