"""``decentralml task``: create, list, show, join and cancel training tasks."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from decentralml_client.cli._common import (
    DevOpt,
    Exit,
    KeyOpt,
    PasswordFileOpt,
    YesOpt,
    confirm_send,
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

TaskArg = typer.Argument(..., help="Task id (see `decentralml task list`).")


_MODEL, _SEATS, _RULE, _TRAINING, _MONEY, _SCHEDULE = (
    "Model", "Rounds and seats", "Aggregation", "Server optimiser and local training",
    "Reward, bonds and admission", "Schedule (in blocks)")


def parse_fraction(text: str, name: str) -> float:
    """A share written as a percentage (``66.7%``, ``20 %``) or a fraction (``0.2``, ``2/3``)."""
    t = text.strip().replace(" ", "")
    try:
        if t.endswith("%"):
            value = float(t[:-1]) / 100
        elif "/" in t:
            num, den = t.split("/", 1)
            value = float(num) / float(den)
        else:
            value = float(t)
    except (ValueError, ZeroDivisionError):
        fail(f"{name} {text!r} is not a share: write e.g. 66.7% or 0.667", Exit.USAGE)
    if not 0.0 <= value <= 1.0:
        fail(f"{name} must be between 0% and 100%, not {text!r}", Exit.USAGE)
    return value


@app.command("create")
def create(
    ctx: typer.Context,
    model: Path = typer.Option(None, "--model", exists=True, dir_okay=False,
                               rich_help_panel=_MODEL,
                               help="Model spec JSON (architecture only, no code), e.g. from "
                                    "`decentralml model init`."),
    weights: Path = typer.Option(None, "--weights", exists=True, dir_okay=False,
                                 rich_help_panel=_MODEL,
                                 help="Initial weights file the spec names (default: "
                                      "NAME.weights.safetensors beside the spec, if present)."),
    example: str = typer.Option("digits", rich_help_panel=_MODEL,
                                help="Built-in example model when --model is not given: "
                                     "digits or breast-cancer."),
    seed: int = typer.Option(0, rich_help_panel=_MODEL,
                             help="Seed of the initial weights when the spec names none."),
    rounds: int = typer.Option(3, min=1, rich_help_panel=_SEATS,
                               help="Rounds to train; the reward of every round goes to "
                                    "escrow now."),
    min_contributors: int = typer.Option(1, min=1, rich_help_panel=_SEATS,
                                         help="Contributors a round needs to start."),
    max_contributors: int = typer.Option(16, min=1, rich_help_panel=_SEATS,
                                         help="Contributor seats."),
    min_validators: int = typer.Option(1, min=1, rich_help_panel=_SEATS,
                                       help="Validators a round needs to start (and to adopt "
                                            "a model)."),
    max_validators: int = typer.Option(
        None, min=1, rich_help_panel=_SEATS, show_default="--min-validators",
        help="Validator seats. Enrolment closes as soon as every seat is taken; with seats "
             "left it closes at its deadline (--enrol-blocks) once the minimums have joined."),
    cohort: int = typer.Option(
        0, min=0, rich_help_panel=_SEATS, show_default="0 = every contributor",
        help="Contributors drawn at random to train each round (at least --min-contributors); "
             "the others sit the round out at no cost (docs/committees.md)."),
    committee: int = typer.Option(
        0, min=0, rich_help_panel=_SEATS, show_default="0 = every validator",
        help="Validators drawn by stake to judge each update, 1 to 5; required when "
             "max-contributors × max-validators is above 8192."),
    audit: str = typer.Option(
        None, rich_help_panel=_SEATS, show_default="10 % with --committee, else 0",
        help="Share of updates judged by a committee three times as large (at most 50 %; "
             "only with --committee), as a percentage or a fraction."),
    quorum: str = typer.Option(
        "2/3", rich_help_panel=_SEATS, show_default="66.7 %",
        help="Share of the electorate's bonded stake that accepts an update or adopts an "
             "aggregate, as a percentage (66.7%) or a fraction (0.667)."),
    reward: str = typer.Option("100", rich_help_panel=_MONEY,
                               help="Reward per round in DML (all rounds go to escrow)."),
    validator_share: str = typer.Option(
        "20%", rich_help_panel=_MONEY, show_default="20 %",
        help="Share of each round's reward paid to validators (the rest to contributors), "
             "as a percentage or a fraction."),
    contributor_bond: str = typer.Option(None, rich_help_panel=_MONEY,
                                         show_default="the runtime's minimum",
                                         help="Bond per contributor in DML."),
    validator_bond: str = typer.Option(None, rich_help_panel=_MONEY,
                                       show_default="the runtime's minimum",
                                       help="Bond per validator in DML."),
    admission: str = typer.Option("open", rich_help_panel=_MONEY,
                                  help="Who may join: open, allow-list (`task allow`) or "
                                       "min-reputation:N."),
    private: bool = typer.Option(False, rich_help_panel=_MONEY,
                                 help="Seal updates to the task's validators."),
    rule: str = typer.Option("fedavg", rich_help_panel=_RULE,
                             help="Aggregation rule: fedavg, trimmed-mean, median or krum."),
    beta: float = typer.Option(0.1, rich_help_panel=_RULE,
                               help="Trimmed share per side for trimmed-mean (0.1 = 10 %)."),
    byzantine: int = typer.Option(1, rich_help_panel=_RULE, help="Assumed attackers for krum."),
    keep: int = typer.Option(None, rich_help_panel=_RULE,
                             show_default="max-contributors - byzantine",
                             help="Updates krum averages."),
    max_examples: int = typer.Option(10_000, rich_help_panel=_RULE,
                                     help="Cap on an update's claimed example count."),
    example_weighting: str = typer.Option(
        "median-capped", "--example-weighting", rich_help_panel=_RULE,
        help="How FedAvg weights updates by their claimed num_examples: median-capped (capped "
             "at max-examples and the round's median claim) or claimed (capped at "
             "max-examples only: plain FedAvg; not with --admission open)."),
    min_improvement: int = typer.Option(0, min=0, max=10_000, rich_help_panel=_RULE,
                                        help="Validators' acceptance threshold (basis points of "
                                             "loss improvement; 100 = 1 %)."),
    server_opt: str = typer.Option("none", "--server-opt", rich_help_panel=_TRAINING,
                                   help="Server optimiser after the rule: none, momentum "
                                        "(FedAvgM), adam (FedAdam) or yogi (FedYogi)."),
    server_lr: float = typer.Option(None, "--server-lr", rich_help_panel=_TRAINING,
                                    help="Server learning rate (default per optimiser: "
                                         "momentum 1.0, adam/yogi 0.1)."),
    server_momentum: float = typer.Option(None, "--server-momentum", rich_help_panel=_TRAINING,
                                          help="Momentum of --server-opt momentum (0.9)."),
    beta1: float = typer.Option(None, "--beta1", rich_help_panel=_TRAINING,
                                help="Adam/Yogi first-moment decay (0.9)."),
    beta2: float = typer.Option(None, "--beta2", rich_help_panel=_TRAINING,
                                help="Adam/Yogi second-moment decay (0.99)."),
    tau: float = typer.Option(None, "--tau", rich_help_panel=_TRAINING,
                              help="Adam/Yogi adaptivity epsilon (0.001)."),
    prox_mu: float = typer.Option(None, "--prox-mu", min=0.0, rich_help_panel=_TRAINING,
                                  help="FedProx proximal strength mu in the contributors' "
                                       "local objective (default: the model spec's, 0)."),
    local_epochs: int = typer.Option(None, "--local-epochs", min=1, rich_help_panel=_TRAINING,
                                     help="Local epochs per round (default: the model spec's)."),
    local_steps: int = typer.Option(None, "--local-steps", min=1, rich_help_panel=_TRAINING,
                                    help="Cap on local batches per round (default: none)."),
    enrol_blocks: int = typer.Option(10, min=1, rich_help_panel=_SCHEDULE,
                                     help="Blocks of enrolment before round 0 (when seats are "
                                          "left)."),
    phase_blocks: int = typer.Option(50, rich_help_panel=_SCHEDULE,
                                     help="Blocks of each phase before its deadline."),
    max_retries: int = typer.Option(2, rich_help_panel=_SCHEDULE,
                                    help="Times a failed round is tried again before the task "
                                         "ends."),
    max_idle_rounds: int = typer.Option(
        2, rich_help_panel=_SCHEDULE,
        help="Round attempts a member may sit idle (no commitment, no vote) before it "
        "loses its seat and 10 % of its bond; 0 = no limit (at most the runtime's "
        "MaxIdleRounds)."),
    yes: bool = YesOpt,
    key: str = KeyOpt, dev: str = DevOpt, password_file: Path = PasswordFileOpt,
) -> None:
    """Publish a model and create a task; the whole reward moves to the task's escrow."""
    from decentralml_client.chain import TaskSpec, admission_param, permill, rule_param
    from decentralml_client.ml.errors import DataError
    from decentralml_client.ml.examples import get_example
    from decentralml_client.ml.model_spec import ModelSpec, with_client_options
    from decentralml_client.ml.server_opt import server_optimizer_value
    from decentralml_client.protocol.rules import example_weighting_value
    from decentralml_client.roles.common import RoleContext
    from decentralml_client.roles.creator import create_task

    st = state(ctx)
    if min_contributors > max_contributors:
        fail("--min-contributors is larger than --max-contributors", Exit.USAGE)
    seats = committee_settings(min_contributors, max_contributors,
                                max_validators or min_validators, cohort, committee, audit)
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
            max_contributors=max_contributors, max_validators=max_validators or min_validators,
            quorum=permill(parse_fraction(quorum, "--quorum")), min_validators=min_validators,
            reward_per_round=parse_units(reward),
            validator_share=permill(parse_fraction(validator_share, "--validator-share")),
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
            max_retries=max_retries, private=private, max_idle_rounds=max_idle_rounds,
            **seats)
        escrow = spec.reward_per_round * spec.rounds
        confirm_send(chain, signer, f"create a task of {rounds} round(s): {fmt_units(escrow)} "
                     "moves to its escrow", "create_task",
                     {"spec": replace(spec, model_cid="b" * 59, model_hash="0x" + "0" * 64
                                      ).to_call()}, yes=yes)
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
    rows: list[dict[str, Any]] = [
        {"task_id": i, "status": t.status, "round": t.round, "rounds": t.spec.rounds,
         "phase": t.phase, "creator": t.creator, "escrow": t.escrow}
        for i, t in sorted(tasks.items()) if status is None or t.status == status]

    def human() -> None:
        table = Table("task", "status", "round", "phase", "escrow", "creator")
        for r in rows:
            table.add_row(str(r["task_id"]), r["status"], f"{r['round']}/{r['rounds']}",
                          str(r["phase"]), fmt_units(int(r["escrow"] or 0)), r["creator"])
        out.print(table)

    emit(st, rows, human)


@app.command("show")
def show(ctx: typer.Context, task_id: int = TaskArg) -> None:
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
        for r in range(task.round + 1):
            s = dml.round_summary(task_id, r)
            if s:
                rounds.append({"round": r, **s.as_json()})
    data = {"task_id": task_id, **task.as_json(), "head": head, "rounds": rounds}

    def human() -> None:
        out.print(f"[bold]task {task_id}[/] {task.status} — round {task.round}"
                  f"/{task.spec.rounds}, phase {task.phase} "
                  f"(ends at block {task.phase_ends_at}, head {head})")
        out.print(f"model {task.model_cid} {task.model_hash}")
        if task.spec.cohort or task.spec.committee:  # docs/committees.md
            out.print(f"cohort {task.spec.cohort or 'all'} ({task.cohort_size} drawn this "
                      f"attempt) · committee {task.spec.committee or 'all'} · audit "
                      f"{task.spec.audit / 10_000:g}%")
        t = Table("round", "accepted", "rejected", "attested accuracy", "model")
        for r in rounds:
            t.add_row(str(r["round"]), str(r["accepted"]), str(r["rejected"]),
                      f"{int(r['attested_score']) / 100:.2f}%", str(r["model_cid"]))
        out.print(t)

    emit(st, data, human)


@app.command("join")
def join(ctx: typer.Context, task_id: int = TaskArg,
         role: str = typer.Option(..., help="contributor or validator"),
         bond: str = typer.Option(
             None, help="Bond in DML (default: the task's bond for the role)."),
         key: str = KeyOpt, dev: str = DevOpt, password_file: Path = PasswordFileOpt,
         yes: bool = YesOpt) -> None:
    """Join a task as a contributor or validator, bonding stake in it (register first).

    The bond is held until you leave between rounds or the task ends; silence and work
    against the consensus cost part of it. You count from the next round."""
    from decentralml_client.chain import DecentralMl

    st = state(ctx)
    r = parse_role(role)
    with signed_connection(st, key, dev, password_file) as (signer, chain):
        dml = DecentralMl(chain)
        amount = parse_units(bond) if bond else task_bond(dml, task_id, r)
        confirm_send(chain, signer, f"join task {task_id} as {r.value}: {fmt_units(amount)} "
                     "held as bond", *dml.join_task_call(task_id, r, amount), yes=yes)
        dml.join_task(signer.keypair, task_id, r, amount)
    emit(st, {"task_id": task_id, "role": r.value, "bond": amount},
         lambda: out.print(f"joined task {task_id} as {r.value}, bond {fmt_units(amount)}"))


@app.command("leave")
def leave(ctx: typer.Context, task_id: int = TaskArg,
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
def allow(ctx: typer.Context, task_id: int = TaskArg,
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
def purge(ctx: typer.Context, task_id: int = TaskArg,
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


def committee_settings(min_contributors: int, max_contributors: int, max_validators: int,
                        cohort: int, committee: int, audit: str | None) -> dict[str, int]:
    """``cohort``, ``committee`` and ``audit`` (Permill) of a new task's spec, refused here
    with the pallet's rules (docs/committees.md) before anything is signed."""
    from decentralml_client.chain import TaskSpec, permill

    share = (parse_fraction(audit, "--audit") if audit is not None
             else 0.1 if committee else 0.0)
    seats = {"cohort": cohort, "committee": committee, "audit": permill(share)}
    try:
        TaskSpec(model_cid="", model_hash="", min_contributors=min_contributors,
                 max_contributors=max_contributors, max_validators=max_validators,
                 cohort=cohort, committee=committee, audit=seats["audit"]).check_committees()
    except ValueError as exc:
        fail(str(exc), Exit.USAGE, "see docs/committees.md")
    return seats


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
    return task.spec.contributor_bond if role == Role.CONTRIBUTOR else task.spec.validator_bond


@app.command("cancel")
def cancel(ctx: typer.Context, task_id: int = TaskArg,
           key: str = KeyOpt, dev: str = DevOpt, password_file: Path = PasswordFileOpt) -> None:
    """Cancel your task: finished rounds stay paid, the rest of the escrow comes back."""
    from decentralml_client.chain import DecentralMl

    st = state(ctx)
    with signed_connection(st, key, dev, password_file) as (signer, chain):
        receipt = DecentralMl(chain).cancel_task(signer.keypair, task_id)
    ev = receipt.find("TaskCancelled")
    emit(st, {"task_id": task_id, "event": ev[0].attributes if ev else None},
         lambda: out.print(f"cancelled task {task_id}"))
