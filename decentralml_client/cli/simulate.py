"""``decentralml simulate``: try a task design off chain before paying for it on chain."""



from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import typer


def simulate(
    contributors: int = typer.Option(
        10, "--contributors", "-n", min=1, help="Number of contributors."
    ),
    rounds: int = typer.Option(20, "--rounds", "-r", min=0, help="Number of federated rounds."),
    rule: str = typer.Option("fedavg", "--rule", help="fedavg | trimmed-mean | median | krum"),
    malicious: int = typer.Option(0, "--malicious", min=0, help="How many contributors attack."),
    attack: str = typer.Option(
        "sign-flip", "--attack",
        help="sign-flip | scale | noise | nan | label-flip | free-rider",
    ),
    attack_scale: float | None = typer.Option(
        None,
        "--attack-scale",
        help="Attack strength (sign-flip 4, scale 10, noise 1.0 by default).",
    ),
    encoding: str = typer.Option("f32", "--encoding", help="Update encoding: f32 | f16 | int8"),
    topk: float | None = typer.Option(
        None, "--topk", help="Keep this fraction of each delta (0-1]."
    ),
    partition: str = typer.Option("iid", "--partition", help="iid | dirichlet"),
    alpha: float = typer.Option(
        0.5, "--alpha", help="Dirichlet concentration (smaller = more skew)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the split, partition, init and training."),
    beta: float | None = typer.Option(
        None,
        "--beta",
        help="Trimmed mean: fraction trimmed from each side (default max(0.1, malicious/n)).",
    ),
    byzantine: int | None = typer.Option(
        None, "--byzantine", help="Krum: assumed Byzantine updates (default malicious)."
    ),
    dp_clip: float | None = typer.Option(
        None, "--dp-clip", help="DP: clip each delta to this L2 norm."
    ),
    dp_noise: float = typer.Option(
        0.0, "--dp-noise", help="DP: noise multiplier (σ = multiplier × clip)."
    ),
    validators: int = typer.Option(3, "--validators", min=1, help="Number of validators."),
    validator_strategy: str = typer.Option(
        "honest", "--validator-strategy",
        help="honest|accept-all|reject-all|random|copy|silent per validator, comma-separated "
             "in order (one value applies to all).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print only the summary JSON on stdout."),
    plot: Path | None = typer.Option(None, "--plot", help="Write a PNG of accuracy per round."),
) -> None:
    """Simulate N contributors x R rounds of federated learning on digits, in-process,
    with the same training, codec and aggregation the real roles use."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    err = Console(stderr=True)
    out = Console()
    if malicious > contributors:
        raise typer.BadParameter(f"--malicious {malicious} exceeds --contributors {contributors}")
    strategies = [s.strip() for s in validator_strategy.split(",") if s.strip()]

    with err.status("loading TensorFlow Federated…"):
        from decentralml_client.ml.errors import MLError
        from decentralml_client.ml.simulate import plot_accuracy, run_simulation
        from decentralml_client.ml.train import DPConfig, dp_epsilon

    dp = None
    if dp_clip is not None:
        dp = DPConfig(clip_norm=dp_clip, noise_multiplier=dp_noise)

    progress = Progress(
        TextColumn("[bold]round {task.fields[round]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("acc {task.fields[acc]}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
        redirect_stdout=False,
        redirect_stderr=False,
    )
    table = Table(title="decentralml simulate")
    for col in ("round", "accuracy", "loss", "accepted", "rejected", "seconds"):
        table.add_column(col, justify="right")
    total = contributors * rounds
    task = progress.add_task("train", total=total, round=0, acc="-")

    def on_update(r: int, i: int) -> None:
        progress.update(task, advance=1, round=r)

    def on_round(item: dict[str, Any]) -> None:
        progress.update(task, acc=f"{item['accuracy']:.3f}")
        loss = "-" if item["loss"] is None else f"{item['loss']:.4f}"
        table.add_row(
            str(item["round"]),
            f"{item['accuracy']:.4f}",
            loss,
            str(item["accepted"]),
            str(item["rejected"]),
            f"{item['seconds']:.2f}",
        )

    # Everything TF/TFF (and TFF's helper process, which inherits sys.stdout) might print goes
    # to stderr, so that stdout carries only the table or the JSON.
    try:
        with contextlib.redirect_stdout(sys.__stderr__ or sys.stderr), progress:
            summary = run_simulation(
                contributors=contributors,
                rounds=rounds,
                rule=rule,
                malicious=malicious,
                attack=attack,
                encoding=encoding,
                topk=topk,
                partition=partition,
                alpha=alpha,
                seed=seed,
                attack_scale=attack_scale,
                beta=beta,
                byzantine=byzantine,
                dp=dp,
                validators=validators,
                validator_strategies=strategies,
                on_round=on_round,
                on_update=on_update,
            )
    except MLError as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(code=2) from None
    if dp is not None:
        summary["dp_epsilon"] = dp_epsilon(dp_noise, rounds, 1e-5) if dp_noise > 0 else None
        summary["dp_delta"] = 1e-5
    if plot is not None:
        plot_accuracy(summary, str(plot))
        summary["plot"] = str(plot)
    if json_out:
        sys.stdout.write(json.dumps(summary, sort_keys=True) + "\n")
        sys.stdout.flush()
        return
    out.print(table)
    vt = Table(title="validators (paid and slashed by the pallet's rules)")
    for col in ("validator", "strategy", "reward", "bond at end", "slashed", "mean quality"):
        vt.add_column(col, justify="right")
    for v in summary["validators"]:
        vt.add_row(str(v["index"]), v["strategy"], str(v["reward"]), str(v["bond"]),
                   str(v["slashed"]), f"{v['mean_quality'] / 1e6:.2f}")
    out.print(vt)
    out.print(
        f"final accuracy {summary['final_accuracy']:.4f} after {rounds} rounds "
        f"(best {summary['best_accuracy']:.4f}); "
        f"{summary['bytes_per_update']:.0f} bytes per update "
        f"({summary['bytes_per_param']:.2f} B/param); "
        f"rejected updates: {summary['rejected_updates']} "
        f"(honest ones: {summary['false_rejections']})"
    )
    if plot is not None:
        out.print(f"plot written to {plot}")
