"""An in-memory stand-in for :class:`~decentralml_client.chain.Chain` (reads only).

It answers the storage reads :class:`~decentralml_client.chain.DecentralMl` makes, from
plain dicts shaped like the decoded pallet storage, and counts them; ``down`` makes every
read fail as a dead websocket would. :func:`app_for` serves the dashboard over one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.testclient import TestClient

from decentralml_client.chain import Event
from decentralml_client.chain.errors import ConnectionLost
from decentralml_client.config import Settings
from decentralml_client.dashboard.app import create_app

ALICE = "5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu"
BOB = "5GoNkf6WdbxCFnPdAnYYQyCjAKPJgLNxXwPjwTh6DGg6gN3E"
CHARLIE = "5DbKjhNLpqX3zqZdNBc9BGb4fHU1cRBaDhJUskrvkwfraDi6"
DAVE = "5ECTwv6cZ5nJQPk6tWfaTrEk8YH2L7X1VT4EL5Tx2ikfFwb7"


def make_task(task_id: int, *, rounds: int = 3, round_: int = 0, status: str = "Active",
              phase: str = "Commit", phase_ends_at: int = 50,
              electorate_stake: int = 0) -> dict[str, Any]:
    """A task as the runtime stores it (sealed votes, bonds, slashing)."""
    return {
        "creator": ALICE,
        "spec": {"model_cid": f"bafy-m0-{task_id}", "model_hash": "0x" + "11" * 32,
                 "rounds": rounds, "min_contributors": 1, "max_contributors": 4,
                 "quorum": 666667, "min_validators": 1, "reward_per_round": 100 * 10**12,
                 "validator_share": 200000, "rule": "FedAvg", "max_examples": 10000,
                 "commit_blocks": 10, "reveal_blocks": 10, "vote_blocks": 10,
                 "attest_blocks": 10, "max_retries": 2, "private": False,
                 "max_idle_rounds": 2, "min_improvement": 0, "contributor_bond": 10**12,
                 "validator_bond": 10 * 10**12, "admission": "Open", "enrol_blocks": 10,
                 "vote_reveal_blocks": 10},
        "status": status, "round": round_, "phase": phase, "phase_ends_at": phase_ends_at,
        "retries": 0, "model_cid": f"bafy-m0-{task_id}", "model_hash": "0x" + "11" * 32,
        "escrow": rounds * 100 * 10**12, "paid": 0, "num_contributors": 1,
        "num_validators": 2, "revealed": 0, "adopted": None,
        "created_at": task_id + 1, "electorate_stake": electorate_stake, "electorate_size": 0,
        "vote_commits": 0, "vote_reveals": 0, "attesters": 0, "cancel_requested": False,
        "deposit": 10**12, "slashed": 0,
    }


def make_task_v2(task_id: int, *, rounds: int = 3, round_: int = 0, status: str = "Active",
                 phase: str = "VoteCommit", phase_ends_at: int = 50,
                 electorate_stake: int = 0) -> dict[str, Any]:
    """A task in its vote-commit phase by default."""
    return make_task(task_id, rounds=rounds, round_=round_, status=status, phase=phase,
                     phase_ends_at=phase_ends_at, electorate_stake=electorate_stake)


def member_v2(role: str, bond: int, from_round: int = 0, leaving: bool = False
              ) -> dict[str, Any]:
    return {"role": role, "bond": bond, "from_round": from_round, "leaving": leaving}


class FakeChain:
    def __init__(self, n_tasks: int = 0, head: int = 40) -> None:
        self.head_number = head
        self.tasks: dict[int, dict[str, Any]] = {i: make_task(i) for i in range(n_tasks)}
        self.summaries: dict[tuple[int, int], dict[str, Any]] = {}
        self.submissions: dict[tuple[int, int], dict[int, dict[str, Any]]] = {}
        self.votes: dict[tuple[int, int], dict[str, list[dict[str, Any]]]] = {}
        self.members: dict[int, dict[str, dict[str, Any]]] = {}
        self.participants: dict[str, dict[str, Any]] = {}
        self.vote_commits: dict[tuple[int, int], dict[str, str]] = {}
        self.electorate: dict[tuple[int, int], list[tuple[str, int]]] = {}
        self.attestations: dict[tuple[int, int], dict[str, tuple[str, int]]] = {}
        self.proposals: dict[tuple[int, int], list[dict[str, Any]]] = {}
        # block -> (pallet, event name, attributes): RewardPaid / Slashed of finalisations
        self.events: dict[int, list[tuple[str, str, dict[str, Any]]]] = {}
        self.down = False
        self.calls = 0
        self.closed = False

    def _call(self) -> None:
        if self.down:
            raise ConnectionLost("Connection refused")
        self.calls += 1

    def head(self) -> tuple[int, str]:
        self._call()
        return self.head_number, "0x" + f"{self.head_number:064x}"

    def query(self, storage: str, params: list[Any] | None = None, pallet: str = "DecentralMl",
              block_hash: str | None = None) -> Any:
        self._call()
        p = params or []
        if storage == "NextTaskId":
            return len(self.tasks)
        if storage == "Tasks":
            return self.tasks.get(p[0])
        if storage == "RoundSummaries":
            return self.summaries.get(tuple(p[0]))
        if storage == "Proposals":
            return self.proposals.get(tuple(p[0]), [])
        if storage == "Participants":
            return self.participants.get(p[0])
        if storage == "Electorate":
            return self.electorate.get(tuple(p[0]))
        raise KeyError(storage)

    def query_map(self, storage: str, params: list[Any] | None = None,
                  pallet: str = "DecentralMl", **_: Any) -> list[tuple[Any, Any]]:
        self._call()
        p = params or []
        if storage == "Members":
            return list(self.members.get(p[0], {}).items())
        if storage == "Submissions":
            return list(self.submissions.get(tuple(p[0]), {}).items())
        if storage == "Votes":
            return list(self.votes.get(tuple(p[0]), {}).items())
        if storage == "Participants":
            return list(self.participants.items())
        if storage == "VoteCommits":
            return list(self.vote_commits.get(tuple(p[0]), {}).items())
        if storage == "Attestations":
            return list(self.attestations.get(tuple(p[0]), {}).items())
        raise KeyError(storage)

    def events_between(self, first: int, last: int | None = None
                       ) -> Iterator[tuple[int, list[Event]]]:
        self._call()
        end = self.head_number if last is None else last
        for block in range(first, end + 1):
            yield block, [Event(pallet, name, attrs)
                          for pallet, name, attrs in self.events.get(block, [])]

    def account(self, address: str) -> dict[str, int]:
        self._call()
        return {"free": 5 * 10**15, "reserved": 10**13, "frozen": 0}

    def close(self) -> None:
        self.closed = True


def app_for(fake: FakeChain, **kw: object) -> TestClient:
    def factory(url: str) -> FakeChain:
        if fake.down:
            raise ConnectionRefusedError(111, "Connection refused")
        return fake

    app = create_app(Settings(node_url="ws://fake:9944"), follow=False, retry_every=0.0,
                     factory=factory, **kw)  # type: ignore[arg-type]
    return TestClient(app)


def finished_round(fake: FakeChain, tid: int, r: int, score: int) -> None:
    """Round ``r`` of task ``tid``: BOB's update accepted, DAVE's... rejected by both."""
    fake.submissions[(tid, r)] = {
        0: {"contributor": BOB, "commitment": "0x" + "00" * 32, "cid": f"bafy-u-{r}-0",
            "update_hash": "0x" + "aa" * 32, "num_examples": 100, "accept_stake": 20 * 10**12,
            "reject_stake": 0, "status": "Accepted"},
        1: {"contributor": ALICE, "commitment": "0x" + "00" * 32, "cid": f"bafy-u-{r}-1",
            "update_hash": "0x" + "bb" * 32, "num_examples": 50, "accept_stake": 0,
            "reject_stake": 10 * 10**12, "status": "Rejected"},
    }
    fake.votes[(tid, r)] = {
        CHARLIE: [{"submission": 0, "accept": True, "score": score},
                  {"submission": 1, "accept": False, "score": 1200}],
        DAVE: [{"submission": 0, "accept": True, "score": score + 10},
               {"submission": 1, "accept": False, "score": 1100}],
    }
    fake.summaries[(tid, r)] = {
        "model_cid": f"bafy-m{r + 1}", "model_hash": "0x" + f"{r + 1:02x}" * 32,
        "accepted": 1, "rejected": 1, "void": 0, "attested_score": score,
        "contributor_rewards": 80 * 10**12, "validator_rewards": 20 * 10**12,
        "retries": 0, "finalized_at": 10 * (r + 1)}
