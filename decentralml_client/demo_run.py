"""The one-command demo: a whole federated task on the dev chain, each role its own process.

It starts (or reuses) the dev chain and Kubo, funds fresh ed25519 accounts from //Alice,
registers them, creates a task (a built-in example, digits by default, or a model spec
from `decentralml model init`), joins everyone, then runs every
contributor, validator and the aggregator as separate ``decentralml`` processes with their
own keys and journals. It follows the chain until the task finishes, evaluates the final
model against a centralised baseline, writes a plot, and stops everything it started.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from decentralml_client.chain import UNIT, Chain, DecentralMl, Role, TaskSpec, permill, rule_param
from decentralml_client.config import Settings
from decentralml_client.demo_network import Sides, demo_services
from decentralml_client.keys import Account, KdfLimits, Keystore, dev_account
from decentralml_client.ml.server_opt import server_optimizer_value
from decentralml_client.services.processes import terminate


@dataclass(frozen=True)
class DemoOptions:
    rounds: int = 3
    contributors: int = 4
    validators: int = 3
    malicious: int = 0
    attack: str = "sign-flip"  # comma-separated: one per malicious contributor, in order
    validator_strategies: tuple[str, ...] = ("honest",)  # one per validator, or one for all
    rule: str = "fedavg"
    server_opt: str = "none"  # server optimiser after the rule: none, momentum, adam, yogi
    reward: int = 100 * UNIT
    seed: int = 0
    local_epochs: int = 5
    plot: Path | None = Path("decentralml-demo.png")
    block_time: float = 2.0  # dev node: empty blocks so deadlines pass if a role is silent
    nodes: int = 1  # 1: the dev node; 2-4: authorities, participant i on node and Kubo i mod N
    phase_blocks: int = 300
    timeout: float = 1800.0
    # True: every role runs in one role-host process (a thread, keys, journal and chain
    # connection each; TensorFlow starts once, not eight times). False: a process each.
    shared_processes: bool = True
    example: str = "digits"  # built-in example (ml/examples): its data, and its model
    model: Path | None = None  # a model spec from `model init` (weights beside it) instead
    # docs/committees.md: contributors drawn per round (0: all), validators judging each
    # update (0: all), the share of updates audited by a committee three times as large
    cohort: int = 0
    committee: int = 0
    audit: float = 0.0


@dataclass
class Participant:
    name: str
    role: str
    account: Account
    malicious: bool = False
    attack: str | None = None
    strategy: str = "honest"
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    node_url: str | None = None  # the node this role talks to (default: the run's)
    ipfs_api: str | None = None  # the Kubo it adds to and fetches from (default: the run's)


@dataclass
class DemoRun:
    chain_url: str
    ipfs_api: str
    workdir: Path
    participants: list[Participant] = field(default_factory=list)
    background: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1))
    sides: Sides | None = None  # every node and its Kubo (None: just chain_url and ipfs_api)
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    host: subprocess.Popen[bytes] | None = None  # a role host started ahead (start_host)
    task_id: int | None = None  # the demo's task, once created


def spawn_role(run: DemoRun, p: Participant, args: list[str], password: str) -> None:
    env = {**os.environ, "DML_PASSWORD": password, "DML_DATA_DIR": str(run.workdir / p.name),
           "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
    p.log = run.workdir / f"{p.name}.log"
    cmd = [sys.executable, "-m", "decentralml_client.cli.main", *_role_command(run, p, args)]
    with open(p.log, "wb") as log:
        p.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)


def _role_command(run: DemoRun, p: Participant, args: list[str]) -> list[str]:
    """A role's command line (global options first), after ``decentralml``."""
    return ["--node", p.node_url or run.chain_url, "--ipfs", p.ipfs_api or run.ipfs_api,
            "--keystore",
            str(run.workdir / "keys"), *args, "--key", p.account.name or p.name]


def spawn_hosts(run: DemoRun, planned: list[tuple[Participant, list[str]]],
                password: str) -> None:
    """Start the roles in one ``decentralml host`` process (one thread each); each role keeps
    its own keys, data directory (journal, cache) and chain connection."""
    import json

    from decentralml_client.files import write_atomic

    proc = run.host or start_host(run.workdir, password)
    plan = []
    for p, args in planned:
        config = run.workdir / f"{p.name}.toml"
        # A JSON string is a valid TOML basic string (quotes and backslashes escaped).
        config.write_text(f"data_dir = {json.dumps(str(run.workdir / p.name))}\n")
        plan.append({"name": p.name,
                     "args": ["--config", str(config), *_role_command(run, p, args)]})
    write_atomic(run.workdir / "roles.json", json.dumps(plan, indent=1).encode())
    for p, _ in planned:
        p.proc, p.log = proc, run.workdir / "roles.log"


def start_host(workdir: Path, password: str) -> subprocess.Popen[bytes]:
    """A ``decentralml host`` process for ``workdir/roles.json``: it loads TensorFlow at once
    and runs the roles when the plan appears (:func:`spawn_hosts` writes it)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DML_DATA_DIR", "DML_CONFIG")}
    env.update({"DML_PASSWORD": password, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"})
    with open(workdir / "roles.log", "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "decentralml_client.cli.main", "host",
             str(workdir / "roles.json")],
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)


def stop_roles(participants: list[Participant], timeout: float = 20.0) -> None:
    """SIGTERM every role's process group (TFF helpers included), then SIGKILL stragglers;
    roles hosted together share one process, stopped once."""
    procs = list({id(p.proc): p.proc for p in participants if p.proc is not None}.values())
    terminate(procs, steps=((signal.SIGTERM, timeout),))


def run_demo(settings: Settings, opts: DemoOptions,
             progress: Callable[[str, dict[str, Any]], None] = lambda s, i: None, *,
             services: tuple[str, str] | Sides | None = None) -> dict[str, Any]:
    """Run the whole demo; returns the summary printed by ``decentralml demo --json``.

    ``services`` = (chain URL, IPFS API), or :class:`Sides` (every node and its Kubo), uses
    those instead of finding or starting them.
    """
    from decentralml_client.services.stack import BlockTicker

    if opts.malicious >= opts.contributors:
        raise ValueError("--malicious must be smaller than --contributors")
    workdir = Path(tempfile.mkdtemp(prefix="decentralml-demo-", dir=_tmp_root(settings)))
    password = secrets.token_urlsafe(16)
    # The role host starts first: it loads TensorFlow while the services start and the
    # accounts and the task are made, then runs the roles once their plan is written.
    host = start_host(workdir, password) if opts.shared_processes else None
    if isinstance(services, tuple):
        services = Sides((services[0],), (services[1],))
    given = contextlib.nullcontext(services) if services else None
    try:
        with given or demo_services(settings, workdir, opts.nodes) as sides:
            run = DemoRun(chain_url=sides.nodes[0], ipfs_api=sides.ipfs[0], workdir=workdir,
                          password=password, host=host, sides=sides)
            # A dev node makes blocks for transactions only; a network's slots pass anyway.
            ticker = (BlockTicker(run.chain_url, opts.block_time).start()
                      if opts.block_time > 0 and len(sides.nodes) == 1 else None)
            try:
                return _run(run, opts, progress)
            except KeyboardInterrupt:  # Ctrl-C or SIGTERM: cancel the task, roles still up
                from decentralml_client.demo_cancel import DemoInterrupted, cancel_interrupted

                raise DemoInterrupted(cancel_interrupted(run.chain_url, run.task_id,
                                                         progress)) from None
            finally:
                stop_roles(run.participants)
                if ticker:
                    ticker.stop()
    finally:
        if host is not None:
            terminate([host])


def _tmp_root(settings: Settings) -> Path:
    root = settings.data_dir / "demo"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _run(run: DemoRun, opts: DemoOptions,
         progress: Callable[[str, dict[str, Any]], None]) -> dict[str, Any]:
    from decentralml_client.ml.validators import expand_strategies
    from decentralml_client.roles.common import RoleContext
    from decentralml_client.roles.creator import create_task
    from decentralml_client.storage import IpfsStore

    password = run.password
    keystore = Keystore(run.workdir / "keys", kdf_limits=KdfLimits.interactive())
    attacks = [a.strip() for a in opts.attack.split(",") if a.strip()] or ["sign-flip"]
    first_bad = opts.contributors - opts.malicious
    for i in range(opts.contributors):
        name = f"contributor{i + 1}"
        bad = i >= first_bad
        run.participants.append(Participant(name, "contributor",
                                            keystore.load(*_new(keystore, name, password)),
                                            malicious=bad,
                                            attack=attacks[min(i - first_bad, len(attacks) - 1)]
                                            if bad else None))
    strategies = expand_strategies(opts.validator_strategies, opts.validators)
    for i in range(opts.validators):
        name = f"validator{i + 1}"
        run.participants.append(Participant(name, "validator",
                                            keystore.load(*_new(keystore, name, password)),
                                            strategy=strategies[i]))
    # The validators' attestations propose the aggregate (proposals come from the electorate
    # only). The aggregator has a key of its own, outside the task: it finalises the rounds
    # whose deadline passed (anyone may). With the first validator's key, its proposal and
    # that validator's attestation, sent at once, would compete for one nonce.
    run.participants.append(Participant("aggregator", "aggregator",
                                        keystore.load(*_new(keystore, "aggregator", password))))
    if run.sides is not None and len(run.sides.nodes) > 1:  # participant i on side i mod N
        for i, p in enumerate(run.participants):
            p.node_url, p.ipfs_api = run.sides.side(i)
    creator = dev_account("alice")
    store = IpfsStore(run.ipfs_api, cache_dir=run.workdir / "cache")
    with Chain(run.chain_url) as chain:
        dml = DecentralMl(chain)
        progress("funding", {"accounts": len(run.participants)})
        stake = {"contributor": int(chain.constant("MinContributorStake")),
                 "validator": int(chain.constant("MinValidatorStake"))}
        bond = {"contributor": int(chain.constant("MinContributorBond")),
                "validator": int(chain.constant("MinValidatorBond"))}
        fund = 10 * (max(stake.values()) + max(bond.values())) + 100 * UNIT
        chain.submit_many(creator.keypair, [  # the aggregator: just its transaction fees
            ("Balances", "transfer_keep_alive", {"dest": p.account.ss58_address,
                                                 "value": fund if p.role != "aggregator" else
                                                 100 * UNIT}) for p in run.participants])
        members = [p for p in run.participants if p.role in ("contributor", "validator")]
        dml.submit_all([(p.account.keypair, dml.register_call(
            Role(p.role.capitalize()), stake[p.role], p.account.x25519_public)) for p in members])
        progress("registered", {"contributors": opts.contributors, "validators": opts.validators})
        rc = RoleContext(chain=chain, store=store, account=creator,
                         data_dir=run.workdir / "creator")
        spec = TaskSpec(
            model_cid="", model_hash="", rounds=opts.rounds,
            min_contributors=max(1, min(opts.contributors - opts.malicious,
                                        opts.cohort or opts.contributors)),
            max_contributors=opts.contributors, max_validators=opts.validators,
            quorum=permill(2 / 3), min_validators=max(1, (2 * opts.validators + 2) // 3),
            reward_per_round=opts.reward, validator_share=permill(0.2),
            rule=rule_param(opts.rule, max_contributors=opts.contributors), max_examples=10_000,
            server_optimizer=server_optimizer_value(opts.server_opt),
            contributor_bond=bond["contributor"], validator_bond=bond["validator"],
            enrol_blocks=opts.phase_blocks, commit_blocks=opts.phase_blocks,
            reveal_blocks=opts.phase_blocks, vote_blocks=opts.phase_blocks,
            vote_reveal_blocks=opts.phase_blocks, attest_blocks=opts.phase_blocks, max_retries=2,
            cohort=opts.cohort, committee=opts.committee, audit=permill(opts.audit))
        balances_before = {p.name: chain.account(p.account.ss58_address) for p in run.participants}
        model_spec, initial = demo_model(opts)
        task_id = create_task(rc, model_spec, spec, seed=opts.seed, initial_weights=initial)
        first_block, _ = chain.head()
        run.task_id = task_id
        progress("task_created", {"task_id": task_id})
        dml.submit_all([(p.account.keypair, dml.join_task_call(
            task_id, Role(p.role.capitalize()), bond[p.role])) for p in members])
        planned = _plan_roles(run, opts, task_id)
        if opts.shared_processes:
            spawn_hosts(run, planned, password)
        else:
            for p, args in planned:
                spawn_role(run, p, args, password)
        progress("started", {"processes": len({id(p.proc) for p in run.participants})})
        # The centralised baseline trains meanwhile (the chain and the roles mostly wait).
        baseline_accuracy = run.background.submit(_baseline, model_spec, opts)

        _wait_for_end(run, dml, task_id, opts, progress)
        summary = _summarise(chain, dml, store, rc, task_id, run, opts, balances_before,
                               baseline_accuracy)
        money = dml.payments(task_id, first_block)
        paid, slashed = money.paid, money.slashed
        summary["validators"] = [
            {"name": p.name, "strategy": p.strategy, "address": p.account.ss58_address,
             "reward": paid.get(p.account.ss58_address, 0),
             "slashed": slashed.get(p.account.ss58_address, 0),
             "bond": bond["validator"] - slashed.get(p.account.ss58_address, 0)}
            for p in run.participants if p.role == "validator"]
        summary["contributors"] = [
            {"name": p.name, "attack": p.attack, "reward": paid.get(p.account.ss58_address, 0),
             "slashed": slashed.get(p.account.ss58_address, 0)}
            for p in run.participants if p.role == "contributor"]
    if opts.plot is not None:
        plot_rounds(summary, opts.plot)
        summary["plot"] = str(opts.plot)
    summary["participants"] = [
        {"name": p.name, "role": p.role, "address": p.account.ss58_address,
         "node": p.node_url or run.chain_url, "ipfs": p.ipfs_api or run.ipfs_api}
        for p in run.participants]
    summary["workdir"] = str(run.workdir)
    return summary


def _plan_roles(run: DemoRun, opts: DemoOptions, task_id: int
                ) -> list[tuple[Participant, list[str]]]:
    """Each participant's role command for the task: its data shard, seed, attack, strategy."""
    ci = vi = 0
    planned: list[tuple[Participant, list[str]]] = []
    for p in run.participants:
        if p.role == "contributor":
            args = ["contribute", "--task", str(task_id),
                    *_data_args(run, opts, p, "train", ci, opts.contributors),
                    "--seed", str(opts.seed + ci)]
            if p.attack:
                args += ["--attack", p.attack]
            ci += 1
        elif p.role == "validator":
            args = ["validate", "--task", str(task_id),
                    *_data_args(run, opts, p, "test", vi, opts.validators),
                    "--strategy", p.strategy]
            vi += 1
        else:
            args = ["aggregate", "--task", str(task_id)]
        planned.append((p, args))
    return planned


def _wait_for_end(run: DemoRun, dml: DecentralMl, task_id: int, opts: DemoOptions,
                  progress: Callable[[str, dict[str, Any]], None]) -> None:
    """Follow the task until it ends, reporting each round; fail if a role process dies or
    the demo's time is up."""
    deadline = time.monotonic() + opts.timeout
    last_round = -1
    while True:
        task = dml.task(task_id)
        assert task is not None
        if task.round != last_round or not task.active:
            last_round = task.round
            progress("round", {"round": last_round, "phase": task.phase,
                               "status": task.status, "rounds": opts.rounds})
        if not task.active:
            return
        for p in run.participants:
            if p.proc is not None and p.proc.poll() not in (None, 0):
                tail = p.log.read_text(errors="replace")[-3000:] if p.log else ""
                raise RuntimeError(f"{p.name} exited with {p.proc.returncode}:\n{tail}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the demo task did not finish within {opts.timeout:.0f} s")
        time.sleep(0.5)


def demo_model(opts: DemoOptions) -> tuple[Any, bytes | None]:
    """The task's model spec (the example's, or ``opts.model`` from `model init`) with the
    demo's local epochs, and the initial weights file that goes with it (None: from the seed)."""
    from decentralml_client.ml.examples import get_example
    from decentralml_client.ml.keras_io import weights_file_for
    from decentralml_client.ml.model_spec import ModelSpec

    if opts.model is None:
        spec, initial = get_example(opts.example).spec(opts.seed), None
    else:
        spec = ModelSpec.from_bytes(opts.model.read_bytes())
        path = weights_file_for(opts.model)
        initial = path.read_bytes() if path.is_file() else None
    return replace(spec, local_epochs=opts.local_epochs), initial


def _data_args(run: DemoRun, opts: DemoOptions, p: Participant, part: str, index: int,
               count: int) -> list[str]:
    """A role's data: a shard of the bundled digits, or of another example written to a file
    in the demo's directory (as a user's own data would be)."""
    if opts.example == "digits":
        flag = "--digits-shard" if part == "train" else "--digits-holdout"
        return [flag, f"{index}/{count}"]
    import numpy as np

    from decentralml_client.ml.examples import get_example

    x, y = get_example(opts.example).shard(part, index, count)
    path = run.workdir / f"{p.name}-{part}.npz"
    np.savez(path, x=x, y=y)
    return ["--data", str(path)]


def _new(keystore: Keystore, name: str, password: str) -> tuple[str, str]:
    keystore.create(name, password)
    return name, password


def _baseline(model_spec: Any, opts: DemoOptions) -> float:
    """The centralised baseline's accuracy on the example's test split (same epoch budget)."""
    from decentralml_client.ml.evaluate import centralised_baseline
    from decentralml_client.ml.examples import get_example

    x_tr, y_tr, x_te, y_te = get_example(opts.example).split(0)
    return centralised_baseline(model_spec, x_tr, y_tr, x_te, y_te, epochs=opts.rounds,
                                seed=opts.seed)


def _summarise(chain: Chain, dml: DecentralMl, store: Any, rc: Any, task_id: int, run: DemoRun,
               opts: DemoOptions, before: dict[str, dict[str, int]],
               baseline_accuracy: Future[float]) -> dict[str, Any]:
    from decentralml_client.ml.codec import decode_tensors
    from decentralml_client.ml.evaluate import evaluate

    task = dml.task(task_id)
    assert task is not None
    model_spec = rc.model_spec(task)
    malicious = {p.account.ss58_address for p in run.participants if p.malicious}
    rounds, mal_total, mal_rejected = [], 0, 0
    for r in range(task.spec.rounds + 1):
        s = dml.round_summary(task_id, r)
        if not s:
            continue
        subs = dml.submissions(task_id, r)
        for sub in subs.values():
            if sub.contributor in malicious:
                mal_total += 1
                mal_rejected += sub.status != "Accepted"
        rounds.append({
            "round": r, "accepted": s.accepted, "rejected": s.rejected,
            "attested_accuracy": s.attested_score / 10_000,
            "contributor_rewards": s.contributor_rewards,
            "validator_rewards": s.validator_rewards,
            "model_cid": s.model_cid, "model_hash": s.model_hash,
        })
    from decentralml_client.ml.examples import get_example

    _, _, x_te, y_te = get_example(opts.example).split(0)
    weights = decode_tensors(store.fetch(task.model_cid, task.model_hash), model_spec,
                             kind="weights").tensors
    final = evaluate(model_spec, weights, x_te, y_te)["accuracy"]
    baseline = baseline_accuracy.result()
    paid = {p.name: chain.account(p.account.ss58_address)["free"] - before[p.name]["free"]
            for p in run.participants if p.role != "aggregator"}
    return {
        "task_id": task_id, "status": task.status,
        "final_model_cid": task.model_cid, "final_model_hash": task.model_hash,
        "final_accuracy": final, "baseline_accuracy": baseline,
        "malicious": mal_total, "malicious_rejected": mal_rejected,
        "rounds": rounds, "balance_changes": paid,
    }


def plot_rounds(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rounds = [r["round"] for r in summary["rounds"]]
    acc = [100 * r["attested_accuracy"] for r in summary["rounds"]]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    ax.plot(rounds, acc, marker="o", label="attested accuracy (validators' mean)")
    ax.axhline(100 * summary["baseline_accuracy"], color="grey", linestyle="--",
               label="centralised baseline")
    ax.scatter([rounds[-1]] if rounds else [], [100 * summary["final_accuracy"]], color="C2",
               zorder=3, label="final model on test split")
    ax.set_xlabel("round")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"DecentralML task {summary['task_id']}: accuracy per round")
    ax.set_xticks(rounds)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
