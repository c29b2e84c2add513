"""Server-side HTML: the accuracy chart, escaping of chain strings, rules read naturally."""

from __future__ import annotations

import re

from decentralml_client.chain.records import Task
from decentralml_client.dashboard import _render as render
from decentralml_client.dashboard import _views as views
from tests.dashboard.fakes import FakeChain, app_for, finished_round, make_task


def test_chart_plots_one_point_per_finalised_round() -> None:
    rounds = [{"round": 0, "state": "finalized", "attested_score": 8000},
              {"round": 1, "state": "finalized", "attested_score": 8450},
              {"round": 2, "state": "current"}]
    c = render.chart_geometry(rounds)
    assert [(p.round, p.score) for p in c.points] == [(0, 8000), (1, 8450)]
    assert c.points[0].x < c.points[1].x and c.points[0].y > c.points[1].y  # higher is up
    assert [t["round"] for t in c.x_ticks] == [0, 1, 2]
    assert render.chart_geometry([{"round": 0, "state": "current"}]).points == []


def test_the_task_page_draws_the_chart() -> None:
    fake = FakeChain(1)
    fake.tasks[0] = make_task(0, rounds=3, round_=2)
    with app_for(fake) as client:
        assert "no round finalised yet" in client.get("/tasks/0").text
        finished_round(fake, 0, 0, 8000)
        finished_round(fake, 0, 1, 8450)
        client.app.state.reader.new_block()
        svg = re.search(r'<svg id="accuracy-chart".*?</svg>', client.get("/tasks/0").text,
                        re.S)
    assert svg is not None and 'data-points="2"' in svg.group(0)
    assert re.findall(r'data-score="(\d+)"', svg.group(0)) == ["8000", "8450"]


def test_rendering_escapes_chain_strings() -> None:
    task = make_task(0)
    task["model_cid"] = '<script>alert("x")</script>'
    record = Task.from_chain(0, task)
    html = render.overview({"tasks": [views.task_summary(0, record, 1)], "total": 1, "head": 1,
                            "page": 1, "per_page": 25, "pages": 1})
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_rules_with_parameters_read_naturally() -> None:
    assert render.rule_text("FedAvg") == "FedAvg"
    assert render.rule_text({"TrimmedMean": {"beta": 100000}}) == "TrimmedMean(beta=100000)"
    assert render.rule_text({"MultiKrum": {"byzantine": 1, "keep": 0}}) == \
        "MultiKrum(byzantine=1, keep=0)"
