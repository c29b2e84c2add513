"""Server-side HTML: small functions, one per page and per widget, escaping every value.

No template engine and no external assets: the pages load only ``/static/dashboard.css`` and
``/static/dashboard.js`` from this server, and the accuracy chart is inline SVG.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlencode

from decentralml_client.chain import UNIT


def e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def dml(plancks: int | None) -> str:
    if plancks is None:
        return "—"
    return f"{int(plancks) / UNIT:,.4f} DML"


def pct(bp: int | float | None) -> str:
    return "—" if bp is None else f"{float(bp) / 100:.2f}%"


def short(address: str | None) -> str:
    if not address:
        return "—"
    return f"{address[:6]}…{address[-4:]}"


def who(address: str | None) -> str:
    if not address:
        return "—"
    return (f'<a class="addr" href="/participants/{e(address)}" title="{e(address)}">'
            f"{e(short(address))}</a>")


def code(value: Any, n: int = 18) -> str:
    if value is None:
        return "—"
    text = str(value)
    shown = text if len(text) <= n else text[: n - 1] + "…"
    return f'<code title="{e(text)}">{e(shown)}</code>'


def layout(title: str, body: str, status: dict[str, Any], *, active: str = "") -> str:
    nav = "".join(
        f'<a href="{href}"{" class=active" if key == active else ""}>{label}</a>'
        for key, href, label in (("overview", "/", "Tasks"),
                                 ("participants", "/participants", "Participants"),
                                 ("api", "/docs", "API"))
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)} · DecentralML</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/dashboard.css">
</head><body data-chain="{'up' if status['connected'] else 'down'}">
<header><a class="brand" href="/">DecentralML</a><nav>{nav}</nav>{chain_status(status)}</header>
<main id="content">{body}</main>
<footer>Read-only view of the DecentralMl pallet at <code>{e(status['url'])}</code>.
 Updates live from new blocks. <a href="/api/health">/api/health</a></footer>
<script src="/static/dashboard.js"></script>
</body></html>"""


def chain_status(status: dict[str, Any]) -> str:
    if status["connected"]:
        return (f'<div id="chain-status" class="pill up" title="{e(status["url"])}">'
                f'<span class="dot"></span>chain connected · block '
                f'<b id="head">#{e(status["head"])}</b> <span id="live"></span></div>')
    return ('<div id="chain-status" class="pill down"><span class="dot"></span>'
            'chain unreachable <span id="live"></span></div>')


def unreachable(status: dict[str, Any]) -> str:
    return f"""<section class="card alert" id="unreachable"><h1>Chain unreachable</h1>
<p>No answer from the DecentralML node at <code>{e(status['url'])}</code>.</p>
<p class="muted">{e(status.get('error') or '')}</p>
<p>This page refreshes by itself as soon as the node answers again.</p></section>"""


def not_found(message: str) -> str:
    return f'<section class="card alert"><h1>Not found</h1><p>{e(message)}</p></section>'


def progress_bar(fraction: float, label: str) -> str:
    w = max(0.0, min(1.0, fraction)) * 100
    return (f'<div class="bar" title="{e(label)}"><span style="width:{w:.1f}%"></span></div>'
            f'<small>{e(label)}</small>')


def badge(text: str | None) -> str:
    if not text:
        return ""
    cls = text.split()[0].lower()
    return f'<span class="badge {e(cls)}">{e(text)}</span>'


# -- overview -------------------------------------------------------------------------------

def overview(data: dict[str, Any]) -> str:
    rows = []
    for t in data["tasks"]:
        phase = (f'{badge(t["phase"])} <small>{t["blocks_left"]} blocks left</small>'
                 if t["phase"] else "—")
        rows.append(f"""<tr data-task="{t['id']}">
<td><a href="/tasks/{t['id']}">#{t['id']}</a></td><td>{badge(t['status'])}</td>
<td>{progress_bar(t['progress'], f"{t['completed_rounds']}/{t['rounds']} rounds")}</td>
<td>{phase}</td><td>{t['num_contributors']} / {t['num_validators']}</td>
<td>{who(t['creator'])}</td><td>{code(t['model_cid'])}</td>
<td class="num">{dml(t['paid'])}<br><small>of {dml(t['reward_total'])}</small></td></tr>""")
    table = (f"""<table class="grid" id="tasks"><thead><tr><th>Task</th><th>Status</th>
<th>Progress</th><th>Phase</th><th>Contrib. / valid.</th><th>Creator</th><th>Model</th>
<th class="num">Paid</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"""
             if rows else '<p class="muted" id="no-tasks">No tasks on this page.</p>')
    return f"""<section class="head"><h1>Tasks</h1>
<p class="muted">{data['total']} task(s) on chain · block #{data['head']}</p></section>
<section class="card">{table}{pager(data)}</section>"""


def pager(meta: dict[str, Any]) -> str:
    page, pages, per = meta["page"], meta["pages"], meta["per_page"]
    if pages <= 1:
        return ""

    def link(p: int, label: str) -> str:
        return f'<a href="/?{urlencode({"page": p, "per_page": per})}">{label}</a>'

    prev = link(page - 1, "← newer") if page > 1 else '<span class="muted">← newer</span>'
    nxt = link(page + 1, "older →") if page < pages else '<span class="muted">older →</span>'
    return f'<nav class="pager" id="pager">{prev}<span>page {page} of {pages}</span>{nxt}</nav>'


# -- task -----------------------------------------------------------------------------------

def accuracy_chart(rounds: list[dict[str, Any]], width: int = 560, height: int = 220) -> str:
    """Attested accuracy per finalised round as an inline SVG line chart."""
    pts = [(r["round"], r["attested_score"]) for r in rounds if r["state"] == "finalized"]
    n = max(1, len(rounds))
    left, right, top, bottom = 48, 16, 16, 32
    pw, ph = width - left - right, height - top - bottom
    if pts:
        lo_v = min(s for _, s in pts) / 100
        hi_v = max(s for _, s in pts) / 100
        # Four equal steps of a round size (1, 2, 5, 10 or 25 points) around the data.
        span = max(hi_v - lo_v + 4, 4.0)
        step = next(s for s in (1, 2, 5, 10, 25) if 4 * s >= span)
        lo = max(0.0, step * int((lo_v - 2) // step))
        hi = lo + 4 * step
        if hi > 100.0:
            hi, lo = 100.0, 100.0 - 4 * step
    else:
        lo, hi = 0.0, 100.0

    def x(r: int) -> float:
        return left + (pw * (r + 0.5) / n)

    def y(pct_: float) -> float:
        return top + ph * (1 - (pct_ - lo) / ((hi - lo) or 1))

    parts = [f'<svg id="accuracy-chart" class="chart" viewBox="0 0 {width} {height}" '
             f'width="100%" role="img" aria-label="Attested accuracy per round" '
             f'data-points="{len(pts)}">']
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y(v):.1f}" '
                     f'y2="{y(v):.1f}"/><text class="tick" x="{left - 6}" y="{y(v) + 4:.1f}" '
                     f'text-anchor="end">{v:.0f}%</text>')
    step = max(1, n // 12)
    for r in range(0, n, step):
        parts.append(f'<text class="tick" x="{x(r):.1f}" y="{height - 10}" '
                     f'text-anchor="middle">r{r}</text>')
    if pts:
        path = " ".join(f"{x(r):.1f},{y(s / 100):.1f}" for r, s in pts)
        parts.append(f'<polyline class="line" points="{path}"/>')
        for r, s in pts:
            parts.append(f'<circle class="pt" data-round="{r}" data-score="{s}" cx="{x(r):.1f}" '
                         f'cy="{y(s / 100):.1f}" r="4"><title>round {r}: {pct(s)}</title>'
                         f'</circle><text class="val" x="{x(r):.1f}" y="{y(s / 100) - 9:.1f}" '
                         f'text-anchor="middle">{s / 100:.1f}</text>')
    else:
        parts.append(f'<text class="empty" x="{width / 2}" y="{height / 2}" '
                     f'text-anchor="middle">no round finalised yet</text>')
    parts.append("</svg>")
    return "".join(parts)


def phases(items: list[dict[str, Any]]) -> str:
    cells = []
    for p in items:
        extra = (f'<small>{p["blocks_left"]} blocks left (ends #{p["ends_at"]})</small>'
                 if p["state"] == "current" else f'<small>{p["length"]} blocks</small>')
        cells.append(f'<li class="phase {p["state"]}" data-phase="{p["phase"]}">'
                     f'<b>{p["phase"]}</b>{extra}</li>')
    return f'<ol class="phases" id="phases">{"".join(cells)}</ol>'


def timeline(task_id: int, rounds: list[dict[str, Any]], selected: int) -> str:
    rows = []
    for r in rounds:
        link = (f'<a href="/tasks/{task_id}?round={r["round"]}">round {r["round"]}</a>'
                if r["state"] in ("finalized", "current") else f'round {r["round"]}')
        if r["state"] == "finalized":
            info = (f'<td class="num">{r["accepted"]}</td><td class="num">{r["rejected"]}</td>'
                    f'<td class="num">{r["void"]}</td>'
                    f'<td class="num">{pct(r["attested_score"])}</td>'
                    f'<td class="num">{dml(r["contributor_rewards"])}</td>'
                    f'<td class="num">{dml(r["validator_rewards"])}</td>'
                    f'<td>{code(r["model_cid"])}</td><td class="num">#{r["finalized_at"]}</td>')
        elif r["state"] == "current":
            retry = f' · retry {r["retries"]}' if r["retries"] else ""
            info = (f'<td colspan="8">{badge(r["phase"])} phase, {r["blocks_left"]} blocks left'
                    f' (ends #{r["phase_ends_at"]}){retry}</td>')
        else:
            info = '<td colspan="8" class="muted">—</td>'
        sel = ' class="selected"' if r["round"] == selected else ""
        rows.append(f'<tr{sel} data-round="{r["round"]}" data-state="{r["state"]}">'
                    f'<td>{link}</td><td>{badge(r["state"])}</td>{info}</tr>')
    return f"""<table class="grid" id="rounds"><thead><tr><th>Round</th><th>State</th>
<th class="num">Accepted</th><th class="num">Rejected</th><th class="num">Void</th>
<th class="num">Attested accuracy</th><th class="num">Contributors paid</th>
<th class="num">Validators paid</th><th>Model CID</th><th class="num">Finalised at</th>
</tr></thead><tbody>{''.join(rows)}</tbody></table>"""


def matrix(detail: dict[str, Any]) -> str:
    vm = detail["vote_matrix"]
    subs = {s["index"]: s for s in detail["submissions"]}
    if not vm["submissions"]:
        return '<p class="muted" id="vote-matrix-empty">No update revealed in this round yet.</p>'
    head = "".join(
        f'<th data-submission="{i}" title="{e(subs[i]["cid"])}">#{i}<br>'
        f'{who(subs[i]["contributor"])}<br>{badge(subs[i]["outcome"])}</th>'
        for i in vm["submissions"])
    rows = []
    for row in vm["rows"]:
        cells = []
        for v in row["verdicts"]:
            if v is None:
                cells.append('<td class="cell none" title="no verdict">·</td>')
            else:
                kind = "accept" if v["accept"] else "reject"
                mark = "✓" if v["accept"] else "✗"
                cells.append(f'<td class="cell {kind}" data-score="{v["score"]}">{mark} '
                             f'{pct(v["score"])}</td>')
        rows.append(f'<tr data-validator="{e(row["validator"])}"><th>{who(row["validator"])}'
                    f'</th>{"".join(cells)}</tr>')
    return (f'<table class="matrix" id="vote-matrix" data-round="{detail["round"]}" '
            f'data-validators="{len(vm["rows"])}" data-submissions="{len(vm["submissions"])}">'
            f'<thead><tr><th>validator \\ update</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def submissions_table(detail: dict[str, Any]) -> str:
    if not detail["submissions"]:
        return ""
    rows = "".join(
        f'<tr data-submission="{s["index"]}"><td>#{s["index"]}</td><td>{who(s["contributor"])}</td>'
        f'<td>{badge(s["outcome"])}</td><td class="num">{s["accepts"]} ✓ / {s["rejects"]} ✗</td>'
        f'<td class="num">{e(s["num_examples"])}</td><td>{code(s["cid"])}</td>'
        f'<td>{code(s["update_hash"])}</td></tr>'
        for s in detail["submissions"])
    return f"""<table class="grid" id="submissions"><thead><tr><th>Update</th><th>Contributor</th>
<th>Outcome</th><th class="num">Votes</th><th class="num">Examples</th><th>CID</th><th>Hash</th>
</tr></thead><tbody>{rows}</tbody></table>"""


def proposals(items: list[dict[str, Any]]) -> str:
    if not items:
        return ""
    rows = "".join(
        f'<tr><td>{who(p.get("proposer"))}</td><td>{code(p.get("cid"), 32)}</td>'
        f'<td>{code(p.get("hash"))}</td><td class="num">{e(p.get("attestations"))}</td></tr>'
        for p in items)
    return (f'<h3>Aggregate proposals</h3><table class="grid" id="proposals"><thead><tr>'
            f'<th>Proposer</th><th>CID</th><th>Hash</th><th class="num">Attestations</th>'
            f'</tr></thead><tbody>{rows}</tbody></table>')


def lineage(items: list[dict[str, Any]]) -> str:
    out = []
    for m in items:
        origin = ("from the task spec" if m["round"] is None else
                  f'adopted after round {m["round"]} · {pct(m["attested_accuracy"] * 100)}')
        ups = "".join(f'<li>update #{u["index"]} by {who(u["contributor"])}: {code(u["cid"])} '
                      f'<small>{e(u["num_examples"])} examples</small></li>'
                      for u in m["updates"])
        ups_html = f'<ul class="updates">{ups}</ul>' if ups else ""
        out.append(f'<li data-version="{m["version"]}"><b>M{m["version"]}</b> '
                   f'{code(m["model_cid"], 40)}'
                   f' <small class="muted">hash {code(m["model_hash"], 20)} · {origin}</small>'
                   f'{ups_html}</li>')
    return f'<ol class="lineage" id="lineage">{"".join(out)}</ol>'


def rule_text(rule: Any) -> str:
    """``FedAvg``, or ``TrimmedMean(beta=100000)`` for a rule with parameters."""
    if isinstance(rule, dict) and len(rule) == 1:
        (name, params), = rule.items()
        if isinstance(params, dict):
            return f"{name}({', '.join(f'{k}={v}' for k, v in params.items())})"
        return f"{name}({params})"
    return str(rule)


def _round_heading(t: dict[str, Any]) -> str:
    if t["status"] == "Active":
        return f"Round {t['round']} (rounds 0–{t['rounds'] - 1})"
    return f"{t['status']} after {t['completed_rounds']} of {t['rounds']} rounds"


def task_page(d: dict[str, Any]) -> str:
    t, sel = d["task"], d["selected_round"]
    spec = d["spec"]
    rule = rule_text(spec["rule"])
    phase_block = (phases(d["phases"]) if t["status"] == "Active"
                   else f'<p>{badge(t["status"])} — final model {code(t["model_cid"], 40)}</p>')
    round_links = " ".join(
        (f'<a href="/tasks/{t["id"]}?round={r["round"]}"'
         f'{" class=active" if r["round"] == sel["round"] else ""}>{r["round"]}</a>')
        for r in d["rounds"] if r["state"] in ("finalized", "current"))
    members = "".join(
        f'<li>{who(m["address"])} {"contributor " if m["contributor"] else ""}'
        f'{"validator" if m["validator"] else ""}</li>' for m in d["members"])
    rw = d["rewards"]
    share = int(spec["validator_share"]) / 10_000  # Permill → %
    members_html = (f'<section class="card"><h2>Members</h2><ul class="members">{members}</ul>'
                    "</section>" if members else "")
    rounds_html = timeline(t["id"], d["rounds"], sel["round"])
    return f"""<section class="head" id="task" data-task="{t['id']}" data-status="{t['status']}"
 data-round="{t['round']}" data-phase="{e(t['phase'])}">
<h1>Task #{t['id']} {badge(t['status'])}</h1>
<p class="muted">created by {who(t['creator'])} at block #{t['created_at']} · rule {e(rule)} ·
quorum {e(d['quorum'])} · {t['num_contributors']} contributor(s), {t['num_validators']} validator(s)
· block #{d['head']}</p></section>
<section class="card"><h2>{e(_round_heading(t))}
{progress_bar(t['progress'], f"{t['completed_rounds']}/{t['rounds']} rounds done")}</h2>
{phase_block}</section>
<div class="cols">
<section class="card"><h2>Attested accuracy per round</h2>{accuracy_chart(d['rounds'])}</section>
<section class="card"><h2>Rewards</h2><dl class="kv">
<dt>paid so far</dt><dd id="paid">{dml(rw['paid'])}</dd>
<dt>to contributors</dt><dd>{dml(rw['contributors'])}</dd>
<dt>to validators</dt><dd>{dml(rw['validators'])}</dd>
<dt>left in escrow</dt><dd>{dml(rw['escrow'])}</dd>
<dt>per round</dt><dd>{dml(spec['reward_per_round'])} ({share:.0f}% to validators)</dd>
</dl></section></div>
<section class="card"><h2>Round timeline</h2>{rounds_html}</section>
<section class="card" id="round-detail"><h2>Round {sel['round']}: updates and votes
<small class="rounds-nav">round: {round_links}</small></h2>
{matrix(sel)}{submissions_table(sel)}{proposals(sel["proposals"])}</section>
<section class="card"><h2>Model lineage</h2>{lineage(d['lineage'])}</section>
{members_html}"""


# -- participants ---------------------------------------------------------------------------

def participants_page(items: list[dict[str, Any]]) -> str:
    rows = "".join(
        f'<tr data-address="{e(p["address"])}"><td>{who(p["address"])}</td>'
        f'<td>{" ".join(badge(r) for r in p["roles"])}</td>'
        f'<td class="num">{dml(p["contributor_stake"])}</td>'
        f'<td class="num">{dml(p["validator_stake"])}</td>'
        f'<td>{reputation(p["reputation"])}</td>'
        f'<td class="num">{p["contributor_tasks"]} / {p["validator_tasks"]}</td></tr>'
        for p in items)
    table = (f"""<table class="grid" id="participants"><thead><tr><th>Account</th><th>Roles</th>
<th class="num">Contributor stake</th><th class="num">Validator stake</th><th>Reputation</th>
<th class="num">Active tasks (c / v)</th></tr></thead><tbody>{rows}</tbody></table>"""
             if items else '<p class="muted">Nobody has registered yet.</p>')
    return f"""<section class="head"><h1>Participants</h1>
<p class="muted">{len(items)} registered account(s)</p></section>
<section class="card">{table}</section>"""


def reputation(value: int) -> str:
    return progress_bar(value / 1000, f"{value} / 1000")


def participant_page(p: dict[str, Any]) -> str:
    hist = []
    for h in p["history"]:
        roles = ", ".join(r for r in ("creator", "contributor", "validator") if h[r]) or "member"
        rounds = "".join(
            f'<li>round {r["round"]}: '
            + ", ".join(f'update #{u["index"]} {badge(u["outcome"])}' for u in r["updates"])
            + (f' {r["verdicts"]} verdict(s) cast' if r["verdicts"] else "")
            + "</li>" for r in h["rounds"])
        hist.append(f'<tr><td><a href="/tasks/{h["task"]}">#{h["task"]}</a></td>'
                    f'<td>{badge(h["status"])}</td><td>{e(roles)}</td>'
                    f'<td><ul class="plain">{rounds}</ul></td></tr>')
    hist_html = (f'<table class="grid" id="history"><thead><tr><th>Task</th><th>Status</th>'
                 f'<th>Role</th><th>Rounds</th></tr></thead><tbody>{"".join(hist)}</tbody></table>'
                 if hist else '<p class="muted">No task yet.</p>')
    b = p["balance"] or {}
    return f"""<section class="head" id="participant" data-address="{e(p['address'])}">
<h1>Participant <code>{e(p['address'])}</code></h1>
<p>{" ".join(badge(r) for r in p["roles"])}</p></section>
<div class="cols"><section class="card"><h2>Stake and balance</h2><dl class="kv">
<dt>contributor stake</dt><dd>{dml(p['contributor_stake'])}</dd>
<dt>validator stake</dt><dd>{dml(p['validator_stake'])}</dd>
<dt>free</dt><dd>{dml(b.get('free'))}</dd><dt>reserved</dt><dd>{dml(b.get('reserved'))}</dd>
<dt>X25519 public key</dt><dd>{code(p['x25519_public_key'], 24)}</dd></dl></section>
<section class="card"><h2>Reputation</h2>{reputation(p['reputation'])}
<p class="muted">0..1000, starts at 500; +1 for work the consensus accepted, −1 for work it
rejected or left unrevealed.</p>
<p>active tasks: {p['contributor_tasks']} as contributor, {p['validator_tasks']} as validator</p>
</section></div>
<section class="card"><h2>History</h2>{hist_html}</section>"""
