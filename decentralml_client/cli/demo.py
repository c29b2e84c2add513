"""``decentralml demo``: a whole federated task on the dev chain, in one command."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from decentralml_client.cli._common import Exit, console, emit, errors_to_exit, fail, out, state
from decentralml_client.units import PERMILL


def demo(
    ctx: typer.Context,
    rounds: int = typer.Option(3, min=1, max=50, help="Training rounds."),
    contributors: int = typer.Option(4, min=1, max=64, help="Contributor processes."),
    validators: int = typer.Option(3, min=1, max=16, help="Validator processes."),
    malicious: int = typer.Option(0, min=0, help="How many contributors poison their updates."),
    attack: str = typer.Option("sign-flip", help="What malicious contributors do: sign-flip, "
                                                 "scale, noise, nan, label-flip, free-rider or "
                                                 "copy; comma-separated, one per contributor."),
    validator_strategy: str = typer.Option(
        "honest", help="honest|accept-all|reject-all|random|copy|silent per validator, "
                       "comma-separated (one value applies to all)."),
    rule: str = typer.Option("fedavg", help="fedavg, trimmed-mean, median or krum."),
    plot: Path = typer.Option(Path("decentralml-demo.png"), help="PNG of accuracy per round."),
    local_epochs: int = typer.Option(5, min=1, help="Local epochs per round on each contributor."),
    example: str = typer.Option("digits", help="Built-in example: digits or breast-cancer "
                                               "(tabular, from CSV)."),
    model: Path = typer.Option(None, "--model", exists=True, dir_okay=False,
                               help="Train this model spec (from `decentralml model init`, its "
                                    "weights beside it) on the example's data instead."),
    seed: int = typer.Option(0, help="Seed of the data split, initial weights and training."),
    nodes: int = typer.Option(1, min=1, max=4, help="1: one dev node (a block as soon as "
                              "transactions arrive). 2-4: that many authorities (Alice, Bob, "
                              "Charlie, Dave; 2 s slots) with a Kubo each, participant i on "
                              "node and Kubo i mod N. A running `devnet up` is reused if it "
                              "has as many nodes."),
    cohort: int = typer.Option(0, min=0, help="Contributors drawn to train each round (0: "
                               "all); the others sit the round out (docs/committees.md)."),
    committee: int = typer.Option(0, min=0, help="Validators drawn by stake to judge each "
                                  "update, 1 to 5 (0: every validator judges every update)."),
    audit: str = typer.Option(None, show_default="10 % with --committee, else 0",
                              help="Share of updates judged by a committee three times as "
                                   "large (at most 50 %)."),
    timeout: float = typer.Option(1800, help="Give up after this many seconds."),
) -> None:
    """Run a federated task end to end: chain, IPFS, and every role as its own process.

    Interrupted (Ctrl-C, SIGTERM), it cancels its task: before the first round the whole
    escrow goes back at once; mid-round, the round is finished first (a second Ctrl-C stops
    waiting). It says which, and the next run creates a new task."""
    from decentralml_client.demo_run import DemoOptions, run_demo
    from decentralml_client.ml.attacks import ATTACKS
    from decentralml_client.ml.examples import EXAMPLES

    st = state(ctx)
    if example not in EXAMPLES:
        fail(f"--example must be one of {', '.join(EXAMPLES)}", Exit.USAGE)
    if malicious >= contributors:
        fail("--malicious must be smaller than --contributors (someone must be honest)", Exit.USAGE)
    if any(a.strip() not in ATTACKS for a in attack.split(",")):
        fail(f"--attack must be one of {ATTACKS}", Exit.USAGE)
    from decentralml_client.cli.task import committee_settings

    seats = committee_settings(max(1, min(contributors - malicious, cohort or contributors)),
                               contributors, validators, cohort, committee, audit)
    strategies = tuple(s.strip() for s in validator_strategy.split(",") if s.strip())
    opts = DemoOptions(rounds=rounds, contributors=contributors, validators=validators,
                       malicious=malicious, attack=attack, validator_strategies=strategies,
                       rule=rule, plot=plot, seed=seed,
                       local_epochs=local_epochs, example=example, model=model,
                       timeout=timeout, nodes=nodes, cohort=cohort, committee=committee,
                       audit=seats["audit"] / PERMILL)
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                        TextColumn("{task.completed}/{task.total} rounds"), TimeElapsedColumn(),
                        console=console, transient=False)
    bar = progress.add_task("starting the dev chain and IPFS" if nodes == 1 else
                            f"starting {nodes} nodes and their Kubo daemons", total=rounds)

    def on_progress(stage: str, info: dict[str, Any]) -> None:
        if stage == "round":
            done = min(info["round"], rounds) if info["status"] == "Active" else rounds
            text = (f"round {min(info['round'] + 1, rounds)}: {info['phase']}"
                    if info["status"] == "Active" else f"task {info['status'].lower()}")
            progress.update(bar, completed=done, description=text)
        else:
            text = stage.replace("_", " ") + " " + " ".join(f"{k}={v}" for k, v in info.items())
            progress.update(bar, description=text)
        if not console.is_terminal:  # no live bar off a terminal (CI, a log): one line each
            console.print(f"{time.strftime('%H:%M:%S')} {text}", highlight=False,
                          markup=False, soft_wrap=True)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)  # stopped like Ctrl-C: the task is cancelled
    with errors_to_exit():
        with progress:
            summary = run_demo(st.settings, opts, on_progress)
    emit(st, summary, lambda: _print(summary))


def _print(s: dict[str, Any]) -> None:
    from decentralml_client.cli._common import fmt_units

    t = Table("round", "accepted", "rejected", "attested accuracy", "rewards paid", "model CID",
              title=f"Task {s['task_id']} ({s['status']})")
    for r in s["rounds"]:
        t.add_row(str(r["round"]), str(r["accepted"]), str(r["rejected"]),
                  f"{100 * r['attested_accuracy']:.2f}%",
                  fmt_units(r["contributor_rewards"] + r["validator_rewards"]), r["model_cid"])
    out.print(t)
    out.print(f"final model {s['final_model_cid']}: "
              f"accuracy [bold]{100 * s['final_accuracy']:.2f}%[/]"
              f" on the test split; centralised baseline {100 * s['baseline_accuracy']:.2f}%")
    if s["malicious"]:
        out.print(f"poisoned updates rejected: {s['malicious_rejected']}/{s['malicious']}")
    v = Table("validator", "strategy", "rewards", "slashed", title="Validators")
    for row in s.get("validators", []):
        v.add_row(row["name"], row["strategy"], fmt_units(row["reward"]), fmt_units(row["slashed"]))
    out.print(v)
    by_node: dict[str, list[str]] = {}
    for person in s.get("participants", []):
        by_node.setdefault(person["node"], []).append(person["name"])
    if len(by_node) > 1:
        out.print("\n".join(f"{url}: {', '.join(names)}" for url, names in by_node.items()))
    if s.get("plot"):
        out.print(f"plot: {s['plot']}")
