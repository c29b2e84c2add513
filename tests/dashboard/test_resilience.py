"""The node goes away and comes back: the dashboard says so, then recovers by itself."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from decentralml_client.config import Settings
from decentralml_client.dashboard import create_app
from decentralml_client.services.devnet import Devnet

pytestmark = pytest.mark.integration


def wait_for(cond: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_chain_outage_is_reported_and_healed(fresh_devnet: Devnet) -> None:
    app = create_app(Settings(node_url=fresh_devnet.url), poll=0.2, retry_every=0.5)
    with TestClient(app) as client:
        wait_for(lambda: client.get("/api/health").json()["live"]["connected"], 20,
                 "the follower to connect")
        assert client.get("/api/tasks").status_code == 200

        fresh_devnet.stop()
        wait_for(lambda: client.get("/api/tasks").status_code == 503, 20, "a 503")
        body = client.get("/api/tasks").json()
        assert body["error"] == "chain_unreachable" and fresh_devnet.url in body["detail"]
        assert client.get("/api/participants").status_code == 503
        health = client.get("/api/health")
        assert health.status_code == 200
        assert health.json()["status"] == "chain_unreachable"
        wait_for(lambda: not client.get("/api/health").json()["live"]["connected"], 20,
                 "the follower to notice")
        page = client.get("/")
        assert page.status_code == 503 and "Chain unreachable" in page.text
        assert 'data-chain="down"' in page.text  # the page polls until the node is back

        fresh_devnet.start()
        wait_for(lambda: client.get("/api/tasks").status_code == 200, 60, "recovery")
        wait_for(lambda: client.get("/api/health").json()["live"]["connected"], 30,
                 "the follower to reconnect")
        assert client.get("/api/health").json()["status"] == "ok"
        assert client.get("/").status_code == 200
