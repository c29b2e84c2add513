"""``decentralml model``: bring a Keras model to a task, and take the trained one home.

``init`` turns a Keras model into a task's model spec (and initial weights); ``pull`` fetches
an adopted model, checks it against the chain and writes a file Keras loads; ``eval`` scores
each round's model on your own data; ``lineage`` shows where a model came from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.tree import Tree

from decentralml_client.cli._common import (
    Exit,
    connect,
    console,
    emit,
    errors_to_exit,
    fail,
    fmt_units,
    open_store,
    out,
    state,
)

app = typer.Typer(help="Models in and out: init from Keras, pull, eval, lineage.",
                  no_args_is_help=True)


@app.command("init")
def init(
    ctx: typer.Context,
    source: Path = typer.Option(..., "--from", exists=True,
                                help="Keras model: a .keras file, a SavedModel directory, or "
                                     "Keras JSON (model.to_json()) with --weights."),
    weights: Path = typer.Option(None, "--weights", exists=True, dir_okay=False,
                                 help="Weights (.weights.h5) for a Keras JSON model."),
    out_path: Path = typer.Option(Path("model-spec.json"), "--out",
                                  help="Model spec to write; the initial weights go beside it "
                                       "as NAME.weights.safetensors."),
    show: bool = typer.Option(False, "--print",
                              help="Also show the architecture, parameter count and the size "
                                   "of one update per encoding."),
    optimizer: str = typer.Option(None, help="Client optimiser, sgd or adam (default: the "
                                             "model's compile config, else sgd)."),
    learning_rate: float = typer.Option(None, min=0.0, help="Client learning rate (default: "
                                                            "the compile config, else 0.1)."),
    local_epochs: int = typer.Option(None, min=1, help="Local epochs per round (default 1)."),
    batch_size: int = typer.Option(None, min=1, help="Local batch size (default 32)."),
    force: bool = typer.Option(False, help="Overwrite existing files."),
) -> None:
    """Write a task's model spec from a Keras model; layers outside the allow-list are
    refused by name. Create the task with `decentralml task create --model SPEC`."""
    from decentralml_client.ml.keras_io import describe_spec, import_keras, weights_file_for

    st = state(ctx)
    weights_out = weights_file_for(out_path)
    if not force:
        for p in (out_path, weights_out):
            if p.exists():
                fail(f"{p} exists", Exit.USAGE, "pass --force to overwrite it, or --out another "
                                                "name.")
    with console.status("reading the Keras model…"):
        imported = import_keras(source, weights, optimizer=optimizer,
                                learning_rate=learning_rate, local_epochs=local_epochs,
                                batch_size=batch_size)
    spec = imported.spec
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(spec.to_dict(), indent=2, sort_keys=True) + "\n")
    weights_out.write_bytes(imported.weights_file)
    info = describe_spec(spec)
    data = {"spec": str(out_path), "weights": str(weights_out), "source": imported.source,
            **info}

    def human() -> None:
        if show:
            print_description(info)
        out.print(f"wrote {out_path} ({info['params']:,} parameters, spec hash "
                  f"{info['spec_hash'][:18]}…) and {weights_out}")
        out.print(f"next: decentralml task create --model {out_path} --dev alice")

    emit(st, data, human)


def print_description(info: dict[str, Any]) -> None:
    """The architecture table and the update sizes of a described model spec."""
    t = Table("layer", "class", "settings", "parameters",
              title=f"{info['model']} model: input {tuple(info['input_shape'])}, "
                    f"{info['num_classes']} classes")
    for lay in info["layers"]:
        settings = ", ".join(f"{k}={v}" for k, v in lay["settings"].items())
        t.add_row(lay["name"], str(lay["class"]), settings, f"{lay['params']:,}")
    t.add_row("total", "", "", f"{info['params']:,}", style="bold")
    out.print(t)
    sizes = Table("encoding", "bytes per update", "bytes per parameter",
                  title="update size per encoding")
    for name, size in info["update_bytes"].items():
        sizes.add_row(name, f"{size:,}", f"{size / info['params']:.2f}")
    out.print(sizes)
    out.print(f"client training: {info['optimizer']} lr {info['learning_rate']}, "
              f"{info['local_epochs']} local epoch(s), batch {info['batch_size']}")


@app.command("pull")
def pull(
    ctx: typer.Context,
    task_id: int = typer.Argument(..., help="Task whose model to fetch."),
    round_: int = typer.Option(None, "--round", min=0,
                               help="Finalised round whose adopted model to fetch (default: "
                                    "the last)."),
    out_path: Path = typer.Option(None, "--out",
                                  help="File to write (default: task-T-round-R.keras / "
                                       ".safetensors / .npz)."),
    fmt: str = typer.Option("keras", "--format", help="keras, safetensors or npz."),
    recompute: bool = typer.Option(True, help="Recompute the aggregate from the round's "
                                              "accepted updates and compare its hash."),
    force: bool = typer.Option(False, "--force", help="Overwrite the output file if it exists."),
) -> None:
    """Fetch the adopted model of a finished round, check it against the attested hash and
    its lineage, and write it as a file Keras (or safetensors, or numpy) loads."""
    from decentralml_client.ml.keras_io import MODEL_FORMATS, write_model
    from decentralml_client.roles.models import pull_model, reader_context

    st = state(ctx)
    if fmt not in MODEL_FORMATS:
        fail(f"--format must be one of {', '.join(MODEL_FORMATS)}", Exit.USAGE)
    if out_path is not None:  # refused before anything is fetched
        _refuse_overwrite(out_path, force)
    with errors_to_exit(), connect(st) as chain:
        rc = reader_context(chain, open_store(st), st.settings.data_dir)
        with console.status("fetching and checking the model…"):
            pulled = pull_model(rc, task_id, round_, recompute=recompute)
        suffix = {"keras": ".keras", "safetensors": ".safetensors", "npz": ".npz"}[fmt]
        path = out_path or Path(f"task-{task_id}-round-{pulled.round}{suffix}")
        _refuse_overwrite(path, force)
        write_model(pulled.spec, pulled.weights, path, fmt, weights_file=pulled.data)
    rl = pulled.lineage.last
    data = {"task_id": task_id, "round": pulled.round, "out": str(path), "format": fmt,
            "model_cid": rl.model_cid, "model_hash": rl.model_hash,
            "attested_accuracy": rl.attested_score / 10_000,
            "attestations": len(rl.attestations), "accepted_updates": rl.accepted,
            "recomputed": pulled.recomputed}

    def human() -> None:
        out.print(f"task {task_id} round {pulled.round}: model {rl.model_hash[:18]}… attested by "
                  f"{len(rl.attestations)} validator(s) at "
                  f"{rl.attested_score / 100:.2f}% accuracy, from {rl.accepted} accepted "
                  f"update(s)" + (", aggregate recomputed and matching" if pulled.recomputed
                                  else ""))
        out.print(f"wrote {path}")
        if fmt == "keras":
            out.print(f"load it with: keras.models.load_model({str(path)!r})")

    emit(st, data, human)


def _refuse_overwrite(path: Path, force: bool) -> None:
    """Stop unless ``path`` is free or ``--force`` allows overwriting it (as `model init`)."""
    if path.exists() and not force:
        fail(f"{path} exists", Exit.USAGE, "pass --force to overwrite it, or --out another file.")


@app.command("eval")
def eval_(
    ctx: typer.Context,
    task_id: int = typer.Argument(..., help="Task whose models to evaluate."),
    data: Path = typer.Option(..., "--data", exists=True, dir_okay=False,
                              help="Your test data: .npz (x, y) or .csv (features..., label)."),
    plot: Path = typer.Option(None, "--plot", help="Also draw accuracy and loss per round "
                                                   "into this PNG."),
) -> None:
    """Evaluate the initial model and each round's adopted model on your own data."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from decentralml_client.ml.data import load_file
    from decentralml_client.roles.models import evaluate_rounds, reader_context

    st = state(ctx)
    with errors_to_exit(), connect(st) as chain:
        rc = reader_context(chain, open_store(st), st.settings.data_dir)
        x, y = load_file(data, rc.model_spec(rc.task(task_id)))
        progress = Progress(TextColumn("evaluating models"), BarColumn(), MofNCompleteColumn(),
                            console=console, transient=True)
        with progress:
            bar = progress.add_task("eval", total=None)
            rows = evaluate_rounds(rc, task_id, x, y, lambda done, total: progress.update(
                bar, completed=done, total=total))
    if plot is not None:
        from decentralml_client.ml.simulate import plot_accuracy

        plot_accuracy({"rounds": [{**r, "round": _plotted(r)} for r in rows]}, str(plot),
                      x_label="round (its adopted model)",
                      title=f"task {task_id}: its models on {data.name} ({len(y)} examples)")
    result = {"task_id": task_id, "data": str(data), "num_examples": len(y), "rounds": rows,
              "plot": str(plot) if plot else None}

    def human() -> None:
        t = Table("model", "accuracy", "loss", "attested accuracy", "model hash",
                  title=f"Task {task_id} on {data.name} ({len(y)} examples)")
        for r in rows:
            name = "initial" if r["round"] is None else f"after round {r['round']}"
            attested = ("-" if r["attested_accuracy"] is None
                        else f"{100 * r['attested_accuracy']:.2f}%")
            t.add_row(name, f"{100 * r['accuracy']:.2f}%", f"{r['loss']:.4f}", attested,
                      r["model_hash"][:18] + "…")
        out.print(t)
        if plot is not None:
            out.print(f"plot: {plot}")

    emit(st, result, human)


def _plotted(row: dict[str, Any]) -> int:
    """A model's place on the plot's x axis, as in the demo's plot: round R's adopted model at
    R, the initial model before round 0 (at -1, labelled "initial")."""
    return -1 if row["round"] is None else int(row["round"])


@app.command("lineage")
def lineage(
    ctx: typer.Context,
    task_id: int = typer.Argument(..., help="Task whose model lineage to check."),
    round_: int = typer.Option(None, "--round", min=0,
                               help="Last round to show (default: the last finalised)."),
) -> None:
    """The tree from the initial model to a round's model: every accepted update's CID,
    contributor and votes, and the attestations of each adopted model."""
    from decentralml_client.chain import DecentralMl
    from decentralml_client.roles.lineage import lineage_report

    st = state(ctx)
    with errors_to_exit(), connect(st) as chain:
        lin, data = lineage_report(DecentralMl(chain), task_id, round_)
    problem = data["problem"]

    def human() -> None:
        root = Tree(f"[bold]task {task_id}[/] ({lin.status}) — model spec {lin.model_spec_cid}")
        node = root.add("M0 initial weights named by the model spec")
        for rl in lin.rounds:
            share = f"{rl.attested_score / 100:.2f}%"
            node = node.add(f"[bold]M{rl.round + 1}[/] {rl.model_hash} (round {rl.round}, "
                            f"cid {rl.model_cid}) attested {share}, proposed by "
                            f"{rl.proposer or '?'}")
            att = node.add(f"attestations ({len(rl.attestations)})")
            for a in rl.attestations:
                att.add(f"{a.validator}: accuracy {a.score / 100:.2f}%, bond {fmt_units(a.bond)}")
            ups = node.add(f"accepted updates ({rl.accepted}; rejected {rl.rejected}, "
                           f"void {rl.void})")
            for u in rl.accepted_updates:
                leaf = ups.add(f"#{u.index} {u.cid} by {u.contributor}, "
                               f"{u.num_examples} examples")
                for v in u.votes:
                    leaf.add(f"{'accept' if v.accept else 'reject'} (score {v.score / 100:.2f}%) "
                             f"by {v.validator}")
        out.print(root)
        if problem:
            out.print(f"[bold red]lineage check failed:[/] {problem}")
        else:
            out.print("lineage checked: every adopted model reached the attestation quorum, "
                      "every accepted update the vote quorum")

    emit(st, data, human)
