"""Pure functions that turn raw pallet storage into what the dashboard shows.

No I/O here: every function takes the decoded storage values (as returned by
:class:`~decentralml_client.chain.DecentralMl`) and returns plain JSON-ready dicts, so the
logic is tested without a chain and the HTML and JSON views cannot disagree.
"""

from __future__ import annotations

import math
from typing import Any

from decentralml_client.chain.api import PERMILL, is_accepted

PHASES = ("Commit", "Reveal", "Vote", "Aggregate")
_LENGTH = {"Commit": "commit_blocks", "Reveal": "reveal_blocks", "Vote": "vote_blocks",
           "Aggregate": "attest_blocks"}
MAX_PER_PAGE = 200


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
    }


def phase_timeline(task: dict[str, Any], head: int) -> list[dict[str, Any]]:
    """The four phases of the current round: done, current (with blocks left) or to come."""
    current = task["phase"] if task["status"] == "Active" else None
    idx = PHASES.index(current) if current in PHASES else len(PHASES)
    out = []
    for i, name in enumerate(PHASES):
        state = "done" if i < idx else ("current" if i == idx else "next")
        entry: dict[str, Any] = {"phase": name, "state": state,
                                 "length": int(task["spec"][_LENGTH[name]])}
        if state == "current":
            entry["ends_at"] = int(task["phase_ends_at"])
            entry["blocks_left"] = max(0, int(task["phase_ends_at"]) - head)
        out.append(entry)
    return out


def submission_view(index: int, sub: dict[str, Any], task: dict[str, Any],
                    final: bool) -> dict[str, Any]:
    """A revealed (or only committed) update, with the consensus it has reached so far."""
    status = sub["status"]
    if final or status in ("Accepted", "Rejected", "Void"):
        outcome = status
    elif status == "Revealed" and int(task["voters"]):
        outcome = "Accepted (pending)" if is_accepted(task, sub) else "Rejected (pending)"
    else:
        outcome = status
    return {
        "index": index,
        "contributor": sub["contributor"],
        "cid": sub.get("cid"),
        "update_hash": sub.get("update_hash"),
        "num_examples": sub.get("num_examples"),
        "accepts": int(sub.get("accepts") or 0),
        "rejects": int(sub.get("rejects") or 0),
        "status": status,
        "outcome": outcome,
    }


def vote_matrix(submissions: dict[int, dict[str, Any]], votes: dict[str, list[dict[str, Any]]],
                validators: list[str]) -> dict[str, Any]:
    """Validators × updates: each cell is the validator's verdict and score, or None."""
    columns = sorted(submissions)
    names = list(dict.fromkeys([*validators, *sorted(votes)]))
    rows = []
    for v in names:
        by_sub = {int(x["submission"]): x for x in votes.get(v) or []}
        cells = []
        for c in columns:
            x = by_sub.get(c)
            cells.append(None if x is None else
                         {"accept": bool(x["accept"]), "score": int(x["score"])})
        rows.append({"validator": v, "voted": v in votes, "verdicts": cells})
    return {"submissions": columns, "rows": rows}


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
    return f"{q:.0%} of voters, at least {int(task['spec']['min_validators'])}"


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
