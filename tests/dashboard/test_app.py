"""Read-only guarantees: GET routes only, no key material, loopback by default."""

from __future__ import annotations

import ast
import inspect
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
from tests.dashboard.fakes import BOB, FakeChain

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
