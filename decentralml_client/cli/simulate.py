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
    example: str = typer.Option("digits", "--example",
                                help="Built-in example: digits | breast-cancer (tabular, CSV)."),
    rule: str = typer.Option("fedavg", "--rule",
                             help="fedavg | trimmed-mean | median | krum (comma-separated: "
                                  "compare several)"),
    server_opt: str = typer.Option(
        "none", "--server-opt",
        help="Server optimiser after the rule: none | momentum | adam | yogi (comma-separated: "
             "compare several)."),
    server_lr: float | None = typer.Option(
        None, "--server-lr", help="Server learning rate (momentum 1.0, adam/yogi 0.1)."),
    server_momentum: float | None = typer.Option(
        None, "--server-momentum", help="Server momentum (0.9)."),
    beta1: float | None = typer.Option(None, "--beta1", help="Adam/Yogi beta1 (0.9)."),
    beta2: float | None = typer.Option(None, "--beta2", help="Adam/Yogi beta2 (0.99)."),
    tau: float | None = typer.Option(None, "--tau", help="Adam/Yogi adaptivity tau (0.001)."),
    example_weighting: str = typer.Option(
        "claimed", "--example-weighting",
        help="How FedAvg weights updates by their claimed example counts: claimed (capped at "
             "max_examples only: plain FedAvg, as TFF) | median-capped (also capped at the "
             "round's median claim: what a task with open admission does); comma-separated: "
             "compare."),
    prox_mu: str = typer.Option(
        "0", "--prox-mu",
        help="FedProx proximal strength mu of the local objective (comma-separated: compare)."),
    local_epochs: int | None = typer.Option(
        None, "--local-epochs", min=1, help="Local epochs per round (default 1)."),
    local_steps: int | None = typer.Option(
        None, "--local-steps", min=1, help="Cap on local batches per round."),
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
    alpha: str = typer.Option(
        "0.5", "--alpha",
        help="Dirichlet concentration (smaller = more skew); comma-separated: a sweep."
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
    tff: bool = typer.Option(
        False, "--tff",
        help="Also run TensorFlow Federated's own algorithm for each run (build_weighted_fed_avg "
             "with the matching server optimiser; FedProx: build_weighted_fed_prox) on the same "
             "split, initial weights and batches, and report both."),
    json_out: bool = typer.Option(False, "--json", help="Print only the summary JSON on stdout."),
    plot: Path | None = typer.Option(
        None, "--plot",
        help="Write a PNG of accuracy per round (one line per compared run on one chart)."),
) -> None:
    """Simulate N contributors x R rounds of federated learning on a built-in example
    (digits by default), in-process,
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
        from decentralml_client.ml.examples import get_example
        from decentralml_client.ml.simulate import (
            plot_accuracy,
            plot_comparison,
            run_simulation,
            with_tff_curves,
        )
        from decentralml_client.ml.train import DPConfig, dp_epsilon
        from decentralml_client.protocol.rules import server_optimizer, with_client_options

    try:
        runs = _variants(rule, server_opt, prox_mu, alpha if partition == "dirichlet" else "",
                         example_weighting)
        opts = {name: server_optimizer(name, lr=server_lr, momentum=server_momentum,
                                       beta1=beta1, beta2=beta2, tau=tau)
                for name in {v["server_opt"] for v in runs}}
        specs = {mu: with_client_options(get_example(example).spec(seed),
                                         prox_mu=mu if mu > 0 else None,
                                         local_epochs=local_epochs, local_steps=local_steps)
                 for mu in {v["prox_mu"] for v in runs}}
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None

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
    for col in ("round", "accuracy", *(("TFF",) if tff else ()), "loss", "accepted",
                "rejected", "seconds"):
        table.add_column(col, justify="right")
    total = contributors * rounds * len(runs)
    task = progress.add_task("train", total=total, round=0, acc="-")

    def on_update(r: int, i: int) -> None:
        progress.update(task, advance=1, round=r)

    def on_round(item: dict[str, Any]) -> None:
        progress.update(task, acc=f"{item['accuracy']:.3f}")
        loss = "-" if item["loss"] is None else f"{item['loss']:.4f}"
        table.add_row(
            str(item["round"]),
            f"{item['accuracy']:.4f}",
            *((f"{item['tff_accuracy']:.4f}",) if tff else ()),
            loss,
            str(item["accepted"]),
            str(item["rejected"]),
            f"{item['seconds']:.2f}",
        )

    # Everything TF/TFF (and TFF's helper process, which inherits sys.stdout) might print goes
    # to stderr, so that stdout carries only the table or the JSON.
    try:
        with contextlib.redirect_stdout(sys.__stderr__ or sys.stderr), progress:
            dataset = get_example(example).split(seed)
            results: dict[str, dict[str, Any]] = {}
            for v in runs:
                summary = run_simulation(
                    contributors=contributors,
                    rounds=rounds,
                    rule=v["rule"],
                    server_optimizer=opts[v["server_opt"]],
                    example_weighting=v["weighting"],
                    model_spec=specs[v["prox_mu"]],
                    dataset=dataset,
                    malicious=malicious,
                    attack=attack,
                    encoding=encoding,
                    topk=topk,
                    partition=partition,
                    alpha=v["alpha"],
                    seed=seed,
                    attack_scale=attack_scale,
                    beta=beta,
                    byzantine=byzantine,
                    dp=dp,
                    validators=validators,
                    validator_strategies=strategies,
                    on_round=on_round if len(runs) == 1 else None,
                    on_update=on_update,
                    tff_reference=tff,
                )
                results[v["label"]] = summary
    except MLError as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(code=2) from None
    if len(runs) > 1:
        _report_comparison(results, plot, json_out, out,
                           f"{contributors} contributors, {partition}, seed {seed}", tff)
        return
    if dp is not None:
        summary["dp_epsilon"] = dp_epsilon(dp_noise, rounds, 1e-5) if dp_noise > 0 else None
        summary["dp_delta"] = 1e-5
    if plot is not None:
        if tff:  # ours and TFF's curve on one chart
            plot_comparison(with_tff_curves({"ours": summary}), str(plot),
                            title=f"{contributors} contributors, {partition}, seed {seed}")
        else:
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
    if tff:
        t = summary["tff"]
        out.print(f"TFF {t['algorithm']} on the same split: final accuracy "
                  f"{t['final_accuracy']:.4f} (best {t['best_accuracy']:.4f}); largest gap to "
                  f"ours over the rounds {t['max_gap_pp']:.2f} pp in accuracy, "
                  f"{t['max_weight_gap']:.1e} in any weight")
    if plot is not None:
        out.print(f"plot written to {plot}")


def _variants(rule: str, server_opt: str, prox_mu: str, alpha: str,
              weighting: str) -> list[dict[str, Any]]:
    """The runs to compare: every combination of the comma-separated values, labelled."""
    from decentralml_client.protocol.rules import example_weighting as weighting_name

    def split(text: str) -> list[str]:
        return [t.strip() for t in text.split(",") if t.strip()]

    rules, opt_names, mus = split(rule), split(server_opt), split(prox_mu)
    weightings = list(dict.fromkeys(weighting_name(w) for w in split(weighting)))
    alphas = split(alpha) or ["0.5"]
    try:
        mu_values = [float(m) for m in mus]
        alpha_values = [float(a) for a in alphas]
    except ValueError:
        raise ValueError("--prox-mu and --alpha take numbers (comma-separated)") from None
    if not rules or not opt_names or not mu_values or not weightings:
        raise ValueError("--rule, --server-opt, --prox-mu and --example-weighting need at "
                         "least one value")
    runs = []
    for a in alpha_values:
        for r in rules:
            for o in opt_names:
                for mu in mu_values:
                    for w in weightings:
                        label = r + ("" if o == "none" else f"+{o}")
                        label += f" prox {mu:g}" if mu > 0 else ""
                        label += f" {w}" if len(weightings) > 1 else ""
                        label += f" α={a:g}" if len(alpha_values) > 1 or alpha else ""
                        runs.append({"rule": r, "server_opt": o, "prox_mu": mu, "alpha": a,
                                     "weighting": w, "label": label})
    return runs


def _report_comparison(results: dict[str, dict[str, Any]], plot: Path | None, json_out: bool,
                       out: Any, title: str, tff: bool) -> None:
    from rich.table import Table

    from decentralml_client.ml.simulate import plot_comparison, rounds_to, with_tff_curves

    rows = [{"label": label, "final_accuracy": s["final_accuracy"],
             "best_accuracy": s["best_accuracy"], "rounds_to_90": rounds_to(s, 0.90),
             "rounds_to_94": rounds_to(s, 0.94), "config": s["config"],
             **({"tff": s["tff"]} if "tff" in s else {})}
            for label, s in results.items()]
    if plot is not None:
        plot_comparison(with_tff_curves(results) if tff else results, str(plot),
                        title=title)
    if json_out:
        sys.stdout.write(json.dumps({"runs": rows, "plot": str(plot) if plot else None,
                                     "histories": {k: s["rounds"] for k, s in results.items()}},
                                    sort_keys=True) + "\n")
        sys.stdout.flush()
        return
    table = Table(title=f"decentralml simulate: {title}")
    for col in ("run", "final", "best", "rounds to 90%", "rounds to 94%",
                *(("TFF final", "max |ours − TFF| pp") if tff else ())):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["label"], f"{r['final_accuracy']:.4f}", f"{r['best_accuracy']:.4f}",
                      str(r["rounds_to_90"] or "-"), str(r["rounds_to_94"] or "-"),
                      *((f"{r['tff']['final_accuracy']:.4f}", f"{r['tff']['max_gap_pp']:.2f}")
                        if tff else ()))
    out.print(table)
    if plot is not None:
        out.print(f"plot written to {plot}")
