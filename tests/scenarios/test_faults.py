"""Crashes lose nothing: a contributor and the Kubo daemon are killed in the middle of a
round, after the contributor committed and before it revealed; both restart, the contributor
reveals from its journal, and its update is accepted and paid exactly once."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from decentralml_client.chain import UNIT, Chain, DecentralMl, Role, TaskSpec, permill
from decentralml_client.demo_run import DemoRun, Participant, spawn_role, stop_roles
from decentralml_client.keys import KdfLimits, Keystore, dev_account
from decentralml_client.ml.model_spec import default_digits_spec
from decentralml_client.roles.common import RoleContext
from decentralml_client.roles.creator import create_task
from decentralml_client.roles.lineage import read_lineage
from decentralml_client.services.kubo import KuboDaemon
from decentralml_client.storage import IpfsStore

pytestmark = pytest.mark.integration

PASSWORD = "fault-test-password"


def _wait(what: str, cond, timeout: float = 300.0, procs: list[Participant] = ()):  # noqa: ANN001
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        for p in procs:
            if p.proc is not None and p.proc.poll() not in (None, 0, -9):
                raise AssertionError(f"{p.name} died: {p.log.read_text()[-2000:]}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _journal(run: DemoRun, p: Participant, task_id: int) -> dict:
    name = f"contributor-{p.account.ss58_address}-task{task_id}.json"
    path = run.workdir / p.name / "journal" / name
    return json.loads(path.read_text())["rounds"] if path.is_file() else {}


def _people(tmp_path: Path, validators: int = 1) -> tuple[dict[str, Participant], Participant]:
    """Two contributors, ``validators`` validators and an aggregator (it only finalises at
    deadlines), each with a key of its own."""
    ks = Keystore(tmp_path / "keys", kdf_limits=KdfLimits.minimum())
    people = {}
    names = [("c1", "contributor"), ("c2", "contributor")]
    names += [(f"v{i + 1}", "validator") for i in range(validators)]
    for name, role in names:
        ks.create(name, PASSWORD)
        people[name] = Participant(name, role, ks.load(name, PASSWORD))
    ks.create("agg", PASSWORD)
    return people, Participant("agg", "aggregator", ks.load("agg", PASSWORD))


def _one_round_task(chain: Chain, dml: DecentralMl, ipfs_api: str,
                    people: dict[str, Participant], tmp_path: Path,
                    vote_blocks: int = 500, min_validators: int | None = None,
                    aggregator: Participant | None = None) -> int:
    """Fund and register ``people``, create a one-round task for two contributors and the
    validators among them (long phases: the roles move it on; ``vote_blocks`` for the vote
    commit and attestation phases; ``min_validators`` default: every seat), and have them
    join it; the ``aggregator`` is funded for its fees."""
    alice = dev_account("alice")
    chain.submit_many(alice.keypair, [
        ("Balances", "transfer_keep_alive", {"dest": p.account.ss58_address,
                                             "value": 1000 * UNIT})
        for p in [*people.values(), *([aggregator] if aggregator else [])]])
    for p in people.values():
        dml.register(p.account.keypair, Role(p.role.capitalize()),
                     int(chain.constant("MinContributorStake" if p.role == "contributor"
                                        else "MinValidatorStake")),
                     p.account.x25519_public)
    ctx = RoleContext(chain=chain, store=IpfsStore(ipfs_api), account=alice,
                      data_dir=tmp_path / "creator")
    seats = sum(p.role == "validator" for p in people.values())
    spec = TaskSpec(model_cid="", model_hash="", rounds=1, min_contributors=2,
                    max_contributors=2, max_validators=seats, quorum=permill(2 / 3),
                    min_validators=min_validators or seats, reward_per_round=50 * UNIT,
                    enrol_blocks=500,
                    commit_blocks=500, reveal_blocks=500, vote_blocks=vote_blocks,
                    vote_reveal_blocks=500, attest_blocks=vote_blocks)
    task_id = create_task(ctx, default_digits_spec(), spec)
    for p in people.values():
        dml.join_task(p.account.keypair, task_id, Role(p.role.capitalize()),
                      spec.contributor_bond if p.role == "contributor" else spec.validator_bond)
    return task_id


def test_killing_a_contributor_and_kubo_mid_round_loses_nothing(devnet, kubo_factory,
                                                                 tmp_path: Path) -> None:
    ipfs = kubo_factory(tmp_path / "ipfs").start()
    run = DemoRun(chain_url=devnet.url, ipfs_api=ipfs.api_multiaddr, workdir=tmp_path)
    people, aggregator = _people(tmp_path)
    procs = [people["c1"], people["v1"], aggregator]
    try:
        with Chain(devnet.url) as chain:
            dml = DecentralMl(chain)
            task_id = _one_round_task(chain, dml, ipfs.api_multiaddr, people, tmp_path,
                                      aggregator=aggregator)
            c1_before = chain.free_balance(people["c1"].account.ss58_address)

            spawn_role(run, people["c1"], ["contribute", "--task", str(task_id),
                                           "--digits-shard", "0/2"], PASSWORD)
            spawn_role(run, people["v1"], ["validate", "--task", str(task_id),
                                           "--digits-holdout", "0/1"], PASSWORD)
            spawn_role(run, aggregator, ["aggregate", "--task", str(task_id)], PASSWORD)
            _wait("c1 to commit", lambda: _journal(run, people["c1"], task_id)
                  .get("0.0", {}).get("committed"), procs=procs)
            assert dml.task(task_id).phase == "Commit"  # c2 has not committed yet

            os.killpg(people["c1"].proc.pid, signal.SIGKILL)
            people["c1"].proc.wait()
            ipfs.kill()
            ipfs.start()

            procs.append(people["c2"])
            spawn_role(run, people["c2"], ["contribute", "--task", str(task_id),
                                           "--digits-shard", "1/2"], PASSWORD)
            _wait("the reveal phase", lambda: dml.task(task_id).phase != "Commit", procs=procs)
            spawn_role(run, people["c1"], ["contribute", "--task", str(task_id),
                                           "--digits-shard", "0/2"], PASSWORD)
            _wait("the task to finish", lambda: dml.task(task_id).status == "Finished",
                  timeout=600, procs=procs)

            subs = dml.submissions(task_id, 0)
            assert sorted(s.contributor for s in subs.values()) == sorted(
                [people["c1"].account.ss58_address, people["c2"].account.ss58_address])
            assert all(s.status == "Accepted" for s in subs.values())
            summary = dml.round_summary(task_id, 0)
            assert summary.accepted == 2
            assert chain.free_balance(people["c1"].account.ss58_address) > c1_before
            entry = _journal(run, people["c1"], task_id)["0.0"]
            assert entry["committed"] and entry["revealed"]
    finally:
        stop_roles(procs)


def _start_round(run: DemoRun, people: dict[str, Participant], aggregator: Participant,
                 task_id: int, validators: dict[str, list[str]]) -> None:
    """Spawn the validators (name → extra arguments), the aggregator and both contributors."""
    for name, extra in validators.items():
        spawn_role(run, people[name], ["validate", "--task", str(task_id), *extra], PASSWORD)
    spawn_role(run, aggregator, ["aggregate", "--task", str(task_id)], PASSWORD)
    for i, c in enumerate(("c1", "c2")):
        spawn_role(run, people[c], ["contribute", "--task", str(task_id),
                                    "--digits-shard", f"{i}/2"], PASSWORD)


def _outage_in_the_vote(run: DemoRun, dml: DecentralMl, task_id: int,
                        people: dict[str, Participant], procs: list[Participant],
                        daemon: KuboDaemon, victim: str, restart: Callable[[], None]) -> None:
    """Once both updates are committed (so in a daemon's repo), kill ``daemon``; the reveals
    (chain only) open the vote while it is down; once ``victim`` has met the outage,
    ``restart`` it; wait for the task to finish."""
    for c in ("c1", "c2"):
        _wait(f"{c} to commit", lambda c=c: _journal(run, people[c], task_id)
              .get("0.0", {}).get("committed"), procs=procs)
    daemon.kill()
    _wait("the vote to open", lambda: dml.task(task_id).phase == "VoteCommit", procs=procs)
    log = people[victim].log
    _wait(f"{victim} to meet the outage",
          lambda: log is not None and log.is_file()
          and "storage unavailable" in log.read_text(errors="replace"), procs=procs)
    restart()
    _wait("the task to finish", lambda: dml.task(task_id).status == "Finished",
          timeout=600, procs=procs)


def _first_attempt_paid(dml: DecentralMl, task_id: int, first_block: int,
                        paid: list[Participant], slashed: set[str]) -> None:
    """Both updates accepted in the round's first attempt, ``paid`` paid, exactly the
    ``slashed`` accounts slashed."""
    summary = dml.round_summary(task_id, 0)
    assert summary is not None and summary.accepted == 2, summary
    assert dml.task(task_id).retries == 0  # finalised in its first attempt
    money = dml.payments(task_id, first_block)
    assert set(money.slashed) == slashed, money
    for p in paid:
        assert money.paid.get(p.account.ss58_address, 0) > 0, (p.name, money)


def test_a_validators_storage_outage_in_the_vote_costs_nobody_anything(devnet, kubo_factory,
                                                                       tmp_path: Path) -> None:
    """The Kubo daemon every role uses is killed once both updates are uploaded, so the
    validator meets it down as the vote opens; it comes back a few seconds later. The
    validator retries instead of rejecting: the round finalises in its first attempt, both
    honest updates are accepted and paid, and nobody is slashed."""
    ipfs = kubo_factory(tmp_path / "ipfs").start()
    run = DemoRun(chain_url=devnet.url, ipfs_api=ipfs.api_multiaddr, workdir=tmp_path)
    people, aggregator = _people(tmp_path)
    procs = [*people.values(), aggregator]
    try:
        with Chain(devnet.url) as chain:
            dml = DecentralMl(chain)
            first_block = chain.head()[0]
            task_id = _one_round_task(chain, dml, ipfs.api_multiaddr, people, tmp_path,
                                      aggregator=aggregator)
            _start_round(run, people, aggregator, task_id, {"v1": ["--digits-holdout", "0/1"]})
            _outage_in_the_vote(run, dml, task_id, people, procs, ipfs, "v1", ipfs.start)
            _first_attempt_paid(dml, task_id, first_block, list(people.values()), set())
    finally:
        stop_roles(procs)


def test_one_validators_own_storage_outage_costs_it_nothing(devnet, kubo_factory,
                                                           tmp_path: Path) -> None:
    """Two validators, each with its own Kubo daemon (peered on loopback). Only the second
    validator's daemon is killed as the vote opens and comes back a few seconds later. That
    validator retries instead of rejecting: the round finalises in its first attempt, both
    updates are accepted, nobody is slashed, and the second validator's vote on both updates
    carries the evidence of its evaluation, on the consensus side."""
    shared = kubo_factory(tmp_path / "ipfs-a", online=True).start()
    own = kubo_factory(tmp_path / "ipfs-b", online=True).start()
    own.connect_to(shared)
    run = DemoRun(chain_url=devnet.url, ipfs_api=shared.api_multiaddr, workdir=tmp_path)
    people, aggregator = _people(tmp_path, validators=2)
    people["v2"].ipfs_api = own.api_multiaddr  # v2 alone reads through the second daemon
    procs = [*people.values(), aggregator]

    def restart() -> None:
        own.start()
        own.connect_to(shared)

    try:
        with Chain(devnet.url) as chain:
            dml = DecentralMl(chain)
            first_block = chain.head()[0]
            task_id = _one_round_task(chain, dml, shared.api_multiaddr, people, tmp_path,
                                      aggregator=aggregator)
            _start_round(run, people, aggregator, task_id,
                         {"v1": ["--digits-holdout", "0/2"], "v2": ["--digits-holdout", "1/2"]})
            _outage_in_the_vote(run, dml, task_id, people, procs, own, "v2", restart)
            _first_attempt_paid(dml, task_id, first_block, list(people.values()), set())
            # The outage cost the second validator nothing: it voted on both updates, with
            # the evidence (probe) of having evaluated them, on the consensus side. (Its pay
            # differs from the first's only by how close its scores, from its own holdout
            # data, came to the consensus scores.)
            v2 = people["v2"].account.ss58_address
            votes = [v for u in read_lineage(dml, task_id).rounds[0].updates
                     for v in u.votes if v.validator == v2]
            assert len(votes) == 2 and all(v.accept and v.evidenced for v in votes), votes
    finally:
        stop_roles(procs)


def test_a_silent_validator_does_not_stall_the_others(devnet, kubo_factory,
                                                      tmp_path: Path) -> None:
    """Of three validators one never votes nor attests. Nobody's call moves the vote phase on
    when its deadline passes (the pallet advances phases in the next call that touches the
    task), so the others act on the phase their next call will meet: the honest validator
    reveals its vote once the vote-commit deadline has passed, the aggregator finalises once
    the attestation deadline has passed. The two honest validators are the task's minimum and
    hold the 2/3 quorum, so both updates are accepted; the round finalises in its first
    attempt; the silent validator alone is slashed."""
    from decentralml_client.services.stack import BlockTicker

    ipfs = kubo_factory(tmp_path / "ipfs").start()
    run = DemoRun(chain_url=devnet.url, ipfs_api=ipfs.api_multiaddr, workdir=tmp_path)
    people, aggregator = _people(tmp_path, validators=3)
    procs = [*people.values(), aggregator]
    ticker = BlockTicker(devnet.url, 0.5).start()  # time passes on the idle dev node
    try:
        with Chain(devnet.url) as chain:
            dml = DecentralMl(chain)
            first_block = chain.head()[0]
            task_id = _one_round_task(chain, dml, ipfs.api_multiaddr, people, tmp_path,
                                      vote_blocks=60, min_validators=2,
                                      aggregator=aggregator)
            _start_round(run, people, aggregator, task_id,
                         {"v1": ["--digits-holdout", "0/2"], "v2": ["--digits-holdout", "1/2"],
                          "v3": ["--digits-holdout", "0/2", "--strategy", "silent"]})
            _wait("the task to finish", lambda: dml.task(task_id).status == "Finished",
                  timeout=600, procs=procs)
            _first_attempt_paid(dml, task_id, first_block,
                                [people[n] for n in ("c1", "c2", "v1", "v2")],
                                {people["v3"].account.ss58_address})
    finally:
        ticker.stop()
        stop_roles(procs)
