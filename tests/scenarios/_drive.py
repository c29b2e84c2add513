"""Drive a DecentralMl task through rounds with synthetic CIDs and hashes (no ML needed).

The dashboard only reads chain state, so each round here is the protocol's (v2) transactions
with made-up update and model files: two contributors bond and join (one update accepted by
both validators, one rejected by both), two validators with different bonds seal their votes
(commit) and then reveal them, one proposes the aggregate and both attest it, then anyone
finalises.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from decentralml_client.chain import UNIT, Chain, DecentralMl, PalletError, Role, TaskSpec
from decentralml_client.chain.api import account_id
from decentralml_client.chain.errors import Kind
from decentralml_client.dashboard._reader import SUBSTRATE_LOCK
from decentralml_client.keys import dev_account
from decentralml_client.keys.account import Account
from decentralml_client.protocol import update_commitment, vote_commitment


class Locked:
    """Calls ``target``'s methods under the dashboard's substrate lock.

    A test drives the chain from its own thread while the dashboard under test reads it from
    others; substrate-interface connections must not decode concurrently in one process.
    """

    def __init__(self, target: Any) -> None:
        self.target = target

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.target, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            with SUBSTRATE_LOCK:
                return value(*args, **kwargs)

        return call


@contextmanager
def locked_chain(url: str) -> Iterator[Any]:
    """A :class:`Chain` (wrapped in :class:`Locked`) for a test thread."""
    with SUBSTRATE_LOCK:
        chain = Chain(url)
    try:
        yield Locked(chain)
    finally:
        with SUBSTRATE_LOCK:
            chain.close()


def ensure_registered(dml: DecentralMl, who: Account, role: Role) -> None:
    """Register ``who`` unless an earlier test on the shared chain already did."""
    stake = (10 if role is Role.CONTRIBUTOR else 50) * UNIT
    try:
        dml.register(who.keypair, role, stake, who.x25519_public)
    except PalletError as exc:
        if exc.kind is not Kind.DONE:  # done: already registered
            raise


@dataclass
class DrivenTask:
    """A task with two contributors and two validators, and the rounds driven so far."""

    dml: Any  # DecentralMl, usually behind Locked
    task_id: int
    creator: Account
    contributors: list[Account]
    validators: list[Account]
    rounds_done: int = 0
    accepted_cids: dict[int, str] = field(default_factory=dict)

    CONTRIBUTOR_BOND = 1 * UNIT
    VALIDATOR_BONDS = (3 * UNIT, 2 * UNIT)  # different, so the stake tallies show it

    @classmethod
    def create(cls, dml: DecentralMl | Locked, rounds: int = 4) -> DrivenTask:
        creator = dev_account("alice")
        contributors = [dev_account("bob"), dev_account("eve")]
        validators = [dev_account("charlie"), dev_account("dave")]
        for c in contributors:
            ensure_registered(dml, c, Role.CONTRIBUTOR)
        for v in validators:
            ensure_registered(dml, v, Role.VALIDATOR)
        # Every seat taken ends enrolment at once: round 0 opens with the last join.
        spec = TaskSpec(model_cid="bafy-dashboard-m0", model_hash="0x" + "11" * 32,
                        rounds=rounds, min_contributors=1, max_contributors=2, max_validators=2,
                        min_validators=1, contributor_bond=cls.CONTRIBUTOR_BOND,
                        validator_bond=min(cls.VALIDATOR_BONDS), enrol_blocks=40,
                        commit_blocks=40, reveal_blocks=40, vote_blocks=40,
                        vote_reveal_blocks=40, attest_blocks=40)
        task_id = dml.create_task(creator.keypair, spec)
        for c in contributors:
            dml.join_task(c.keypair, task_id, Role.CONTRIBUTOR, cls.CONTRIBUTOR_BOND)
        for v, bond in zip(validators, cls.VALIDATOR_BONDS, strict=True):
            dml.join_task(v.keypair, task_id, Role.VALIDATOR, bond)
        return cls(dml, task_id, creator, contributors, validators)

    @staticmethod
    def score(r: int) -> int:
        """The attested accuracy (basis points) of the model adopted after round ``r``."""
        return 8000 + 450 * r

    def drive_round(self) -> int:
        """Run the current round to its end; return its index."""
        self.up_to_votes()
        return self.finish_round()

    def up_to_votes(self) -> None:
        """Commit and reveal both updates; both validators seal their votes, then open them."""
        dml, tid, r = self.dml, self.task_id, self.rounds_done
        attempt = dml.task(tid).retries
        secrets = {}
        for i, c in enumerate(self.contributors):
            h, salt, n = os.urandom(32), os.urandom(32), 100 * (i + 1)
            secrets[c.ss58_address] = (h, salt, n)
            dml.commit_update(c.keypair, tid, r, update_commitment(
                tid, r, attempt, account_id(c.ss58_address), h, n, salt))
        for c in self.contributors:
            h, salt, n = secrets[c.ss58_address]
            dml.reveal_update(c.keypair, tid, r, f"bafy-update-t{tid}-r{r}-{c.name}", h, n, salt)
        index = {s.contributor: i for i, s in dml.submissions(tid, r).items()}
        good = index[self.contributors[0].ss58_address]
        bad = index[self.contributors[1].ss58_address]
        votes = {}
        for j, v in enumerate(self.validators):
            verdicts = sorted([(good, True, self.score(r) + 20 * j, 4_000_000),
                               (bad, False, 1000 + 20 * j, 6_000_000)])
            salt = os.urandom(32)
            votes[v.ss58_address] = (verdicts, salt)
            dml.commit_vote(v.keypair, tid, r, vote_commitment(
                tid, r, attempt, account_id(v.ss58_address), verdicts, salt))
        for v in self.validators:
            verdicts, salt = votes[v.ss58_address]
            dml.reveal_vote(v.keypair, tid, r, verdicts, salt)

    def finish_round(self) -> int:
        """Attest an aggregate by every validator (the first attestation proposes it; the last
        finalises the round in its block); return the round's index."""
        dml, tid, r = self.dml, self.task_id, self.rounds_done
        model_hash, model_cid = os.urandom(32), f"bafy-model-t{tid}-m{r + 1}"
        for j, v in enumerate(self.validators):
            # Scores symmetric around score(r): the attested (mean) score is exactly score(r).
            dml.attest_aggregate(v.keypair, tid, r, model_cid, model_hash,
                                 self.score(r) + (50 if j else -50))
        assert dml.task(tid).round == r + 1 or dml.task(tid).status != "Active"
        self.accepted_cids[r] = f"bafy-update-t{tid}-r{r}-{self.contributors[0].name}"
        self.rounds_done += 1
        return r


class TaskDriver:
    """The tests' handle on a :class:`DrivenTask` whose transactions run in a child process.

    The dashboard under test reads the chain from threads of the test process, and
    substrate-interface connections share scalecodec's decoder classes across a process; so
    that the dashboard's connections are the only ones decoding there, every transaction is
    sent by a child ``python -m tests.scenarios._drive``, as a real contributor would from
    its own process.
    """

    score = staticmethod(DrivenTask.score)

    def __init__(self, url: str, task_id: int, rounds_done: int = 0) -> None:
        self.url = url
        self.task_id = task_id
        self.rounds_done = rounds_done
        self.accepted_cids: dict[int, str] = {}
        self.creator = dev_account("alice")
        self.contributors = [dev_account("bob"), dev_account("eve")]
        self.validators = [dev_account("charlie"), dev_account("dave")]

    @staticmethod
    def _run(*args: str) -> str:
        import subprocess
        import sys

        from decentralml_client.config import REPO_ROOT

        done = subprocess.run([sys.executable, "-m", "tests.scenarios._drive", *args],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
                              check=False)
        if done.returncode != 0:
            raise RuntimeError(f"driver {args} failed:\n{done.stdout}\n{done.stderr[-4000:]}")
        return done.stdout.strip().splitlines()[-1]

    @classmethod
    def create(cls, url: str, rounds: int = 4, drive: int = 0) -> TaskDriver:
        """Create the task and drive its first ``drive`` rounds (in one child process)."""
        task = cls(url, int(cls._run(url, "create", str(rounds), str(drive))))
        for r in range(drive):
            task.accepted_cids[r] = f"bafy-update-t{task.task_id}-r{r}-bob"
        task.rounds_done = drive
        return task

    def up_to_votes(self) -> None:
        self._run(self.url, "up_to_votes", str(self.task_id), str(self.rounds_done))

    def finish_round(self) -> int:
        r = self.rounds_done
        self._run(self.url, "finish_round", str(self.task_id), str(r))
        self.accepted_cids[r] = f"bafy-update-t{self.task_id}-r{r}-{self.contributors[0].name}"
        self.rounds_done += 1
        return r

    def drive_round(self) -> int:
        r = self.rounds_done
        self._run(self.url, "drive_round", str(self.task_id), str(r))
        self.accepted_cids[r] = f"bafy-update-t{self.task_id}-r{r}-{self.contributors[0].name}"
        self.rounds_done += 1
        return r


def main(argv: list[str]) -> None:
    url, step, *rest = argv
    with Chain(url) as chain:
        dml = DecentralMl(chain)
        if step == "create":
            created = DrivenTask.create(dml, rounds=int(rest[0]))
            for _ in range(int(rest[1])):
                created.drive_round()
            print(created.task_id)
            return
        task_id, round_ = int(rest[0]), int(rest[1])
        task = DrivenTask(dml, task_id, dev_account("alice"),
                          [dev_account("bob"), dev_account("eve")],
                          [dev_account("charlie"), dev_account("dave")], rounds_done=round_)
        getattr(task, step)()
        print("ok")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
