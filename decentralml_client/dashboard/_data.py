"""What each page and API endpoint shows, read through the cached :class:`Reader`."""

from __future__ import annotations

from typing import Any

from decentralml_client.chain.api import is_ss58_address
from decentralml_client.chain.records import (
    Hash,
    Member,
    Payments,
    Proposal,
    Round,
    Submission,
    Task,
    Vote,
)
from decentralml_client.dashboard import _views as views
from decentralml_client.dashboard._reader import Reader
from decentralml_client.errors import DecentralMLError
from decentralml_client.roles.lineage import LineageError, lineage_report

# How many of the most recent tasks a participant's history looks through.
HISTORY_TASKS = 200


class NotFound(DecentralMLError, LookupError):
    """The task, round or participant does not exist (HTTP 404)."""

    hint = "check the id or address; the tasks page lists what exists."


class BadRequest(DecentralMLError, ValueError):
    """The request names something malformed, e.g. an invalid address (HTTP 400)."""

    hint = "fix the address or number in the URL."


def valid_address(address: str) -> str:
    if not is_ss58_address(address):
        raise BadRequest(f"{address!r} is not an SS58 account address")
    return address


class DashboardData:
    """Chain reads assembled into views; every read goes through the reader's cache."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader

    # -- primitive cached reads --------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        return self.reader.read(("head",), lambda d: d.chain.head(), ttl=1.0)

    def task_count(self) -> int:
        return int(self.reader.read(("NextTaskId",),
                                    lambda d: d.chain.query("NextTaskId") or 0))

    def task(self, task_id: int) -> Task:
        t = self.reader.read(("task", task_id), lambda d: d.task(task_id),
                             final=lambda v: v is not None and not v.active)
        if t is None:
            raise NotFound(f"no task {task_id} on this chain")
        return t

    def summary(self, task_id: int, r: int) -> Round | None:
        return self.reader.read(("summary", task_id, r), lambda d: d.round_summary(task_id, r),
                                final=lambda v: v is not None)

    def _final_round(self, task_id: int, r: int) -> bool:
        return self.summary(task_id, r) is not None

    def submissions(self, task_id: int, r: int) -> dict[int, Submission]:
        fin = self._final_round(task_id, r)
        return self.reader.read(("subs", task_id, r), lambda d: d.submissions(task_id, r),
                                final=lambda v: fin)

    def votes(self, task_id: int, r: int) -> dict[str, Vote]:
        fin = self._final_round(task_id, r)
        return self.reader.read(("votes", task_id, r), lambda d: d.votes(task_id, r),
                                final=lambda v: fin)

    def proposals(self, task_id: int, r: int) -> list[Proposal]:
        fin = self._final_round(task_id, r)
        return self.reader.read(("proposals", task_id, r), lambda d: d.proposals(task_id, r),
                                final=lambda v: fin)

    def members(self, task_id: int) -> dict[str, Member]:
        return self.reader.read(("members", task_id), lambda d: d.members(task_id))

    def vote_commits(self, task_id: int, r: int) -> set[str]:
        """Validators that committed a sealed vote in round ``r`` (``VoteCommits``)."""
        fin = self._final_round(task_id, r)
        commits: dict[str, Hash] = self.reader.read(
            ("vote_commits", task_id, r), lambda d: d.vote_commits(task_id, r),
            final=lambda v: fin)
        return set(commits)

    def electorate(self, task_id: int, r: int) -> dict[str, int]:
        """Round ``r``'s electorate, validator → bond (the ``Electorate`` snapshot)."""
        fin = self._final_round(task_id, r)
        return self.reader.read(("electorate", task_id, r), lambda d: d.electorate(task_id, r),
                                final=lambda v: fin)

    def member_views(self, task_id: int) -> list[dict[str, Any]]:
        """The task's members, with their bonds."""
        return [views.member_view(m) for _, m in sorted(self.members(task_id).items())]

    # -- views ------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Connection state and chain head; never raises."""
        try:
            number, block_hash = self.head()
            return {"connected": True, "url": self.reader.url, "head": number,
                    "head_hash": block_hash, "error": None}
        except Exception as exc:  # health must answer whatever happens
            return {"connected": False, "url": self.reader.url, "head": None,
                    "head_hash": None, "error": str(exc)}

    def tasks_page(self, page: int, per_page: int) -> dict[str, Any]:
        head, _ = self.head()
        ids, meta = views.paginate(self.task_count(), page, per_page)
        rows = []
        for tid in ids:
            try:
                rows.append(views.task_summary(tid, self.task(tid), head))
            except NotFound:
                continue
        return {"head": head, **meta, "tasks": rows}

    def rounds(self, task_id: int) -> list[dict[str, Any]]:
        task = self.task(task_id)
        head, _ = self.head()
        out = []
        for r in range(task.spec.rounds):
            summary = self.summary(task_id, r) if r <= task.round else None
            view = views.round_view(task, r, summary, head)
            if summary is not None:  # its loss decrease and where to download its model
                subs = [{"index": i, "status": sub.status}
                        for i, sub in self.submissions(task_id, r).items()]
                view["loss_decrease"] = views.loss_decrease(
                    task, subs, self.votes(task_id, r), self.electorate(task_id, r))
                view["model_url"] = f"/tasks/{task_id}/rounds/{r}/model"
            out.append(view)
        return out

    def round_detail(self, task_id: int, r: int) -> dict[str, Any]:
        task = self.task(task_id)
        if not 0 <= r <= task.round:
            raise NotFound(f"task {task_id} has no round {r} yet (current: {task.round})")
        final = self._final_round(task_id, r)
        subs = self.submissions(task_id, r)
        sealed = views.votes_sealed(task, r)
        votes = {} if sealed else self.votes(task_id, r)
        members = self.member_views(task_id)
        validators = sorted(m["address"] for m in members if m["validator"])
        stakes = self.electorate(task_id, r)
        counts = views.verdict_counts(votes)
        matrix = views.vote_matrix(subs, votes, sorted(stakes) or validators,
                                   commits=self.vote_commits(task_id, r), stakes=stakes,
                                   sealed=sealed)
        submissions = [views.submission_view(i, s, task, final, counts.get(i, (0, 0)))
                       for i, s in sorted(subs.items())]
        return {
            "round": r,
            "finalized": final,
            "submissions": submissions,
            "vote_matrix": matrix,
            "proposals": [p.as_json() for p in self.proposals(task_id, r)],
        }

    def task_detail(self, task_id: int, selected: int | None = None) -> dict[str, Any]:
        task = self.task(task_id)
        head, _ = self.head()
        rounds = self.rounds(task_id)
        r = task.round if selected is None else selected
        if selected is None and not self.submissions(task_id, r):
            # Nothing committed in the current round yet: show the latest finalised round.
            r = max((rv["round"] for rv in rounds if rv["state"] == "finalized"), default=r)
        detail = self.round_detail(task_id, r)
        details = {rv["round"]: self.round_detail(task_id, rv["round"])
                   for rv in rounds if rv["state"] == "finalized"}
        accepted = {i: [s for s in d["submissions"] if s["status"] == "Accepted"]
                    for i, d in details.items()}
        finalised = []
        for rv in rounds:
            if rv["round"] not in details:
                continue
            d = details[rv["round"]]
            pay = self.round_payments(task_id, rv["round"], int(rv["finalized_at"]))
            finalised.append({
                "round": rv["round"], "paid": pay.paid, "slashed": pay.slashed,
                "agreement": views.validator_agreement(d["vote_matrix"], d["submissions"]),
                "contributors": {s["contributor"] for s in d["submissions"]},
                "electorate": self.electorate(task_id, rv["round"]),
            })
        members = self.member_views(task_id)
        accounts = views.accounts(members, finalised)
        summary = views.task_summary(task_id, task, head)
        if not task.active:  # the pallet releases the seats when a task ends
            summary["num_contributors"] = sum(a["role"] == "Contributor" for a in accounts)
            summary["num_validators"] = sum(a["role"] == "Validator" for a in accounts)
        return {
            "task": summary,
            "spec": task.spec.as_json(),
            "quorum": views.quorum_text(task),
            "committees": views.committees_text(task),
            "head": head,
            "phases": views.phase_timeline(task, head),
            "enrol_wait": views.enrol_wait(task, head),
            "rounds": rounds,
            "selected_round": detail,
            "lineage": views.lineage(task, rounds, accepted),
            "members": members,
            "accounts": accounts,
            "rewards": views.rewards(task, rounds),
        }

    def round_payments(self, task_id: int, r: int, block: int) -> Payments:
        """What finalising round ``r`` (in ``block``) paid and slashed, per account, from
        that block's events; a finalised round's payments never change."""
        return self.reader.read(("payments", task_id, r),
                                lambda d: d.payments(task_id, block, block),
                                final=lambda v: True)

    def lineage(self, task_id: int, r: int) -> dict[str, Any]:
        """Where round ``r``'s model comes from, checked (``roles/lineage.py``, one copy for
        the CLI and the dashboard). A finalised round's lineage never changes."""
        self.task(task_id)

        def read(dml: Any) -> dict[str, Any]:
            try:
                return lineage_report(dml, task_id, r)[1]
            except LineageError as exc:
                raise NotFound(str(exc)) from None

        return self.reader.read(("lineage", task_id, r), read, final=lambda v: True)

    def participants(self) -> list[dict[str, Any]]:
        raw = self.reader.read(("participants",), lambda d: d.participants())
        bonds = self.active_bonds()
        out = []
        for address, info in raw.items():
            view = views.participant_view(info, None)
            view["bonded"] = bonds.get(address, 0)
            out.append(view)
        return sorted(out, key=lambda p: (-p["reputation"], p["address"]))

    def active_bonds(self) -> dict[str, int]:
        """Each account's bonds held in the active tasks among the most recent ones.

        Costs a ``Members`` read per active task.
        """
        total = self.task_count()
        bonds: dict[str, int] = {}
        for tid in range(total - 1, max(-1, total - 1 - HISTORY_TASKS), -1):
            try:
                task = self.task(tid)
            except NotFound:
                continue
            if not task.active:
                continue
            for m in self.member_views(tid):
                bonds[m["address"]] = bonds.get(m["address"], 0) + int(m.get("bond") or 0)
        return bonds

    def participant(self, address: str) -> dict[str, Any]:
        valid_address(address)
        info = self.reader.read(("participant", address), lambda d: d.participant(address))
        if info is None:
            raise NotFound(f"{address} is not a registered participant")
        balance = self.reader.read(("account", address), lambda d: d.chain.account(address))
        view = views.participant_view(info, balance)
        view["history"] = self.history(address)
        bonds = [h["bond"] for h in view["history"] if "bond" in h and h["status"] == "Active"]
        if bonds:
            view["bonded"] = sum(bonds)
        return view

    def history(self, address: str) -> list[dict[str, Any]]:
        """The participant's part in the most recent tasks: roles, updates and votes per round."""
        out = []
        total = self.task_count()
        for tid in range(total - 1, max(-1, total - 1 - HISTORY_TASKS), -1):
            try:
                task = self.task(tid)
            except NotFound:
                continue
            member = next((m for m in self.member_views(tid) if m["address"] == address),
                          None)
            entries = []
            for r in range(task.round + 1):
                subs = [views.submission_view(i, s, task, self._final_round(tid, r))
                        for i, s in self.submissions(tid, r).items()
                        if s.contributor == address]
                vote = self.votes(tid, r).get(address)
                summary = self.summary(tid, r)
                if subs or vote:
                    entries.append({
                        "round": r,
                        "updates": [{"index": s["index"], "cid": s["cid"],
                                     "outcome": s["outcome"]} for s in subs],
                        "verdicts": len(vote.verdicts) if vote else 0,
                        "finalized": summary is not None,
                    })
            if member or entries or task.creator == address:
                item: dict[str, Any] = {
                    "task": tid,
                    "status": task.status,
                    "creator": task.creator == address,
                    "contributor": bool(member and member["contributor"])
                    or any(e["updates"] for e in entries),
                    "validator": bool(member and member["validator"])
                    or any(e["verdicts"] for e in entries),
                    "rounds": entries,
                }
                if member is not None:
                    item.update(bond=member["bond"], leaving=member["leaving"],
                                from_round=member["from_round"])
                item["task_slashed"] = task.slashed
                out.append(item)
        return out
