"""Plots of a simulation or a task: accuracy (and loss) per round, runs compared."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def plot_accuracy(summary: Mapping[str, Any], path: str, *, title: str | None = None,
                  x_label: str = "round") -> None:
    """Write a PNG of test accuracy (and the loss on a second axis, when the rows carry
    one) per round (matplotlib, Agg backend). ``summary["rounds"]``
    holds ``{"round", "accuracy", "loss"?}`` rows; ``round`` counts rounds completed. A row
    at round -1 is the initial model (its tick reads "initial")."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rs = summary["rounds"]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.plot([h["round"] for h in rs], [h["accuracy"] for h in rs], marker="o", markersize=3,
            label="accuracy")
    cfg = summary.get("config", {})
    ax.set_title(
        title or f"{cfg.get('contributors')} contributors, rule {cfg.get('rule')}, "
        f"{cfg.get('malicious', 0)} malicious",
        fontsize=9,
    )
    ax.set_xlabel(x_label)
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if any(h["round"] == -1 for h in rs):
        ax.xaxis.set_major_formatter(FuncFormatter(
            lambda v, _: "initial" if round(v) == -1 else f"{v:g}"))
    losses = [(h["round"], h["loss"]) for h in rs if h.get("loss") is not None]
    if losses:
        ax2 = ax.twinx()
        ax2.plot(*zip(*losses, strict=True), color="C1", marker="s", markersize=3,
                 linestyle="--", label="loss")
        ax2.set_ylabel("loss")
        ax2.set_ylim(bottom=0)
        fig.legend(loc="lower left", bbox_to_anchor=(0.1, 0.12), fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def rounds_to(summary: Mapping[str, Any], target: float) -> int | None:
    """The first round whose global model reaches ``target`` test accuracy (None: never)."""
    return next((h["round"] for h in summary["rounds"] if h["accuracy"] >= target), None)


TFF_CURVE = " · TFF"  # suffix of the label of TFF's curve beside a run's (drawn dashed)


def with_tff_curves(runs: Mapping[str, Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The runs plus, for each run made with ``tff_reference``, TFF's curve labelled
    ``<label>`` + :data:`TFF_CURVE` (for :func:`plot_comparison`)."""
    out: dict[str, Mapping[str, Any]] = {}
    for label, summary in runs.items():
        out[label] = summary
        if "tff" in summary:
            out[label + TFF_CURVE] = {"rounds": [
                {"round": h["round"], "accuracy": h["tff_accuracy"]} for h in summary["rounds"]]}
    return out


def plot_comparison(runs: Mapping[str, Mapping[str, Any]], path: str, *,
                    title: str | None = None) -> None:
    """Write a PNG with the test accuracy per round of several runs (one line per label,
    e.g. one per rule, server optimiser or Dirichlet α) on one chart (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    for label, summary in runs.items():
        rs = summary["rounds"]
        ax.plot([h["round"] for h in rs], [h["accuracy"] for h in rs], marker="o",
                markersize=2, linewidth=1.2, label=label,
                linestyle="--" if label.endswith(TFF_CURVE) else "-")
    for target in (0.90, 0.94):
        ax.axhline(target, color="grey", linewidth=0.6, linestyle=":")
    ax.set_title(title or "test accuracy per round", fontsize=9)
    ax.set_xlabel("round")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
