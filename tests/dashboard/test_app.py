"""The app over an in-memory chain: paging, task and participant views, self-contained pages,
typed JSON; and its read-only guarantees: GET routes only, no key material, loopback by default."""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

import decentralml_client.dashboard as dashboard_pkg
from decentralml_client.cli import dashboard as dashboard_cli
from decentralml_client.config import Settings
from decentralml_client.dashboard.app import create_app
from tests.dashboard.fakes import (
    BOB,
    CHARLIE,
    DAVE,
    FakeChain,
    app_for,
    finished_round,
    make_task,
    member_v2,
)

PACKAGE = Path(dashboard_pkg.__file__).parent


def all_routes(routes: Iterable[Any]) -> Iterator[Any]:
    """Every route, also those of included routers (FastAPI ≥ 0.16x keeps them nested)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from all_routes(inner.routes)
        else:
            yield route


def _app(settings: Settings, fake: FakeChain) -> TestClient:
    return TestClient(create_app(settings, follow=False, factory=lambda url: fake))


def _concrete(path: str) -> str:
    return (path.replace("{task_id}", "0").replace("{round_}", "0")
            .replace("{address}", BOB).replace("{name}", "dashboard.js"))


def test_every_route_is_get_only() -> None:
    app = create_app(Settings(node_url="ws://fake:1"), follow=False)
    routes = [r for r in all_routes(app.routes) if hasattr(r, "methods")]
    assert len(routes) >= 12
    for route in routes:
        assert set(route.methods) <= {"GET", "HEAD"}, (route.path, route.methods)
    api = {r.path for r in all_routes(app.routes) if isinstance(r, APIRoute)}
    assert {"/api/tasks", "/api/tasks/{task_id}", "/api/tasks/{task_id}/rounds",
            "/api/participants", "/api/participants/{address}", "/api/health",
            "/api/events"} <= api


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_no_route_accepts_a_state_changing_method(method: str) -> None:
    client = _app(Settings(node_url="ws://fake:1"), FakeChain(1))
    for route in all_routes(client.app.routes):
        r = client.request(method, _concrete(route.path))
        assert r.status_code == 405, (method, route.path, r.status_code)


def test_the_dashboard_never_touches_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    # Nothing in the package imports the key modules...
    for source in PACKAGE.rglob("*.py"):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any("keys" in n or "keystore" in n for n in names), (source, names)
    # ...and serving every page with a keystore configured never opens it.
    keystore = tmp_path / "keys"
    keystore.mkdir()
    (keystore / "alice.json").write_text('{"secret": "TOP-SECRET-SEED"}')
    from decentralml_client.keys import keystore as keystore_module

    def refuse(*a: object, **k: object) -> None:
        raise AssertionError("the dashboard opened the keystore")

    monkeypatch.setattr(keystore_module.Keystore, "__init__", refuse)
    client = _app(Settings(node_url="ws://fake:1", keystore=keystore), FakeChain(1))
    for route in all_routes(client.app.routes):
        if route.path in ("/api/events",):
            continue
        r = client.get(_concrete(route.path))
        assert r.status_code < 500, (route.path, r.status_code)
        assert "TOP-SECRET" not in r.text and str(keystore) not in r.text


def test_served_on_loopback_by_default() -> None:
    host = inspect.signature(dashboard_cli.dashboard).parameters["host"].default
    assert getattr(host, "default", host) == "127.0.0.1"


def test_hundreds_of_tasks_page_cleanly() -> None:
    fake = FakeChain(500)
    with app_for(fake) as client:
        r = client.get("/api/tasks", params={"page": 3, "per_page": 50})
        assert r.status_code == 200
        body = r.json()
        assert (body["total"], body["pages"], body["page"]) == (500, 10, 3)
        assert [t["id"] for t in body["tasks"]] == list(range(399, 349, -1))
        before = fake.calls
        page = client.get("/", params={"page": 20, "per_page": 25})
        assert page.status_code == 200
        assert "page 20 of 20" in page.text
        assert re.findall(r'data-task="(\d+)"', page.text) == [str(i) for i in range(24, -1, -1)]
        # A page costs about per_page reads, not one per task on chain.
        assert fake.calls - before <= 25 + 5
        assert client.get("/api/tasks", params={"per_page": 0}).status_code == 422
        assert client.get("/api/tasks", params={"page": 99}).json()["tasks"] == []


def test_task_detail_shows_rounds_votes_rewards_and_lineage() -> None:
    fake = FakeChain(1)
    fake.tasks[0] = make_task(0, rounds=3, round_=2, phase="Reveal", phase_ends_at=55)
    fake.members[0] = {BOB: member_v2("Contributor", 10**12),
                       CHARLIE: member_v2("Validator", 10**13),
                       DAVE: member_v2("Validator", 10**13)}
    finished_round(fake, 0, 0, 8000)
    finished_round(fake, 0, 1, 8600)
    with app_for(fake) as client:
        d = client.get("/api/tasks/0").json()
        assert d["task"]["completed_rounds"] == 2 and d["task"]["blocks_left"] == 15
        assert [r["state"] for r in d["rounds"]] == ["finalized", "finalized", "current"]
        assert [r.get("attested_score") for r in d["rounds"]] == [8000, 8600, None]
        assert [m["model_cid"] for m in d["lineage"]] == ["bafy-m0-0", "bafy-m1", "bafy-m2"]
        assert [u["cid"] for u in d["lineage"][2]["updates"]] == ["bafy-u-1-0"]
        assert d["rewards"]["contributors"] == 160 * 10**12
        r1 = client.get("/api/tasks/0", params={"round": 1}).json()["selected_round"]
        assert [s["outcome"] for s in r1["submissions"]] == ["Accepted", "Rejected"]
        assert len(r1["vote_matrix"]["rows"]) == 2
        assert client.get("/api/tasks/0/rounds/1").json()["vote_matrix"] == r1["vote_matrix"]
        assert client.get("/api/tasks/0", params={"round": 3}).status_code == 404
        assert client.get("/api/tasks/7").status_code == 404
        assert client.get("/api/tasks/x").status_code == 422  # JSON for the API...
        bad = client.get("/tasks/x")  # ...a page for people
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
        html = client.get("/tasks/0?round=1").text
        assert 'id="vote-matrix"' in html and 'data-points="2"' in html
        assert html.count('class="cell accept"') == 2 and html.count('class="cell reject"') == 2


def test_task_page_shows_the_example_weighting() -> None:
    fake = FakeChain(1)
    fake.tasks[0] = make_task(0)
    with app_for(fake) as client:
        assert "examples weighted median-capped" in client.get("/tasks/0").text  # the default
    fake.tasks[0]["spec"]["example_weighting"] = "Claimed"
    with app_for(fake) as client:
        html = client.get("/tasks/0").text
        assert "examples weighted claimed (cap 10000)" in html
        assert client.get("/api/tasks/0").json()["spec"]["example_weighting"] == "Claimed"


def test_task_page_says_what_contributions_and_votes_are_paid_for() -> None:
    fake = FakeChain(1)
    fake.tasks[0] = make_task(0)
    with app_for(fake) as client:
        html = client.get("/tasks/0").text
    assert 'id="pay-rule"' in html
    assert "fresh work" in html and "beyond" in html and "probe" in html


def test_participants_and_history() -> None:
    fake = FakeChain(1)
    fake.tasks[0] = make_task(0, round_=1)
    finished_round(fake, 0, 0, 8000)
    fake.participants = {
        BOB: {"x25519_key": "0x" + "01" * 32, "reputation": 501,
              "contributor_stake": 10 * 10**12, "validator_stake": None,
              "contributor_tasks": 1, "validator_tasks": 0},
        CHARLIE: {"x25519_key": "0x" + "02" * 32, "reputation": 510, "contributor_stake": None,
                  "validator_stake": 50 * 10**12, "contributor_tasks": 0,
                  "validator_tasks": 1}}
    with app_for(fake) as client:
        ps = client.get("/api/participants").json()
        assert [p["address"] for p in ps] == [CHARLIE, BOB]  # by reputation
        bob = client.get(f"/api/participants/{BOB}").json()
        assert bob["roles"] == ["contributor"] and bob["stake"] == 10 * 10**12
        assert bob["history"][0]["rounds"][0]["updates"][0]["outcome"] == "Accepted"
        charlie = client.get(f"/api/participants/{CHARLIE}").json()
        mine = charlie["history"][0]
        assert mine["validator"] and mine["rounds"][0]["verdicts"] == 2
        assert client.get(f"/api/participants/{DAVE}").status_code == 404
        assert client.get("/api/participants/not-an-address").status_code == 400
        assert client.get(f"/participants/{BOB}").status_code == 200


@pytest.mark.parametrize("path", ["/", "/participants", "/tasks/0"])
def test_pages_load_nothing_from_elsewhere(path: str) -> None:
    fake = FakeChain(1)
    with app_for(fake) as client:
        r = client.get(path)
        assert r.status_code == 200
        assert "default-src 'self'" in r.headers["content-security-policy"]
        refs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
        assert refs and all(ref.startswith(("/", "data:")) for ref in refs), refs
        for asset in ("/static/dashboard.css", "/static/dashboard.js"):
            body = client.get(asset).text
            assert "http://" not in body and "https://" not in body


def test_every_json_endpoint_declares_a_typed_response() -> None:
    with app_for(FakeChain(1)) as client:
        schema = client.get("/openapi.json").json()
    for path, ops in schema["paths"].items():
        if path == "/api/events":
            continue  # a text/event-stream
        ok = ops["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert "$ref" in ok or "$ref" in ok.get("items", {}), (path, ok)
        assert "503" in ops["get"]["responses"], path
