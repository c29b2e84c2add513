"""A task on real nodes while nodes crash.

- The dev node is SIGKILLed in the middle of a task and restarted on its database: the roles
  reconnect, resume from their journals, and every round finalises.
- Three authorities (Alice, Bob, Charlie; Aura + GRANDPA): the roles talk to different nodes
  and to different Kubo daemons (swarm-connected on loopback);
  Charlie is SIGKILLed during round 0 and the rounds still complete on Alice and Bob; Charlie
  restarts, catches up, and all three finalise the same blocks; the ledger balances.

Role processes are the demo's (one process for the contributors, one for the validators and
the aggregator); every wait polls the chain, with a deadline.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from decentralml_client.chain import UNIT, Chain, DecentralMl, Role, TaskSpec, permill
from decentralml_client.demo_run import DemoRun, Participant, spawn_hosts, stop_roles
from decentralml_client.keys import KdfLimits, Keystore, dev_account
from decentralml_client.ml.model_spec import default_digits_spec
from decentralml_client.roles.common import RoleContext
from decentralml_client.roles.creator import create_task
from decentralml_client.services.node import NodeNetwork, rpc
from decentralml_client.services.stack import start_kubos
from decentralml_client.storage import IpfsStore
from tests.fixtures.kubo import _require_kubo
from tests.scenarios.ledger import ledger

pytestmark = pytest.mark.integration

PASSWORD = "node-fault-test-password"


def _until(what: str, cond: Callable[[], Any], people: list[Participant],
           timeout: float = 600.0) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        for p in people:
            if p.proc is not None and p.proc.poll() is not None:
                log = p.log.read_text(errors="replace")[-3000:] if p.log else ""
                raise AssertionError(f"{p.name} exited with {p.proc.returncode}:\n{log}")
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _task_with_roles(run: DemoRun, urls: dict[str, str], rounds: int, phase_blocks: int,
                     ipfs: dict[str, str] | None = None) -> tuple[int, list[Participant]]:
    """Two contributors and two validators join a task (and an aggregator, with a key of its
    own, finalises rounds at deadlines);
    ``urls`` maps each role's name to the node it talks to, ``ipfs`` to its Kubo. Returns the
    task and the roles."""
    ipfs = ipfs or {}
    ks = Keystore(run.workdir / "keys", kdf_limits=KdfLimits.minimum())
    people = []
    for name in ("c1", "c2", "v1", "v2"):
        ks.create(name, PASSWORD)
        role = "contributor" if name.startswith("c") else "validator"
        people.append(Participant(name, role, ks.load(name, PASSWORD), node_url=urls[name],
                                  ipfs_api=ipfs.get(name)))
    ks.create("agg", PASSWORD)
    aggregator = Participant("agg", "aggregator", ks.load("agg", PASSWORD), node_url=urls["agg"],
                             ipfs_api=ipfs.get("agg"))
    alice = dev_account("alice")
    with Chain(run.chain_url) as chain:
        dml = DecentralMl(chain)
        chain.submit_many(alice.keypair, [
            ("Balances", "transfer_keep_alive", {"dest": p.account.ss58_address,
                                                 "value": 1000 * UNIT})
            for p in [*people, aggregator]])
        stake = {"contributor": int(chain.constant("MinContributorStake")),
                 "validator": int(chain.constant("MinValidatorStake"))}
        dml.submit_all([(p.account.keypair, dml.register_call(
            Role(p.role.capitalize()), stake[p.role], p.account.x25519_public)) for p in people])
        ctx = RoleContext(chain=chain, store=IpfsStore(run.ipfs_api), account=alice,
                          data_dir=run.workdir / "creator")
        spec = TaskSpec(model_cid="", model_hash="", rounds=rounds, min_contributors=2,
                        max_contributors=2, max_validators=2, min_validators=2,
                        quorum=permill(2 / 3), reward_per_round=50 * UNIT,
                        enrol_blocks=phase_blocks, commit_blocks=phase_blocks,
                        reveal_blocks=phase_blocks, vote_blocks=phase_blocks,
                        vote_reveal_blocks=phase_blocks, attest_blocks=phase_blocks)
        task_id = create_task(ctx, default_digits_spec(), spec)
        dml.submit_all([(p.account.keypair, dml.join_task_call(
            task_id, Role(p.role.capitalize()),
            spec.contributor_bond if p.role == "contributor" else spec.validator_bond))
            for p in people])
    shards = {"c1": "0/2", "c2": "1/2", "v1": "0/2", "v2": "1/2"}
    planned = [(p, ["contribute", "--task", str(task_id), "--digits-shard", shards[p.name]]
                if p.role == "contributor" else
                ["validate", "--task", str(task_id), "--digits-holdout", shards[p.name]])
               for p in people]
    planned.append((aggregator, ["aggregate", "--task", str(task_id)]))
    spawn_hosts(run, planned, PASSWORD)
    return task_id, [*people, aggregator]


def _check_rounds(dml: DecentralMl, task_id: int, rounds: int) -> None:
    task = dml.task(task_id)
    assert task is not None and task.status == "Finished"
    for r in range(rounds):
        summary = dml.round_summary(task_id, r)
        assert summary and summary.accepted == 2, (r, summary)


def test_roles_carry_on_when_the_dev_node_is_killed_mid_task_and_restarted(
        node_binary: Path, kubo_factory: Any, tmp_path: Path) -> None:
    ipfs = kubo_factory(tmp_path / "ipfs").start()
    with NodeNetwork(tmp_path / "chain", nodes=1, port=0, persist=True) as net:
        run = DemoRun(chain_url=net.url, ipfs_api=ipfs.api_multiaddr, workdir=tmp_path)
        urls = dict.fromkeys(("c1", "c2", "v1", "v2", "agg"), net.url)
        task_id, people = _task_with_roles(run, urls, rounds=2, phase_blocks=500)
        try:
            with Chain(net.url) as chain:
                dml = DecentralMl(chain)
                at_kill = _until("round 0 past its commit phase", lambda: (
                    (t := dml.task(task_id)) and t.phase not in ("Enrol", "Commit") and t),
                    people)
            assert at_kill.status == "Active"  # killed in the middle of the task
            node = net.nodes[0]
            node.kill()  # SIGKILL: no clean shutdown of the database
            net.restart(node.name)
            with Chain(net.url) as chain:
                dml = DecentralMl(chain)
                _until("the task to finish", lambda: dml.task(task_id).status != "Active",
                       people)
                _check_rounds(dml, task_id, 2)
                issuance, held = ledger(chain)
                assert issuance == held
        finally:
            stop_roles(people)


def test_four_authorities_run_a_task_while_one_is_killed_finalising_throughout(
        node_binary: Path, tmp_path: Path) -> None:
    _require_kubo()
    kubos = start_kubos(tmp_path / "ipfs", None, 2)  # one per side, swarm-connected
    with contextlib.ExitStack() as stack:
        for k in kubos:
            stack.callback(k.stop)
        _four_authorities(tmp_path, [k.api_multiaddr for k in kubos])


def _four_authorities(tmp_path: Path, kubos: list[str]) -> None:
    """GRANDPA needs more than 2/3 of the authorities: four survive one failure, so blocks
    keep being finalised while Dave is down (three could not). Then two of the four freeze
    for 30 s and no role exits."""
    with NodeNetwork(tmp_path / "chain", nodes=4, port=0) as net:
        net.wait_until(lambda ss: all(s["peers"] == 3 for s in ss), "full peering", 120)
        net.wait_finalized(1, timeout=180)
        alice, bob = net.node("alice"), net.node("bob")
        run = DemoRun(chain_url=alice.url, ipfs_api=kubos[0], workdir=tmp_path)
        # Alice's side adds to and fetches from one Kubo, Bob's from the other: updates and
        # models cross over bitswap (and are hash-checked as always).
        urls = {"c1": alice.url, "v1": alice.url, "c2": bob.url, "v2": bob.url, "agg": bob.url}
        ipfs = {"c1": kubos[0], "v1": kubos[0], "c2": kubos[1], "v2": kubos[1], "agg": kubos[1]}
        # Eight rounds: with 2 s slots a round takes about five blocks, and the task must still
        # run through the kill, the restart and the 30 s freeze below.
        task_id, people = _task_with_roles(run, urls, rounds=8, phase_blocks=100, ipfs=ipfs)
        try:
            with Chain(alice.url) as chain:
                dml = DecentralMl(chain)
                _until("round 0 past its commit phase", lambda: (
                    (t := dml.task(task_id)) and t.phase not in ("Enrol", "Commit")),
                    people)
                net.node("dave").kill()
                up = [net.node(n) for n in ("alice", "bob", "charlie")]
                finalized_at_kill = min(s["finalized"] for s in net.status() if s["name"] != "dave")
                # The other three carry the task on (Dave's slots stay empty) and keep
                # finalising while it is down.
                _until("round 0 to finalise without Dave",
                       lambda: dml.task(task_id).round >= 1 or
                       dml.task(task_id).status != "Active", people)
                net.wait_finalized(finalized_at_kill + 3, timeout=120, nodes=up)
                net.restart("dave")
                # Two of four authorities freeze (SIGSTOP) for 30 s: finality stops, blocks
                # come at half the rate, inclusion waits time out and roles resend. No role
                # may exit over it (the _until checks below fail on any role that does).
                frozen = [net.node(n).proc for n in ("charlie", "dave")]
                for proc in frozen:
                    assert proc is not None
                    proc.send_signal(signal.SIGSTOP)
                try:
                    end = time.monotonic() + 30
                    _until("30 s of two frozen authorities", lambda: time.monotonic() >= end,
                           people)
                finally:
                    for proc in frozen:
                        if proc is not None:
                            proc.send_signal(signal.SIGCONT)
                assert dml.task(task_id).status == "Active"  # the freeze hit a running task
                _until("the task to finish", lambda: dml.task(task_id).status != "Active",
                       people)
                _check_rounds(dml, task_id, 8)
                issuance, held = ledger(chain)
                assert issuance == held
                end_block, _ = chain.head()
            # Dave catches up and all four finalise past the task's end, on one chain.
            statuses = net.wait_finalized(end_block, timeout=300)
            common = min(s["finalized"] for s in statuses)
            hashes = {str(rpc(n.url, "chain_getBlockHash", [common])) for n in net.nodes}
            assert len(hashes) == 1, f"the nodes finalised different blocks at #{common}"
        finally:
            stop_roles(people)
