"""Pure functions that turn the pallet's records into what the dashboard shows.

No I/O here: every function takes the typed records :class:`~decentralml_client.chain.DecentralMl`
returns (``Task``, ``Submission``, ``Vote``, ...) and returns plain JSON-ready dicts, so the
logic is tested without a chain and the HTML and JSON views cannot disagree.
"""

from __future__ import annotations

import math
from typing import Any

from decentralml_client import protocol
from decentralml_client.chain.records import Member, Participant, Round, Submission, Task, Vote
from decentralml_client.units import PERMILL

# Enrol once, then per round Commit → … → Aggregate (sealed votes).
PHASES = ("Enrol", "Commit", "Reveal", "VoteCommit", "VoteReveal", "Aggregate")
_LENGTH = {"Enrol": "enrol_blocks", "Commit": "commit_blocks", "Reveal": "reveal_blocks",
           "VoteCommit": "vote_blocks", "VoteReveal": "vote_reveal_blocks",
           "Aggregate": "attest_blocks"}
# Phases in which verdicts are sealed (committed as hashes, not readable yet).
SEALED_PHASES = ("Enrol", "Commit", "Reveal", "VoteCommit")
MAX_PER_PAGE = 200


def phases_of(task: Task) -> tuple[str, ...]:
    """The phases a round of this task goes through (Enrol only while enrolling)."""
    return PHASES if task.phase == "Enrol" else PHASES[1:]


def votes_sealed(task: Task, r: int) -> bool:
    """Round ``r``'s verdicts cannot be read yet: the task is before its VoteReveal phase."""
    return task.active and r == task.round and task.phase in SEALED_PHASES


def pending_accepted(task: Task, sub: Submission) -> bool:
    """What the pallet's consensus rule would decide for a revealed update with the votes so
    far: the stake behind its accept verdicts reaches the quorum of the electorate stake."""
    return protocol.is_accepted(sub.accept_stake, task.spec.quorum, task.electorate_stake)


def paginate(total: int, page: int, per_page: int) -> tuple[list[int], dict[str, int]]:
    """Task ids (newest first) on ``page`` of ``per_page``, and the paging metadata.

    Task ids are dense (0 .. NextTaskId-1; the pallet never deletes a task), so a page is a
    range of ids and costs ``per_page`` reads whatever the number of tasks.
    """
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    pages = max(1, math.ceil(total / per_page))
    first = total - 1 - (page - 1) * per_page
    ids = [i for i in range(first, first - per_page, -1) if i >= 0]
    return ids, {"page": page, "per_page": per_page, "pages": pages, "total": total}


def completed_rounds(task: Task) -> int:
    """Rounds that ended with an adopted model."""
    if task.status == "Finished" and task.retries <= task.spec.max_retries:
        return task.round + 1
    return task.round


def blocks_left(task: Task, head: int) -> int | None:
    if not task.active:
        return None
    return max(0, task.phase_ends_at - head)


def task_summary(task_id: int, task: Task, head: int) -> dict[str, Any]:
    """One row of the overview: identity, status and progress of a task."""
    spec = task.spec
    rounds = spec.rounds
    done = completed_rounds(task)
    return {
        "id": task_id,
        "creator": task.creator,
        "status": task.status,
        "round": task.round,
        "rounds": rounds,
        "completed_rounds": done,
        "progress": round(done / rounds, 4) if rounds else 0.0,
        "phase": task.phase if task.active else None,
        "phase_ends_at": task.phase_ends_at,
        "blocks_left": blocks_left(task, head),
        "retries": task.retries,
        "model_cid": task.model_cid,
        "model_hash": task.model_hash,
        "rule": spec.rule,
        "num_contributors": task.num_contributors,
        "num_validators": task.num_validators,
        "escrow": task.escrow,
        "paid": task.paid,
        "reward_total": spec.reward_per_round * rounds,
        "created_at": task.created_at,
        "slashed": task.slashed,
        "electorate_stake": task.electorate_stake,
    }


def rewards(task: Task, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Paid so far, split by role, what is left in escrow and the bonds slashed into it."""
    return {
        "paid": task.paid,
        "escrow": task.escrow,
        "contributors": sum(rv.get("contributor_rewards", 0) for rv in rounds),
        "validators": sum(rv.get("validator_rewards", 0) for rv in rounds),
        "slashed": task.slashed,
    }


def phase_timeline(task: Task, head: int) -> list[dict[str, Any]]:
    """The phases of the current round: done, current (with blocks left) or to come."""
    phases = phases_of(task)
    current = task.phase if task.active else None
    idx = phases.index(current) if current in phases else len(phases)
    out = []
    for i, name in enumerate(phases):
        state = "done" if i < idx else ("current" if i == idx else "next")
        entry: dict[str, Any] = {"phase": name, "state": state,
                                 "length": int(getattr(task.spec, _LENGTH[name]))}
        if state == "current":
            entry["ends_at"] = task.phase_ends_at
            entry["blocks_left"] = max(0, task.phase_ends_at - head)
        out.append(entry)
    return out


def submission_view(index: int, sub: Submission, task: Task, final: bool,
                    counts: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    """A revealed (or only committed) update, with the consensus it has reached so far:
    ``accepts``/``rejects`` count the revealed verdicts (``counts``), the chain keeps the
    stakes behind them (``accept_stake``, ``reject_stake``)."""
    status = sub.status
    if final or status in ("Accepted", "Rejected", "Void"):
        outcome = status
    elif status == "Revealed" and task.vote_reveals and not task.committees:
        # (with committees the quorum is of each update's judges' stake: shown once final)
        outcome = ("Accepted (pending)" if pending_accepted(task, sub)
                   else "Rejected (pending)")
    else:
        outcome = status
    accepts, rejects = counts
    return {
        "index": index,
        "contributor": sub.contributor,
        "cid": sub.cid,
        "update_hash": sub.update_hash,
        "num_examples": sub.num_examples,
        "accepts": accepts,
        "rejects": rejects,
        "status": status,
        "outcome": outcome,
        "accept_stake": sub.accept_stake,
        "reject_stake": sub.reject_stake,
    }


def verdict_counts(votes: dict[str, Vote]) -> dict[int, tuple[int, int]]:
    """Accept and reject verdicts per submission among the (revealed) votes."""
    counts: dict[int, list[int]] = {}
    for vote in votes.values():
        for x in vote.verdicts:
            c = counts.setdefault(x.submission, [0, 0])
            c[0 if x.accept else 1] += 1
    return {i: (a, r) for i, (a, r) in counts.items()}


def verdict_evidence(submissions: list[int], votes: dict[str, Vote],
                     stakes: dict[str, int]) -> tuple[dict[int, int], dict[str, set[int]]]:
    """The consensus probe of each submission and, per validator, the submissions on which
    its verdict is evidenced (its probe matches the consensus probe), by the pallet's rule
    as :func:`decentralml_client.protocol.consensus.consensus` mirrors it."""
    from decentralml_client.protocol.consensus import consensus

    records = {v: protocol.VoteRecord(int(stakes.get(v) or 0), vote.as_tuples())
               for v, vote in votes.items()}
    probes = consensus(submissions, records, PERMILL).probes
    evidenced = {v: {sub for sub, _, _, probe in rec.verdicts or ()
                     if sub in probes and protocol.evidenced(probe, probes[sub])}
                 for v, rec in records.items()}
    return probes, evidenced


def vote_matrix(submissions: dict[int, Submission], votes: dict[str, Vote],
                validators: list[str], *, commits: set[str], stakes: dict[str, int],
                sealed: bool = False) -> dict[str, Any]:
    """Validators × updates: each cell is the validator's verdict and score, or None.

    ``stakes`` is the round's electorate (validator → bond) and ``commits`` the validators
    that committed a sealed vote: each row says whether its validator ``committed`` and with
    what ``stake``, each cell carries the verdict's ``probe`` (the evidence that the
    validator ran the update) and whether it is ``evidenced`` (matches the consensus probe:
    an unevidenced verdict earns nothing and counts as losing), and each tally the consensus
    ``probe``. While the votes are ``sealed`` (up to the VoteCommit phase) no verdict is
    shown, only who committed. ``tallies`` gives, per update, the verdict counts and the
    stake behind accept and reject.
    """
    columns = sorted(submissions)
    shown = {} if sealed else votes
    names = list(dict.fromkeys([*validators, *stakes, *sorted(commits), *sorted(shown)]))
    probes: dict[int, int] = {}
    evidence: dict[str, set[int]] = {}
    if shown:
        probes, evidence = verdict_evidence(columns, shown, stakes)
    rows = []
    for v in names:
        vote = shown.get(v)
        by_sub = {x.submission: x for x in (vote.verdicts if vote else ())}
        cells: list[dict[str, Any] | None] = []
        for c in columns:
            x = by_sub.get(c)
            cells.append(None if x is None else {
                "accept": x.accept, "score": x.score, "probe": x.probe,
                "evidenced": c in evidence.get(v, set())})
        rows.append({"validator": v, "voted": v in shown, "verdicts": cells,
                     "committed": v in commits, "stake": stakes.get(v)})
    counts = verdict_counts(shown)
    tallies = []
    for c in columns:
        sub = submissions[c]
        accepts, rejects = counts.get(c, (0, 0))
        tally: dict[str, Any] = {"submission": c, "accepts": accepts, "rejects": rejects,
                                 "accept_stake": 0 if sealed else sub.accept_stake,
                                 "reject_stake": 0 if sealed else sub.reject_stake}
        if c in probes and counts.get(c):
            tally["probe"] = probes[c]
        tallies.append(tally)
    return {"submissions": columns, "rows": rows, "tallies": tallies, "sealed": sealed,
            "electorate_stake": sum(stakes.values())}


def round_view(task: Task, r: int, summary: Round | None, head: int) -> dict[str, Any]:
    """One round in the timeline: finalised (with its summary), current, or to come."""
    current = task.round
    if summary is not None:
        state = "finalized"
    elif r == current and task.active:
        state = "current"
    elif r >= current and task.active:
        state = "pending"
    else:
        state = "not run"
    out: dict[str, Any] = {"round": r, "state": state}
    if summary is not None:
        out.update({
            "model_cid": summary.model_cid,
            "model_hash": summary.model_hash,
            "accepted": summary.accepted,
            "rejected": summary.rejected,
            "void": summary.void,
            "attested_score": summary.attested_score,
            "attested_accuracy": summary.attested_score / 100.0,
            "contributor_rewards": summary.contributor_rewards,
            "validator_rewards": summary.validator_rewards,
            "retries": summary.retries,
            "finalized_at": summary.finalized_at,
            "slashed": summary.slashed,
        })
    elif state == "current":
        out.update({"phase": task.phase, "phase_ends_at": task.phase_ends_at,
                    "blocks_left": max(0, task.phase_ends_at - head),
                    "retries": task.retries})
    return out


def lineage(task: Task, rounds: list[dict[str, Any]],
            accepted: dict[int, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Model versions: M_0 from the spec, then M_{r+1} adopted at the end of round r."""
    spec = task.spec
    out: list[dict[str, Any]] = [{"version": 0, "round": None, "model_cid": spec.model_cid,
                                  "model_hash": spec.model_hash, "updates": []}]
    for rv in rounds:
        if rv["state"] != "finalized":
            continue
        out.append({
            "version": len(out), "round": rv["round"], "model_cid": rv["model_cid"],
            "model_hash": rv["model_hash"], "attested_accuracy": rv["attested_accuracy"],
            "updates": [{"index": s["index"], "contributor": s["contributor"], "cid": s["cid"],
                         "update_hash": s["update_hash"], "num_examples": s["num_examples"]}
                        for s in accepted.get(rv["round"], [])],
        })
    return out


def quorum_text(task: Task) -> str:
    q = task.spec.quorum / PERMILL
    return f"{q:.0%} of the electorate's stake, at least {task.spec.min_validators} validators"


def committees_text(task: Task) -> str:
    """Who trains and who judges (docs/committees.md): the task's cohort, committee and audit
    settings, and how many contributors the current round attempt drew."""
    spec = task.spec
    cohort = (f"cohort of {spec.cohort} contributors per round" if spec.cohort
              else "every contributor trains each round")
    if task.active and task.phase != "Enrol":
        cohort += f" ({task.cohort_size} drawn this round)"
    judging = (f"committee of {spec.committee} validators per update, "
               f"{spec.audit / PERMILL:.0%} audited by {3 * spec.committee}" if spec.committee
               else "every validator judges every update")
    return f"{cohort} · {judging}"


def member_view(member: Member) -> dict[str, Any]:
    """A task member: its role, bond, the round it votes from, and whether it is leaving."""
    return {"address": member.address, "contributor": member.role == "Contributor",
            "validator": member.role == "Validator", "role": member.role,
            "bond": member.bond, "from_round": member.from_round, "leaving": member.leaving}


def participant_view(info: Participant, balance: dict[str, int] | None) -> dict[str, Any]:
    """A registered participant: roles, stakes, reputation (0..1000, starts at 500)."""
    roles = [r for r, stake in (("contributor", info.contributor_stake),
                                ("validator", info.validator_stake)) if stake is not None]
    return {
        "address": info.address,
        "roles": roles,
        "contributor_stake": info.contributor_stake,
        "validator_stake": info.validator_stake,
        "stake": (info.contributor_stake or 0) + (info.validator_stake or 0),
        "reputation": info.reputation,
        "contributor_tasks": info.contributor_tasks,
        "validator_tasks": info.validator_tasks,
        "x25519_public_key": info.x25519_key,
        "balance": balance,
    }


def enrol_wait(task: Task, head: int) -> str | None:
    """Why a task in its Enrol phase is waiting, in words (None outside Enrol)."""
    if not task.active or task.phase != "Enrol":
        return None
    spec, ends = task.spec, task.phase_ends_at
    c = task.num_contributors - task.pending_contributors
    v = task.num_validators - task.pending_validators
    seats = (f"{task.num_contributors}/{spec.max_contributors} contributor and "
             f"{task.num_validators}/{spec.max_validators} validator seats taken")
    need = (f"at least {spec.min_contributors} contributor(s) and {spec.min_validators} "
            "validator(s)")
    if head < ends:
        return (f"Enrolment ends as soon as every seat is taken ({seats}), or at block #{ends} "
                f"once {need} have joined.")
    if c < spec.min_contributors or v < spec.min_validators:
        return (f"Past its deadline (block #{ends}), enrolment waits for {need} to join: {c} "
                f"and {v} so far ({seats}).")
    return (f"Past its deadline (block #{ends}) with enough members ({c} contributor(s), "
            f"{v} validator(s)): round 0 opens with the next transaction to this task "
            "(a contributor's commit, or a new member joining).")


def validator_agreement(matrix: dict[str, Any], submissions: list[dict[str, Any]]
                        ) -> dict[str, dict[str, int]]:
    """For each validator of a finalised round: the verdicts it cast on decided updates and
    how many of them agree with the outcome and carry matching evidence (its pay follows)."""
    outcome = {s["index"]: s["status"] == "Accepted" for s in submissions
               if s["status"] in ("Accepted", "Rejected")}
    out: dict[str, dict[str, int]] = {}
    for row in matrix["rows"]:
        cast = agreed = 0
        for c, cell in zip(matrix["submissions"], row["verdicts"], strict=True):
            if cell is None or c not in outcome:
                continue
            cast += 1
            agreed += int(cell["accept"] == outcome[c] and cell.get("evidenced", True))
        out[row["validator"]] = {"cast": cast, "agreed": agreed}
    return out


def loss_decrease(task: Task, submissions: list[dict[str, Any]], votes: dict[str, Vote],
                  stakes: dict[str, int]) -> int | None:
    """The round's loss decrease: the mean over its accepted updates of their consensus score
    (basis points of loss decrease on the validators' held-out data, by the pallet's rule as
    :func:`decentralml_client.protocol.consensus.consensus` mirrors it); None when nothing
    was accepted or no vote is readable."""
    from decentralml_client.protocol.consensus import consensus

    decided = sorted(s["index"] for s in submissions if s["status"] in ("Accepted", "Rejected"))
    accepted = [s["index"] for s in submissions if s["status"] == "Accepted"]
    if not accepted or not votes:
        return None
    records = {v: protocol.VoteRecord(int(stakes.get(v) or 0), vote.as_tuples())
               for v, vote in votes.items()}
    scores = consensus(decided, records, task.spec.quorum).scores
    values = [scores[i] for i in accepted if i in scores]
    return round(sum(values) / len(values)) if values else None


def accounts(members: list[dict[str, Any]], finalised: list[dict[str, Any]]
             ) -> list[dict[str, Any]]:
    """Every account that took part in the task: its role, bond, and per finalised round what
    it earned and was slashed (and, for a validator, its agreement with the outcome).

    ``finalised`` holds one entry per finalised round: ``round``, ``paid`` and ``slashed``
    (address → plancks, from the round's events), ``agreement`` (validator → cast, agreed),
    ``contributors`` (who submitted) and ``electorate`` (validator → bond).
    """
    rows: dict[str, dict[str, Any]] = {}

    def row(address: str, role: str) -> dict[str, Any]:
        return rows.setdefault(address, {"address": address, "role": role, "bond": None,
                                         "member": False, "rounds": [], "earned": 0,
                                         "slashed": 0})

    for m in members:
        r = row(m["address"], m["role"])
        r.update(bond=m["bond"], member=True, leaving=m["leaving"])
    for f in finalised:
        for who, bond in f["electorate"].items():
            r = row(who, "Validator")
            if r["bond"] is None:
                r["bond"] = bond
        for who in f["contributors"]:
            row(who, "Contributor")
        for who in (*f["paid"], *f["slashed"]):
            row(who, "Contributor")
    for f in finalised:
        for address, r in rows.items():
            earned, slashed = f["paid"].get(address, 0), f["slashed"].get(address, 0)
            agreement = f["agreement"].get(address)
            took_part = (address in f["electorate"] or address in f["contributors"]
                         or earned or slashed)
            if not took_part:
                continue
            entry: dict[str, Any] = {"round": f["round"], "earned": earned, "slashed": slashed}
            if agreement is not None:
                entry.update(agreement)
            r["rounds"].append(entry)
            r["earned"] += earned
            r["slashed"] += slashed
    order = {"Validator": 1, "Contributor": 0}
    return sorted(rows.values(), key=lambda r: (order.get(r["role"], 2), r["address"]))
