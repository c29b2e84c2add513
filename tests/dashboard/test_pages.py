"""The lineage page and its JSON twin: each adopted model links to where it came from."""

from __future__ import annotations

from tests.dashboard.fakes import BOB, CHARLIE, app_for
from tests.roles.test_lineage import M2, chain


def test_each_model_links_to_its_lineage_page_and_json() -> None:
    client = app_for(chain())
    task_page = client.get("/tasks/0").text
    assert 'href="/tasks/0/lineage?round=0"' in task_page
    assert 'href="/tasks/0/lineage?round=1"' in task_page

    page = client.get("/tasks/0/lineage?round=1")
    assert page.status_code == 200
    assert 'data-checked="yes"' in page.text and "M2" in page.text
    assert f"/participants/{BOB}" in page.text and f"/participants/{CHARLIE}" in page.text
    assert "decentralml model lineage 0 --round 1" in page.text

    data = client.get("/api/tasks/0/lineage", params={"round": 1}).json()
    assert data["checked"] is True and data["rounds"][-1]["model_hash"] == M2
    assert data["rounds"][-1]["updates"][0]["votes"][0]["validator"] == CHARLIE


def test_a_round_not_finalised_is_not_found() -> None:
    client = app_for(chain())
    assert client.get("/tasks/0/lineage?round=2").status_code == 404
    response = client.get("/api/tasks/0/lineage", params={"round": 2})
    assert response.status_code == 404 and "not finalised" in response.text
    assert client.get("/api/tasks/9/lineage", params={"round": 0}).status_code == 404
