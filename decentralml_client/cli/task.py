"""``decentralml task``: create, list, show, join and cancel training tasks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from decentralml_client.cli._common import (
    DevOpt,
    Exit,
    KeyOpt,
    PasswordFileOpt,
    connect,
    emit,
    errors_to_exit,
    fail,
    fmt_units,
    open_store,
    out,
    parse_role,
    parse_units,
    signed_connection,
    state,
)

if TYPE_CHECKING:
    from decentralml_client.chain import DecentralMl, Role
    from decentralml_client.ml.model_spec import ModelSpec

app = typer.Typer(help="Training tasks: create, list, show, join, leave, cancel, allow, purge.",
                  no_args_is_help=True)


@app.command("create")
def create(
    ctx: typer.Context,
    model: Path = typer.Option(None, "--model", exists=True, dir_okay=False,
                               help="Model spec JSON (architecture only, no code), e.g. from "
                                    "`decentralml model init`."),
    weights: Path = typer.Option(None, "--weights", exists=True, dir_okay=False,
                                 help="Initial weights file the spec names (default: "
                                      "NAME.weights.safetensors beside the spec, if present)."),
    example: str = typer.Option("digits", help="Built-in example model when --model is not "
                                               "given: digits or breast-cancer."),
    rounds: int = typer.Option(3, min=1),
    min_contributors: int = typer.Option(1, min=1),
    max_contributors: int = typer.Option(16, min=1),
    max_validators: int = typer.Option(8, min=1, help="Validator seats."),
    quorum: float = typer.Option(2 / 3, min=0.0, max=1.0,
                                 help="Share of the electorate's bonded stake that accepts an "
                                      "update or adopts an aggregate."),
    min_validators: int = typer.Option(1, min=1),
    reward: str = typer.Option("100", help="Reward per round in DML (all rounds go to escrow)."),
    validator_share: float = typer.Option(0.2, min=0.0, max=1.0),
    rule: str = typer.Option("fedavg", help="fedavg, trimmed-mean, median or krum."),
    beta: float = typer.Option(0.1, help="Trimmed share per side for trimmed-mean."),
    byzantine: int = typer.Option(1, help="Assumed attackers for krum."),
    keep: int = typer.Option(None, help="Updates krum averages (default max-contributors - "
                                        "byzantine)."),
    server_opt: str = typer.Option("none", "--server-opt",
                                   help="Server optimiser after the rule: none, momentum "
                                        "(FedAvgM), adam (FedAdam) or yogi (FedYogi)."),
    server_lr: float = typer.Option(None, "--server-lr",
                                    help="Server learning rate (default per optimiser: "
                                         "momentum 1.0, adam/yogi 0.1)."),
    server_momentum: float = typer.Option(None, "--server-momentum",
                                          help="Momentum of --server-opt momentum (0.9)."),
    beta1: float = typer.Option(None, "--beta1", help="Adam/Yogi first-moment decay (0.9)."),
    beta2: float = typer.Option(None, "--beta2", help="Adam/Yogi second-moment decay (0.99)."),
    tau: float = typer.Option(None, "--tau", help="Adam/Yogi adaptivity epsilon (0.001)."),
    prox_mu: float = typer.Option(None, "--prox-mu", min=0.0,
                                  help="FedProx proximal strength mu in the contributors' "
                                       "local objective (default: the model spec's, 0)."),
    local_epochs: int = typer.Option(None, "--local-epochs", min=1,
                                     help="Local epochs per round (default: the model spec's)."),
    local_steps: int = typer.Option(None, "--local-steps", min=1,
                                    help="Cap on local batches per round (default: none)."),
    max_examples: int = typer.Option(10_000, help="Cap on an update's num_examples."),
    example_weighting: str = typer.Option(
        "median-capped", "--example-weighting",
        help="How FedAvg weights updates by their claimed num_examples: median-capped (capped "
             "at max-examples and the round's median claim) or claimed (capped at "
             "max-examples only: plain FedAvg; not with --admission open)."),
    min_improvement: int = typer.Option(0, min=0, max=10_000,
                                        help="Validators' acceptance threshold (basis points of "
                                             "loss improvement)."),
    contributor_bond: str = typer.Option(None, help="Bond per contributor in DML "
                                                    "(default: the runtime's minimum)."),
    validator_bond: str = typer.Option(None, help="Bond per validator in DML "
                                                  "(default: the runtime's minimum)."),
    admission: str = typer.Option("open", help="open, allow-list or min-reputation:N."),
    enrol_blocks: int = typer.Option(10, min=1, help="Blocks of enrolment before round 0."),
    phase_blocks: int = typer.Option(50, help="Blocks of each phase before its deadline."),
    max_retries: int = typer.Option(2),
    max_idle_rounds: int = typer.Option(
        2, help="Round attempts a member may sit idle (no commitment, no vote) before it "
        "loses its seat and 10 % of its bond; 0 = no limit (at most the runtime's "
        "MaxIdleRounds)."),
    private: bool = typer.Option(False, help="Seal updates to the task's validators."),
    seed: int = typer.Option(0, help="Seed of the initial weights."),
    key: str = KeyOpt, dev: str = DevOpt, password_file: Path = PasswordFileOpt,
) -> None:
    """Publish a model and create a task; the whole reward moves to the task's escrow."""
    from decentralml_client.chain import TaskSpec, admission_param, permill, rule_param
    from decentralml_client.ml.errors import DataError
    from decentralml_client.ml.examples import get_example
    from decentralml_client.ml.model_spec import ModelSpec
    from decentralml_client.protocol.rules import (
        example_weighting_value,
        server_optimizer_value,
        with_client_options,
    )
    from decentralml_client.roles.common import RoleContext
    from decentralml_client.roles.creator import create_task

    st = state(ctx)
    if min_contributors > max_contributors:
        fail("--min-contributors is larger than --max-contributors", Exit.USAGE)
    try:
        rule_value = rule_param(rule, max_contributors=max_contributors, beta=beta,
                                byzantine=byzantine, keep=keep)
        admission_value = admission_param(admission)
        server_value = server_optimizer_value(server_opt, lr=server_lr,
                                              momentum=server_momentum, beta1=beta1,
                                              beta2=beta2, tau=tau)
        weighting_value = example_weighting_value(example_weighting)
    except ValueError as exc:
        fail(str(exc), Exit.USAGE)
    initial: bytes | None = None
    if model is not None:
        model_spec = ModelSpec.from_bytes(model.read_bytes())
        initial = _initial_weights(model, weights, model_spec, seed)
    else:
        try:
            model_spec = get_example(example).spec(seed)
        except DataError as exc:
            fail(str(exc), Exit.USAGE)
    try:
        model_spec = with_client_options(model_spec, prox_mu=prox_mu,
                                         local_epochs=local_epochs, local_steps=local_steps)
    except ValueError as exc:
        fail(str(exc), Exit.USAGE)
    with signed_connection(st, key, dev, password_file) as (signer, chain):
        spec = TaskSpec(
            model_cid="", model_hash="", rounds=rounds, min_contributors=min_contributors,
            max_contributors=max_contributors, max_validators=max_validators,
            quorum=permill(quorum), min_validators=min_validators,
            reward_per_round=parse_units(reward), validator_share=permill(validator_share),
            rule=rule_value, server_optimizer=server_value,
            max_examples=max_examples, example_weighting=weighting_value,
            min_improvement=min_improvement,
            contributor_bond=(parse_units(contributor_bond) if contributor_bond
                              else int(chain.constant("MinContributorBond"))),
            validator_bond=(parse_units(validator_bond) if validator_bond
                            else int(chain.constant("MinValidatorBond"))),
            admission=admission_value, enrol_blocks=enrol_blocks,
            commit_blocks=phase_blocks, reveal_blocks=phase_blocks, vote_blocks=phase_blocks,
            vote_reveal_blocks=phase_blocks, attest_blocks=phase_blocks,
            max_retries=max_retries, private=private, max_idle_rounds=max_idle_rounds)
        rc = RoleContext(chain=chain, store=open_store(st), account=signer,
                         data_dir=st.settings.data_dir)
        task_id = create_task(rc, model_spec, spec, seed=seed, initial_weights=initial)
    emit(st, {"task_id": task_id}, lambda: out.print(f"created task [bold]{task_id}[/]"))


@app.command("list")
def list_(ctx: typer.Context,
          status: str = typer.Option(None, help="Only Active, Finished or Cancelled tasks."),
          ) -> None:
    """List tasks with their status and progress."""
    from decentralml_client.chain import DecentralMl

    st = state(ctx)
    with errors_to_exit(), connect(st) as chain:
        tasks = DecentralMl(chain).tasks()
    rows = [{"task_id": i, "status": t["status"], "round": t["round"],
             "rounds": t["spec"]["rounds"],
             "phase": t["phase"], "creator": t["creator"], "escrow": t.get("escrow")}
            for i, t in sorted(tasks.items()) if status is None or t["status"] == status]

    def human() -> None:
        table = Table("task", "status", "round", "phase", "escrow", "creator")
        for r in rows:
            table.add_row(str(r["task_id"]), r["status"], f"{r['round']}/{r['rounds']}",
                          str(r["phase"]), fmt_units(int(r["escrow"] or 0)), r["creator"])
        out.print(table)

    emit(st, rows, human)


@app.command("show")
def show(ctx: typer.Context, task_id: int = typer.Argument(...)) -> None:
    """A task's spec, current phase and the summary of every finished round."""
    from decentralml_client.chain import DecentralMl

    st = state(ctx)
    with errors_to_exit(), connect(st) as chain:
        dml = DecentralMl(chain)
        task = dml.task(task_id)
        if task is None:
            fail(f"task {task_id} does not exist; see `decentralml task list`")
        head = chain.head()[0]
        rounds = []
        for r in range(int(task["round"]) + 1):
            s = dml.round_summary(task_id, r)
            if s:
                rounds.append({"round": r, **s})
    data = {"task_id": task_id, **task, "head": head, "rounds": rounds}

    def human() -> None:
        out.print(f"[bold]task {task_id}[/] {task['status']} — round {task['round']}"
                  f"/{task['spec']['rounds']}, phase {task['phase']} "
                  f"(ends at block {task['phase_ends_at']}, head {head})")
        out.print(f"model {task['model_cid']} {task['model_hash']}")
        t = Table("round", "accepted", "rejected", "attested accuracy", "model")
        for r in rounds:
            t.add_row(str(r["round"]), str(r["accepted"]), str(r["rejected"]),
                      f"{int(r['attested_score']) / 100:.2f}%", str(r["model_cid"]))
        out.print(t)

    emit(st, data, human)


@app.command("join")
def join(ctx: typer.Context, task_id: int = typer.Argument(...),
         role: str = typer.Option(..., help="contributor or validator"),
         bond: str = typer.Option(
             None, help="Bond in DML (default: the task's bond for the role)."),
         key: str = KeyOpt, dev: str = DevOpt, password_file: Path = PasswordFileOpt) -> None:
    """Join a task as a contributor or validator, bonding stake in it (register first).

    The bond is held until you leave between rounds or the task ends; silence and work
    against the consensus cost part of it. You count from the next round."""
    from decentralml_client.chain import DecentralMl

    st = state(ctx)
    r = parse_role(role)
    with signed_connection(st, key, dev, password_file) as (signer, chain):
        dml = DecentralMl(chain)
        amount = parse_units(bond) if bond else task_bond(dml, task_id, r)
        dml.join_task(signer.keypair, task_id, r, amount)
    emit(st, {"task_id": task_id, "role": r.value, "bond": amount},
         lambda: out.print(f"joined task {task_id} as {r.value}, bond {fmt_units(amount)}"))


@app.command("leave")
def leave(ctx: typer.Context, task_id: int = typer.Argument(...),
          key: str = KeyOpt, dev: str = DevOpt, password_file: Path = PasswordFileOpt) -> None:
    """Leave a task and get the bond back. While you take part in the current round you are
    marked as leaving instead (you will not be in the next round): run it again after it."""
    from decentralml_client.chain import DecentralMl

    st = state(ctx)
    with signed_connection(st, key, dev, password_file) as (signer, chain):
        receipt = DecentralMl(chain).leave_task(signer.keypair, task_id)
    left = bool(receipt.find("TaskLeft"))
    emit(st, {"task_id": task_id, "left": left},
         lambda: out.print(f"left task {task_id}, bond released" if left else
                           f"leaving task {task_id} after the current round: run "
                           f"'decentralml task leave {task_id}' again then"))


@app.command("allow")
def allow(ctx: typer.Context, task_id: int = typer.Argument(...),
          accounts: list[str] = typer.Argument(..., help="SS58 addresses."),
          revoke: bool = typer.Option(False, help="Remove them from the allow-list instead."),
          key: str = KeyOpt, dev: str = DevOpt, password_file: Path = PasswordFileOpt) -> None:
    """Edit the allow-list of your task (tasks created with --admission allow-list)."""
    from decentralml_client.chain import DecentralMl

    st = state(ctx)
    with signed_connection(st, key, dev, password_file) as (signer, chain):
        DecentralMl(chain).set_allowed(signer.keypair, task_id, accounts, not revoke)
    emit(st, {"task_id": task_id, "accounts": accounts, "allowed": not revoke},
         lambda: out.print(f"{'revoked' if revoke else 'allowed'} {len(accounts)} account(s)"))


@app.command("purge")
def purge(ctx: typer.Context, task_id: int = typer.Argument(...),
          limit: int = typer.Option(1_000, min=1, help="Most storage items removed per call."),
          key: str = KeyOpt, dev: str = DevOpt, password_file: Path = PasswordFileOpt) -> None:
    """Clear an ended task's round data from chain storage; the last call returns the
    creator's storage deposit. Anyone may run it."""
    from decentralml_client.chain import DecentralMl

    st = state(ctx)
    with signed_connection(st, key, dev, password_file) as (signer, chain):
        receipt = DecentralMl(chain).purge_task(signer.keypair, task_id, limit)
    done = bool(receipt.find("TaskPurged"))
    emit(st, {"task_id": task_id, "done": done},
         lambda: out.print(f"task {task_id}: " + ("purged, deposit returned" if done else
                                                  "partly purged: run again")))


def _initial_weights(model: Path, weights: Path | None, model_spec: ModelSpec,
                     seed: int) -> bytes | None:
    """The weights file beside a spec (``model init`` writes both); None when the spec's
    initial weights are the ones drawn from ``seed``."""
    from decentralml_client.ml.codec import file_hash
    from decentralml_client.ml.keras_io import weights_file_for
    from decentralml_client.ml.model_spec import initial_weights_file

    path = weights or weights_file_for(model)
    if path.is_file():
        return path.read_bytes()
    named = model_spec.initial_weights_hash
    if named is not None and named != file_hash(initial_weights_file(model_spec, seed)):
        fail(f"the model spec names initial weights {named}, but {path} does not exist",
             Exit.USAGE, "pass the weights file written with the spec with --weights.")
    return None


def task_bond(dml: DecentralMl, task_id: int, role: Role) -> int:
    """The bond a task asks of ``role``."""
    from decentralml_client.chain import Role

    task = dml.task(task_id)
    if task is None:
        fail(f"task {task_id} does not exist")
    field = "contributor_bond" if role == Role.CONTRIBUTOR else "validator_bond"
    return int(task["spec"][field])


@app.command("cancel")
def cancel(ctx: typer.Context, task_id: int = typer.Argument(...),
           key: str = KeyOpt, dev: str = DevOpt, password_file: Path = PasswordFileOpt) -> None:
    """Cancel your task: finished rounds stay paid, the rest of the escrow comes back."""
    from decentralml_client.chain import DecentralMl

    st = state(ctx)
    with signed_connection(st, key, dev, password_file) as (signer, chain):
        receipt = DecentralMl(chain).cancel_task(signer.keypair, task_id)
    ev = receipt.find("TaskCancelled")
    emit(st, {"task_id": task_id, "event": ev[0].attributes if ev else None},
         lambda: out.print(f"cancelled task {task_id}"))
