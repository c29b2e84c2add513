"""``decentralml simulate``: try a task design off chain before paying for it on chain.

It runs a built-in example (digits by default) or your own model and data (``--model`` from
`decentralml model init`, ``--data`` as for `contribute`) with every rule, server optimiser,
attack and validator strategy the chain knows, in one process.
"""

from __future__ import annotations

import contextlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

_DESIGN = "Task design"
_ATTACKS = "Attackers and validators"
_DATA = "Model and data"
_OUTPUT = "Output"


_SERVER_LR = typer.Option(
    None, "--server-lr", rich_help_panel=_DESIGN,
    help="Server learning rate (momentum 1.0, adam/yogi 0.1).")

_SERVER_MOMENTUM = typer.Option(
    None, "--server-momentum", rich_help_panel=_DESIGN, help="Server momentum (0.9).")

_BETA1 = typer.Option(None, "--beta1", rich_help_panel=_DESIGN,
                     help="Adam/Yogi beta1 (0.9).")

_BETA2 = typer.Option(None, "--beta2", rich_help_panel=_DESIGN,
                     help="Adam/Yogi beta2 (0.99).")

_TAU = typer.Option(None, "--tau", rich_help_panel=_DESIGN,
                     help="Adam/Yogi adaptivity tau (0.001).")

_EXAMPLE_WEIGHTING = typer.Option(
    "claimed", "--example-weighting", rich_help_panel=_DESIGN,
    help="How FedAvg weights updates by their claimed example counts: claimed (capped at "
         "max_examples only: plain FedAvg, as TFF) | median-capped (also capped at the "
         "round's median claim: what a task with open admission does); comma-separated: "
         "compare.")

_ATTACK = typer.Option(
    "sign-flip", "--attack", rich_help_panel=_ATTACKS,
    help="sign-flip | scale | noise | nan | label-flip | free-rider | copy | replay | "
         "replay-old | history-mix | noise-rider",
)

_ATTACK_SCALE = typer.Option(
    None, "--attack-scale", rich_help_panel=_ATTACKS,
    help="Attack strength (sign-flip 4, scale 10, noise 1.0 by default).",
)

_BETA = typer.Option(
    None, "--beta", rich_help_panel=_DESIGN,
    help="Trimmed mean: share trimmed from each side (default max(10 %, malicious/n)).",
)

_BYZANTINE = typer.Option(
    None, "--byzantine", rich_help_panel=_DESIGN,
    help="Krum: assumed Byzantine updates (default malicious)."
)

_DP_CLIP = typer.Option(
    None, "--dp-clip", rich_help_panel=_DESIGN, help="DP: clip each delta to this L2 norm."
)

_DP_NOISE = typer.Option(
    0.0, "--dp-noise", rich_help_panel=_DESIGN,
    help="DP: noise multiplier (σ = multiplier × clip)."
)

_TFF = typer.Option(
    False, "--tff", rich_help_panel=_OUTPUT,
    help="Also run TensorFlow Federated's own algorithm for each run (build_weighted_fed_avg "
         "with the matching server optimiser; FedProx: build_weighted_fed_prox) on the same "
         "split, initial weights and batches, and report both.")

_COHORT = typer.Option(
    0, "--cohort", min=0, rich_help_panel=_DESIGN,
    help="Contributors drawn to train each round (0: all; docs/committees.md).")

_COMMITTEE = typer.Option(
    0, "--committee", min=0, max=5, rich_help_panel=_DESIGN,
    help="Validators that judge each update, drawn by bond (0: every validator).")

_AUDIT = typer.Option(
    None, "--audit", rich_help_panel=_DESIGN,
    help="Share of updates judged by a committee three times as large, e.g. 10% (default "
         "10% with a committee, at most 50%).")

_COMPARE_FULL = typer.Option(
    False, "--compare-full", rich_help_panel=_OUTPUT,
    help="With --committee: also judge every update by every validator (off the record) and "
         "report how often the committees' outcome is the same.")

_MODEL_OPT = typer.Option(
    None, "--model", exists=True, dir_okay=False, rich_help_panel=_DATA,
    help="Your model spec (from `decentralml model init`); its initial weights file "
         "beside it (NAME.weights.safetensors) is the starting point.")

_DATA_OPT = typer.Option(
    None, "--data", exists=True, dir_okay=False, rich_help_panel=_DATA,
    help="Your data: .npz (arrays x, y) or .csv (feature columns and a label column), "
         "split into train (dealt to the contributors) and test (held by the validators).")


@dataclass
class _Plan:
    """What the command runs: the compared variants and what they share."""

    runs: list[dict[str, Any]]
    kwargs: dict[str, Any]  # run_simulation's arguments common to every run
    opts: dict[str, Any]  # server optimiser name -> optimiser
    specs: dict[float, Any]  # FedProx mu -> model spec
    dataset: Any
    initial: Any  # the user's initial weights (None: drawn from the seed)
    title: str
    results: dict[str, dict[str, Any]] = field(default_factory=dict)


def simulate(
    contributors: int = typer.Option(
        10, "--contributors", "-n", min=1, help="Number of contributors.",
        rich_help_panel=_DESIGN),
    rounds: int = typer.Option(20, "--rounds", "-r", min=0, help="Number of federated rounds.",
                               rich_help_panel=_DESIGN),
    example: str = typer.Option("digits", "--example", rich_help_panel=_DATA,
                                help="Built-in example: digits | breast-cancer (tabular, CSV); "
                                     "its model unless --model, its data unless --data."),
    model: Path | None = _MODEL_OPT,
    data: Path | None = _DATA_OPT,
    test_size: float = typer.Option(0.25, "--test-size", min=0.01, max=0.99,
                                    rich_help_panel=_DATA,
                                    help="Share of --data held out for testing."),
    rule: str = typer.Option("fedavg", "--rule", rich_help_panel=_DESIGN,
                             help="fedavg | trimmed-mean | median | krum (comma-separated: "
                                  "compare several)"),
    server_opt: str = typer.Option(
        "none", "--server-opt", rich_help_panel=_DESIGN,
        help="Server optimiser after the rule: none | momentum | adam | yogi (comma-separated: "
             "compare several)."),
    server_lr: float | None = _SERVER_LR,
    server_momentum: float | None = _SERVER_MOMENTUM,
    beta1: float | None = _BETA1,
    beta2: float | None = _BETA2,
    tau: float | None = _TAU,
    example_weighting: str = _EXAMPLE_WEIGHTING,
    prox_mu: str = typer.Option(
        "0", "--prox-mu", rich_help_panel=_DESIGN,
        help="FedProx proximal strength mu of the local objective (comma-separated: compare)."),
    local_epochs: int | None = typer.Option(
        None, "--local-epochs", min=1, rich_help_panel=_DESIGN,
        help="Local epochs per round (default: the model spec's, 1 for the examples)."),
    local_steps: int | None = typer.Option(
        None, "--local-steps", min=1, rich_help_panel=_DESIGN,
        help="Cap on local batches per round."),
    malicious: int = typer.Option(0, "--malicious", min=0, rich_help_panel=_ATTACKS,
                                  help="How many contributors attack."),
    attack: str = _ATTACK,
    attack_scale: float | None = _ATTACK_SCALE,
    encoding: str = typer.Option("f32", "--encoding", rich_help_panel=_DESIGN,
                                 help="Update encoding: f32 | f16 | int8"),
    topk: float | None = typer.Option(
        None, "--topk", rich_help_panel=_DESIGN,
        help="Keep this share of each delta's largest changes (0-1]."),
    partition: str = typer.Option("iid", "--partition", rich_help_panel=_DATA,
                                  help="How the training data is dealt: iid | dirichlet"),
    alpha: str = typer.Option(
        "0.5", "--alpha", rich_help_panel=_DATA,
        help="Dirichlet concentration (smaller = more skew); comma-separated: a sweep."
    ),
    seed: int = typer.Option(0, "--seed", rich_help_panel=_DATA,
                             help="Seed of the split, partition, init and training."),
    beta: float | None = _BETA,
    byzantine: int | None = _BYZANTINE,
    dp_clip: float | None = _DP_CLIP,
    dp_noise: float = _DP_NOISE,
    validators: int = typer.Option(3, "--validators", min=1, rich_help_panel=_ATTACKS,
                                   help="Number of validators."),
    validator_strategy: str = typer.Option(
        "honest", "--validator-strategy", rich_help_panel=_ATTACKS,
        help="honest|accept-all|reject-all|random|copy|silent per validator, comma-separated "
             "in order (one value applies to all).",
    ),
    cohort: int = _COHORT,
    committee: int = _COMMITTEE,
    audit: str | None = _AUDIT,
    compare_full: bool = _COMPARE_FULL,
    tff: bool = _TFF,
    json_out: bool = typer.Option(False, "--json", rich_help_panel=_OUTPUT,
                                  help="Print only the summary JSON on stdout."),
    plot: Path | None = typer.Option(
        None, "--plot", rich_help_panel=_OUTPUT,
        help="Write a PNG of accuracy per round (one line per compared run on one chart)."),
) -> None:
    """Simulate N contributors x R rounds of federated learning in-process, with the same
    training, codec, acceptance rule, aggregation and pay the real roles and the pallet use:
    on a built-in example (digits by default), or on your own model (--model) and data
    (--data)."""
    from rich.console import Console

    err = Console(stderr=True)
    if malicious > contributors:
        raise typer.BadParameter(f"--malicious {malicious} exceeds --contributors {contributors}")
    strategies = [s.strip() for s in validator_strategy.split(",") if s.strip()]
    with err.status("loading TensorFlow Federated…"):
        from decentralml_client.ml.errors import MLError
        from decentralml_client.ml.train import DPConfig, dp_epsilon
    dp = None if dp_clip is None else DPConfig(clip_norm=dp_clip, noise_multiplier=dp_noise)
    sampling = _sampling(cohort, committee, audit, compare_full)
    kwargs = dict(contributors=contributors, rounds=rounds, malicious=malicious, attack=attack,
                  sampling=sampling, encoding=encoding, topk=topk, partition=partition, seed=seed,
                  attack_scale=attack_scale, beta=beta, byzantine=byzantine, dp=dp,
                  validators=validators, validator_strategies=strategies, tff_reference=tff)
    try:
        plan = _plan(kwargs, example=example, model=model, data=data, test_size=test_size,
                     rule=rule, server_opt=server_opt, prox_mu=prox_mu, example_weighting=
                     example_weighting, alpha=alpha if partition == "dirichlet" else "",
                     local_epochs=local_epochs, local_steps=local_steps,
                     optimiser={"lr": server_lr, "momentum": server_momentum, "beta1": beta1,
                                "beta2": beta2, "tau": tau})
        table = _run_all(plan, err, tff)
    except MLError as e:
        err.print(f"[red]error:[/red] {e}", highlight=False)
        raise typer.Exit(code=2) from None
    out = Console()
    if len(plan.runs) > 1:
        _report_comparison(plan.results, plot, json_out, out, plan.title, tff)
        return
    summary = next(iter(plan.results.values()))
    if dp is not None:
        summary["dp_epsilon"] = dp_epsilon(dp_noise, rounds, 1e-5) if dp_noise > 0 else None
        summary["dp_delta"] = 1e-5
    _report_single(summary, plot, json_out, out, table, plan.title, tff)


def _sampling(cohort: int, committee: int, audit: str | None, compare_full: bool) -> Any:
    """The cohort, committee and audit share of ``--cohort``, ``--committee``, ``--audit``
    (None: neither a cohort nor a committee, the run is as it always was)."""
    from decentralml_client.ml.sampled import Sampling

    if audit is not None and not committee:
        raise typer.BadParameter("--audit needs --committee")
    if compare_full and not committee:
        raise typer.BadParameter("--compare-full needs --committee")
    if not cohort and not committee:
        return None
    ppm = 100_000 if committee else 0
    if audit is not None:
        text = audit.strip()
        try:
            value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
        except ValueError:
            raise typer.BadParameter(f"--audit {audit!r}: give a share like 10% or 0.1") from None
        if not 0 <= value <= 0.5:
            raise typer.BadParameter("--audit is at most 50%")
        ppm = round(value * 1_000_000)
    return Sampling(cohort=cohort, committee=committee, audit=ppm, compare_full=compare_full)


def _plan(kwargs: dict[str, Any], *, example: str, model: Path | None, data: Path | None,
          test_size: float, rule: str, server_opt: str, prox_mu: str, example_weighting: str,
          alpha: str, local_epochs: int | None, local_steps: int | None,
          optimiser: dict[str, float | None]) -> _Plan:
    """The runs to make and their shared inputs: the model (an example's or the user's spec
    with its initial weights) and the data (the example's split or the user's file split)."""
    from decentralml_client.ml.examples import get_example
    from decentralml_client.ml.model_spec import with_client_options
    from decentralml_client.ml.server_opt import server_optimizer

    try:
        runs = _variants(rule, server_opt, prox_mu, alpha, example_weighting)
        opts = {name: server_optimizer(name, **optimiser)
                for name in {v["server_opt"] for v in runs}}
        if model is None:
            base, initial = get_example(example).spec(kwargs["seed"]), None
        else:
            base, initial = _user_model(model)
        specs = {mu: with_client_options(base, prox_mu=mu if mu > 0 else None,
                                         local_epochs=local_epochs, local_steps=local_steps)
                 for mu in {v["prox_mu"] for v in runs}}
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    if data is not None:
        from decentralml_client.ml.data import load_file, split_dataset

        x, y = load_file(data, base)
        dataset = split_dataset(x, y, test_size, kwargs["seed"])
        source = data.name
    elif model is not None:
        raise typer.BadParameter("--model needs your data too: pass --data FILE (.npz or .csv)")
    else:
        dataset, source = get_example(example).split(kwargs["seed"]), example
    title = (f"{kwargs['contributors']} contributors, {source}, {kwargs['partition']}, "
             f"seed {kwargs['seed']}")
    return _Plan(runs, kwargs, opts, specs, dataset, initial, title)


def _user_model(path: Path) -> tuple[Any, Any]:
    """A model spec written by `model init` and its initial weights (the weights file beside
    it; None when there is none: drawn from the seed, as a task would)."""
    from decentralml_client.ml.codec import decode_tensors
    from decentralml_client.ml.keras_io import weights_file_for
    from decentralml_client.ml.model_spec import ModelSpec

    spec = ModelSpec.from_bytes(path.read_bytes())
    weights = weights_file_for(path)
    if not weights.is_file():
        return spec, None
    return spec, decode_tensors(weights.read_bytes(), spec, kind="weights").tensors


def _run_all(plan: _Plan, err: Any, tff: bool) -> Any:
    """Run every variant with a progress bar on stderr; the single run's round table."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from decentralml_client.ml.simulate import run_simulation

    progress = Progress(
        TextColumn("[bold]round {task.fields[round]}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("acc {task.fields[acc]}"), TimeElapsedColumn(), console=err,
        transient=False, redirect_stdout=False, redirect_stderr=False)
    table = Table(title="decentralml simulate")
    for col in ("round", "accuracy", *(("TFF",) if tff else ()), "loss", "accepted",
                "rejected", "seconds"):
        table.add_column(col, justify="right")
    drawn = plan.kwargs["contributors"]
    if plan.kwargs.get("sampling") is not None and plan.kwargs["sampling"].cohort:
        drawn = min(drawn, plan.kwargs["sampling"].cohort)
    total = drawn * plan.kwargs["rounds"] * len(plan.runs)
    bar = progress.add_task("train", total=total, round=0, acc="-")

    def on_update(r: int, i: int) -> None:
        progress.update(bar, advance=1, round=r)

    def on_round(item: dict[str, Any]) -> None:
        progress.update(bar, acc=f"{item['accuracy']:.3f}")
        loss = "-" if item["loss"] is None else f"{item['loss']:.4f}"
        table.add_row(str(item["round"]), f"{item['accuracy']:.4f}",
                      *((f"{item['tff_accuracy']:.4f}",) if tff else ()), loss,
                      str(item["accepted"]), str(item["rejected"]), f"{item['seconds']:.2f}")

    # Everything TF/TFF (and TFF's helper process, which inherits sys.stdout) might print goes
    # to stderr, so that stdout carries only the table or the JSON.
    with contextlib.redirect_stdout(sys.__stderr__ or sys.stderr), progress:
        for v in plan.runs:
            plan.results[v["label"]] = run_simulation(
                **plan.kwargs, rule=v["rule"], server_optimizer=plan.opts[v["server_opt"]],
                example_weighting=v["weighting"], model_spec=plan.specs[v["prox_mu"]],
                dataset=plan.dataset, initial_weights=plan.initial, alpha=v["alpha"],
                on_round=on_round if len(plan.runs) == 1 else None, on_update=on_update)
    return table


def _report_single(summary: dict[str, Any], plot: Path | None, json_out: bool, out: Any,
                   table: Any, title: str, tff: bool) -> None:
    """One run: its plot, then its JSON or its round and validator tables."""
    from rich.table import Table

    from decentralml_client.ml.simulate import plot_accuracy, plot_comparison, with_tff_curves

    if plot is not None:
        if tff:  # ours and TFF's curve on one chart
            plot_comparison(with_tff_curves({"ours": summary}), str(plot), title=title)
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
        f"final accuracy {summary['final_accuracy']:.4f} after {summary['config']['rounds']} "
        f"rounds (best {summary['best_accuracy']:.4f}); "
        f"{summary['bytes_per_update']:.0f} bytes per update "
        f"({summary['bytes_per_param']:.2f} B/param); "
        f"rejected updates: {summary['rejected_updates']} "
        f"(honest ones: {summary['false_rejections']})"
    )
    if "sampling" in summary:
        s = summary["sampling"]
        out.print(f"cohort {s['cohort'] or 'all'}, committee {s['committee'] or 'all'}: "
                  f"{s['evaluations_per_validator_per_round_mean']:.1f} evaluations per "
                  f"validator per round (max {s['evaluations_per_validator_per_round_max']}), "
                  f"{s['audited']} audited updates"
                  + (f"; outcome as with every validator judging: "
                     f"{100 * s['agreement_with_full']:.2f} %"
                     if "agreement_with_full" in s else ""))
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
