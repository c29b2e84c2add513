"""Server-side HTML from Jinja2 templates (``templates/``), autoescaped.

No JavaScript framework and no external assets: the pages load only ``/static/dashboard.css``
and ``/static/dashboard.js`` from this server. The accuracy chart is inline SVG from a
template; its geometry is computed here (:func:`chart_geometry`), in plain numbers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from decentralml_client.chain import UNIT
from decentralml_client.protocol.rules import example_weighting


def dml(plancks: int | None) -> str:
    if plancks is None:
        return "—"
    return f"{int(plancks) / UNIT:,.4f} DML"


def pct(bp: float | None) -> str:
    return "—" if bp is None else f"{float(bp) / 100:.2f}%"


def short(address: str | None) -> str:
    if not address:
        return "—"
    return f"{address[:6]}…{address[-4:]}"


NAMES: ContextVar[Mapping[str, str]] = ContextVar("NAMES", default=MappingProxyType({}))
"""The names of the accounts the page being rendered may show (see :func:`naming`)."""


@contextmanager
def naming(names: Mapping[str, str]) -> Iterator[None]:
    """Render pages with ``names`` (address → local key name) for the accounts they show."""
    token = NAMES.set(names)
    try:
        yield
    finally:
        NAMES.reset(token)


def label(address: str | None) -> str:
    """``name (5EhF…t43p)`` for an account named in the local keystore, else the short form."""
    name = NAMES.get().get(address or "")
    return f"{name} ({short(address)})" if name else short(address)


def rule_text(rule: Any) -> str:
    """``FedAvg``, or ``TrimmedMean(beta=100000)`` for a rule with parameters."""
    if isinstance(rule, dict) and len(rule) == 1:
        (name, params), = rule.items()
        if isinstance(params, dict):
            return f"{name}({', '.join(f'{k}={v}' for k, v in params.items())})"
        return f"{name}({params})"
    return str(rule)


def weighting_text(value: Any) -> str:
    """The task's example weighting by its CLI name (``median-capped``, ``claimed``)."""
    try:
        return example_weighting(value)
    except ValueError:
        return str(value)


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("decentralml_client.dashboard", "templates"),
        autoescape=select_autoescape(["html", "svg"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        undefined=StrictUndefined,
    )
    env.filters.update(dml=dml, pct=pct, short=short, label=label, rule_text=rule_text,
                       weighting_text=weighting_text)
    return env


TEMPLATES = _environment()


def _render(name: str, **context: Any) -> Markup:
    return Markup(TEMPLATES.get_template(name).render(**context).strip())


# -- the accuracy chart ---------------------------------------------------------------------

@dataclass(frozen=True)
class Point:
    round: int
    score: int  # basis points
    x: float
    y: float


@dataclass(frozen=True)
class ChartGeometry:
    """Where everything goes in the accuracy chart (SVG user units)."""

    width: int
    height: int
    left: int
    right: int
    y_ticks: list[dict[str, float]] = field(default_factory=list)
    x_ticks: list[dict[str, float]] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)


def _axis(scores: list[int]) -> tuple[float, float]:
    """The y axis range in %: four equal steps of a round size (1, 2, 5, 10 or 25 points)
    around the data, within 0..100; 0..100 with no data."""
    if not scores:
        return 0.0, 100.0
    lo_v, hi_v = min(scores) / 100, max(scores) / 100
    span = max(hi_v - lo_v + 4, 4.0)
    step = next((s for s in (1, 2, 5, 10, 25) if 4 * s >= span), 25)
    lo = max(0.0, step * int((lo_v - 2) // step))
    hi = lo + 4 * step
    if hi > 100.0:
        hi, lo = 100.0, 100.0 - 4 * step
    return lo, hi


def chart_geometry(rounds: list[dict[str, Any]], width: int = 560,
                   height: int = 220) -> ChartGeometry:
    """Attested accuracy per finalised round, placed in a ``width`` × ``height`` chart."""
    data = [(int(r["round"]), int(r["attested_score"])) for r in rounds
            if r["state"] == "finalized"]
    n = max(1, len(rounds))
    left, right, top, bottom = 48, 16, 16, 32
    pw, ph = width - left - right, height - top - bottom
    lo, hi = _axis([s for _, s in data])

    def x(r: int) -> float:
        return left + (pw * (r + 0.5) / n)

    def y(value: float) -> float:
        return top + ph * (1 - (value - lo) / ((hi - lo) or 1))

    y_ticks = [{"value": v, "y": y(v)} for v in (lo + (hi - lo) * i / 4 for i in range(5))]
    x_ticks = [{"round": r, "x": x(r)} for r in range(0, n, max(1, n // 12))]
    points = [Point(r, s, x(r), y(s / 100)) for r, s in data]
    return ChartGeometry(width, height, left, width - right, y_ticks, x_ticks, points)


# -- pages ----------------------------------------------------------------------------------

def layout(title: str, body: str, status: dict[str, Any], *, active: str = "") -> str:
    """A whole page around ``body`` (already rendered HTML)."""
    return str(_render("layout.html", title=title, body=Markup(body), status=status,
                       active=active))


def unreachable(status: dict[str, Any]) -> Markup:
    return _render("unreachable.html", status=status)


def not_found(message: str, heading: str = "Not found") -> Markup:
    return _render("not_found.html", message=message, heading=heading)


def overview(data: dict[str, Any]) -> Markup:
    return _render("overview.html", data=data)


def task_page(d: dict[str, Any]) -> Markup:
    sel = d["selected_round"]
    return _render("task.html", d=d, sel=sel, c=chart_geometry(d["rounds"]),
                   subs={s["index"]: s for s in sel["submissions"]})


def lineage_page(d: dict[str, Any]) -> Markup:
    return _render("lineage.html", d=d)


def participants_page(items: list[dict[str, Any]]) -> Markup:
    return _render("participants.html", items=items)


def participant_page(p: dict[str, Any]) -> Markup:
    return _render("participant.html", p=p)
