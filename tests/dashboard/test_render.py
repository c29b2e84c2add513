"""Server-side HTML: the accuracy chart, escaping of chain strings, rules read naturally."""

from __future__ import annotations

import re

from decentralml_client.dashboard import _render as render
from decentralml_client.dashboard import _views as views
from tests.dashboard.fakes import make_task


def test_chart_plots_one_point_per_finalised_round() -> None:
    rounds = [{"round": 0, "state": "finalized", "attested_score": 8000},
              {"round": 1, "state": "finalized", "attested_score": 8450},
              {"round": 2, "state": "current"}]
    svg = render.accuracy_chart(rounds)
    assert svg.startswith("<svg") and 'data-points="2"' in svg
    assert re.findall(r'data-score="(\d+)"', svg) == ["8000", "8450"]
    assert "no round finalised yet" in render.accuracy_chart([{"round": 0, "state": "current"}])


def test_rendering_escapes_chain_strings() -> None:
    task = make_task(0)
    task["model_cid"] = '<script>alert("x")</script>'
    html = render.overview({"tasks": [views.task_summary(0, task, 1)], "total": 1, "head": 1,
                            "page": 1, "per_page": 25, "pages": 1})
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_rules_with_parameters_read_naturally() -> None:
    assert render.rule_text("FedAvg") == "FedAvg"
    assert render.rule_text({"TrimmedMean": {"beta": 100000}}) == "TrimmedMean(beta=100000)"
    assert render.rule_text({"MultiKrum": {"byzantine": 1, "keep": 0}}) == \
        "MultiKrum(byzantine=1, keep=0)"
