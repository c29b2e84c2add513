"""Pure functions that turn raw pallet storage into what the dashboard shows.

No I/O here: every function takes the decoded storage values (as returned by
:class:`~decentralml_client.chain.DecentralMl`) and returns plain JSON-ready dicts, so the
logic is tested without a chain and the HTML and JSON views cannot disagree.
"""

from __future__ import annotations

import math
from typing import Any

from decentralml_client import protocol

PERMILL = protocol.PPM  # parts per million (the chain's Permill)

# Protocol v2 (sealed votes): Enrol once, then per round Commit → … → Aggregate.
PHASES_V2 = ("Enrol", "Commit", "Reveal", "VoteCommit", "VoteReveal", "Aggregate")
# Protocol v1 (open votes), still read so the dashboard works against either runtime.
PHASES_V1 = ("Commit", "Reveal", "Vote", "Aggregate")
_LENGTH = {"Enrol": "enrol_blocks", "Commit": "commit_blocks", "Reveal": "reveal_blocks",
           "Vote": "vote_blocks", "VoteCommit": "vote_blocks",
           "VoteReveal": "vote_reveal_blocks", "Aggregate": "attest_blocks"}
# Phases in which verdicts are sealed (committed as hashes, not readable yet).
SEALED_PHASES = ("Enrol", "Commit", "Reveal", "VoteCommit")
MAX_PER_PAGE = 200


def is_v2(task: dict[str, Any]) -> bool:
    """Whether the task comes from a protocol v2 runtime (sealed votes, per-task bonds)."""
    return "vote_reveals" in task or task.get("phase") in ("Enrol", "VoteCommit", "VoteReveal")


def phases_of(task: dict[str, Any]) -> tuple[str, ...]:
    """The phases a round of this task goes through (v2: Enrol only while enrolling)."""
    if not is_v2(task):
        return PHASES_V1
    return PHASES_V2 if task.get("phase") == "Enrol" else PHASES_V2[1:]


def votes_sealed(task: dict[str, Any], r: int) -> bool:
    """Round ``r``'s verdicts cannot be read yet: a v2 task before its VoteReveal phase."""
    return (is_v2(task) and task["status"] == "Active" and r == int(task["round"])
            and task["phase"] in SEALED_PHASES)


def pending_accepted(task: dict[str, Any], sub: dict[str, Any]) -> bool:
    """What the pallet's consensus rule would decide for a revealed update with the votes so far.

    v2: the stake behind its accept verdicts reaches the quorum of the electorate stake.
    v1: at least ``min_validators`` voted and accepted, and accepts reach the quorum of voters.
    """
    spec = task["spec"]
    quorum = int(spec["quorum"])
    if "accept_stake" in sub:
        return protocol.is_accepted(int(sub["accept_stake"] or 0), quorum,
                                    int(task.get("electorate_stake") or 0))
    voters, accepts = int(task.get("voters") or 0), int(sub.get("accepts") or 0)
    minimum = int(spec["min_validators"])
    need = -(-quorum * voters // PERMILL)
    return voters >= minimum and accepts >= minimum and accepts >= need


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


def completed_rounds(task: dict[str, Any]) -> int:
    """Rounds that ended with an adopted model."""
    spec = task["spec"]
    if task["status"] == "Finished" and int(task["retries"]) <= int(spec["max_retries"]):
        return int(task["round"]) + 1
    return int(task["round"])


def blocks_left(task: dict[str, Any], head: int) -> int | None:
    if task["status"] != "Active":
        return None
    return max(0, int(task["phase_ends_at"]) - head)


def task_summary(task_id: int, task: dict[str, Any], head: int) -> dict[str, Any]:
    """One row of the overview: identity, status and progress of a task."""
    spec = task["spec"]
    rounds = int(spec["rounds"])
    done = completed_rounds(task)
    return {
        "id": task_id,
        "creator": task["creator"],
        "status": task["status"],
        "round": int(task["round"]),
        "rounds": rounds,
        "completed_rounds": done,
        "progress": round(done / rounds, 4) if rounds else 0.0,
        "phase": task["phase"] if task["status"] == "Active" else None,
        "phase_ends_at": int(task["phase_ends_at"]),
        "blocks_left": blocks_left(task, head),
        "retries": int(task["retries"]),
        "model_cid": task["model_cid"],
        "model_hash": task["model_hash"],
        "rule": spec["rule"],
        "num_contributors": int(task["num_contributors"]),
        "num_validators": int(task["num_validators"]),
        "escrow": int(task["escrow"]),
        "paid": int(task["paid"]),
        "reward_total": int(spec["reward_per_round"]) * rounds,
        "created_at": int(task["created_at"]),
        **({"slashed": int(task["slashed"] or 0),
            "electorate_stake": int(task.get("electorate_stake") or 0)}
           if "slashed" in task else {}),
    }


def rewards(task: dict[str, Any], rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Paid so far, split by role, and what is left in escrow (v2: bonds slashed into it)."""
    out: dict[str, Any] = {
        "paid": int(task["paid"]),
        "escrow": int(task["escrow"]),
        "contributors": sum(rv.get("contributor_rewards", 0) for rv in rounds),
        "validators": sum(rv.get("validator_rewards", 0) for rv in rounds),
    }
    if "slashed" in task:
        out["slashed"] = int(task["slashed"] or 0)
    return out


def phase_timeline(task: dict[str, Any], head: int) -> list[dict[str, Any]]:
    """The phases of the current round: done, current (with blocks left) or to come."""
    phases = phases_of(task)
    current = task["phase"] if task["status"] == "Active" else None
    idx = phases.index(current) if current in phases else len(phases)
    out = []
    for i, name in enumerate(phases):
        state = "done" if i < idx else ("current" if i == idx else "next")
        entry: dict[str, Any] = {"phase": name, "state": state,
                                 "length": int(task["spec"].get(_LENGTH[name]) or 0)}
        if state == "current":
            entry["ends_at"] = int(task["phase_ends_at"])
            entry["blocks_left"] = max(0, int(task["phase_ends_at"]) - head)
        out.append(entry)
    return out


def submission_view(index: int, sub: dict[str, Any], task: dict[str, Any], final: bool,
                    counts: tuple[int, int] | None = None) -> dict[str, Any]:
    """A revealed (or only committed) update, with the consensus it has reached so far.

    ``accepts``/``rejects`` count verdicts: stored on a v1 chain, counted from the revealed
    votes (``counts``) on v2, where the chain keeps the stakes (``accept_stake``,
    ``reject_stake``) instead.
    """
    status = sub["status"]
    voted = int(task.get("vote_reveals", task.get("voters")) or 0)
    if final or status in ("Accepted", "Rejected", "Void"):
        outcome = status
    elif status == "Revealed" and voted:
        outcome = ("Accepted (pending)" if pending_accepted(task, sub)
                   else "Rejected (pending)")
    else:
        outcome = status
    accepts, rejects = counts if counts is not None else (int(sub.get("accepts") or 0),
                                                          int(sub.get("rejects") or 0))
    view: dict[str, Any] = {
        "index": index,
        "contributor": sub["contributor"],
        "cid": sub.get("cid"),
        "update_hash": sub.get("update_hash"),
        "num_examples": sub.get("num_examples"),
        "accepts": accepts,
        "rejects": rejects,
        "status": status,
        "outcome": outcome,
    }
    if "accept_stake" in sub:
        view["accept_stake"] = int(sub["accept_stake"] or 0)
        view["reject_stake"] = int(sub["reject_stake"] or 0)
    return view


def verdict_counts(votes: dict[str, list[dict[str, Any]]]) -> dict[int, tuple[int, int]]:
    """Accept and reject verdicts per submission among the (revealed) votes."""
    counts: dict[int, list[int]] = {}
    for verdicts in votes.values():
        for x in verdicts or []:
            c = counts.setdefault(int(x["submission"]), [0, 0])
            c[0 if x["accept"] else 1] += 1
    return {i: (a, r) for i, (a, r) in counts.items()}


def verdict_evidence(submissions: list[int], votes: dict[str, list[dict[str, Any]]],
                     stakes: dict[str, int]) -> tuple[dict[int, int], dict[str, set[int]]]:
    """The consensus probe of each submission and, per validator, the submissions on which
    its verdict is evidenced (its probe matches the consensus probe), by the pallet's rule
    as :func:`decentralml_client.protocol.consensus.consensus` mirrors it."""
    from decentralml_client.chain.api import verdict_tuple
    from decentralml_client.protocol.consensus import consensus

    records = {v: protocol.VoteRecord(int(stakes.get(v) or 0),
                                      [verdict_tuple(x) for x in verdicts or []])
               for v, verdicts in votes.items()}
    probes = consensus(submissions, records, PERMILL).probes
    evidenced = {v: {sub for sub, _, _, probe in rec.verdicts or ()
                     if sub in probes and protocol.evidenced(probe, probes[sub])}
                 for v, rec in records.items()}
    return probes, evidenced


def vote_matrix(submissions: dict[int, dict[str, Any]], votes: dict[str, list[dict[str, Any]]],
                validators: list[str], *, commits: set[str] | None = None,
                stakes: dict[str, int] | None = None, sealed: bool = False) -> dict[str, Any]:
    """Validators × updates: each cell is the validator's verdict and score, or None.

    On a v2 chain ``stakes`` is the round's electorate (validator → bond) and ``commits`` the
    validators that committed a sealed vote: each row then says whether its validator
    ``committed`` and with what ``stake``, each cell carries the verdict's ``probe`` (the
    evidence that the validator ran the update) and whether it is ``evidenced`` (matches the
    consensus probe: an unevidenced verdict earns nothing and counts as losing), and each
    tally the consensus ``probe``. While the votes are ``sealed`` (up to the VoteCommit
    phase) no verdict is shown, only who committed. ``tallies`` gives, per update, the
    verdict counts and the stake behind accept and reject (v2).
    """
    columns = sorted(submissions)
    shown = {} if sealed else votes
    names = list(dict.fromkeys([*validators, *(stakes or {}), *sorted(commits or ()),
                                *sorted(shown)]))
    probes: dict[int, int] = {}
    evidence: dict[str, set[int]] = {}
    if stakes is not None and shown:
        probes, evidence = verdict_evidence(columns, shown, stakes)
    rows = []
    for v in names:
        by_sub = {int(x["submission"]): x for x in shown.get(v) or []}
        cells: list[dict[str, Any] | None] = []
        for c in columns:
            x = by_sub.get(c)
            if x is None:
                cells.append(None)
                continue
            cell: dict[str, Any] = {"accept": bool(x["accept"]), "score": int(x["score"])}
            if stakes is not None:
                cell["probe"] = int(x.get("probe") or 0)
                cell["evidenced"] = c in evidence.get(v, set())
            cells.append(cell)
        row: dict[str, Any] = {"validator": v, "voted": v in shown, "verdicts": cells}
        if commits is not None:
            row["committed"] = v in commits
        if stakes is not None:
            row["stake"] = stakes.get(v)
        rows.append(row)
    counts = verdict_counts(shown)
    tallies = []
    for c in columns:
        sub = submissions[c]
        accepts, rejects = counts.get(c, (0, 0)) if stakes is not None else (
            int(sub.get("accepts") or 0), int(sub.get("rejects") or 0))
        tally: dict[str, Any] = {"submission": c, "accepts": accepts, "rejects": rejects}
        if "accept_stake" in sub:
            tally["accept_stake"] = 0 if sealed else int(sub["accept_stake"] or 0)
            tally["reject_stake"] = 0 if sealed else int(sub["reject_stake"] or 0)
        if c in probes and counts.get(c):
            tally["probe"] = probes[c]
        tallies.append(tally)
    out: dict[str, Any] = {"submissions": columns, "rows": rows, "tallies": tallies,
                           "sealed": sealed}
    if stakes is not None:
        out["electorate_stake"] = sum(int(b or 0) for b in stakes.values())
    return out


def round_view(task: dict[str, Any], r: int, summary: dict[str, Any] | None,
               head: int) -> dict[str, Any]:
    """One round in the timeline: finalised (with its summary), current, or to come."""
    current = int(task["round"])
    if summary is not None:
        state = "finalized"
    elif r == current and task["status"] == "Active":
        state = "current"
    elif r >= current and task["status"] == "Active":
        state = "pending"
    else:
        state = "not run"
    out: dict[str, Any] = {"round": r, "state": state}
    if summary is not None:
        out.update({
            "model_cid": summary["model_cid"],
            "model_hash": summary["model_hash"],
            "accepted": int(summary["accepted"]),
            "rejected": int(summary["rejected"]),
            "void": int(summary["void"]),
            "attested_score": int(summary["attested_score"]),
            "attested_accuracy": int(summary["attested_score"]) / 100.0,
            "contributor_rewards": int(summary["contributor_rewards"]),
            "validator_rewards": int(summary["validator_rewards"]),
            "retries": int(summary["retries"]),
            "finalized_at": int(summary["finalized_at"]),
        })
        if "slashed" in summary:
            out["slashed"] = int(summary["slashed"] or 0)
    elif state == "current":
        out.update({"phase": task["phase"], "phase_ends_at": int(task["phase_ends_at"]),
                    "blocks_left": max(0, int(task["phase_ends_at"]) - head),
                    "retries": int(task["retries"])})
    return out


def lineage(task: dict[str, Any], rounds: list[dict[str, Any]],
            accepted: dict[int, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Model versions: M_0 from the spec, then M_{r+1} adopted at the end of round r."""
    spec = task["spec"]
    out = [{"version": 0, "round": None, "model_cid": spec["model_cid"],
            "model_hash": spec["model_hash"], "updates": []}]
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


def quorum_text(task: dict[str, Any]) -> str:
    q = int(task["spec"]["quorum"]) / PERMILL
    if is_v2(task):
        least = int(task["spec"]["min_validators"])
        return f"{q:.0%} of the electorate's stake, at least {least} validators"
    return f"{q:.0%} of voters, at least {int(task['spec']['min_validators'])}"


def member_view(address: str, raw: Any) -> dict[str, Any]:
    """A task member: v2 ``MemberInfo {role, bond, from_round, leaving}`` or v1 role flags."""
    if isinstance(raw, dict) and "role" in raw:
        role = str(raw["role"])
        return {"address": address, "contributor": role == "Contributor",
                "validator": role == "Validator", "role": role,
                "bond": int(raw.get("bond") or 0), "from_round": int(raw.get("from_round") or 0),
                "leaving": bool(raw.get("leaving"))}
    flags = raw if isinstance(raw, dict) else {}
    return {"address": address, "contributor": bool(flags.get("contributor")),
            "validator": bool(flags.get("validator"))}


def participant_view(address: str, info: dict[str, Any],
                     balance: dict[str, int] | None) -> dict[str, Any]:
    """A registered participant: roles, stakes, reputation (0..1000, starts at 500)."""
    roles = [r for r, k in (("contributor", "contributor_stake"),
                            ("validator", "validator_stake")) if info.get(k) is not None]
    return {
        "address": address,
        "roles": roles,
        "contributor_stake": info.get("contributor_stake"),
        "validator_stake": info.get("validator_stake"),
        "stake": sum(int(info.get(k) or 0) for k in ("contributor_stake", "validator_stake")),
        "reputation": int(info["reputation"]),
        "contributor_tasks": int(info.get("contributor_tasks") or 0),
        "validator_tasks": int(info.get("validator_tasks") or 0),
        "x25519_public_key": info.get("x25519_key"),
        "balance": balance,
    }
