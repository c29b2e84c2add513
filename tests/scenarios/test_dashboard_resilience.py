"""The node goes away and comes back: API and pages say so, then recover by themselves."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from decentralml_client.config import Settings
from decentralml_client.dashboard import create_app
from decentralml_client.services.devnet import Devnet
from tests.scenarios.conftest import ARTIFACTS, WAIT_MS, serve

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def wait_for(cond: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_chain_outage_is_reported_and_healed(fresh_devnet: Devnet, browser: Any) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    app = create_app(Settings(node_url=fresh_devnet.url), poll=0.2, retry_every=0.5)
    with serve(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        wait_for(lambda: client.get("/api/health").json()["live"]["connected"], 30,
                 "the follower to connect")
        assert client.get("/api/tasks").status_code == 200
        page = browser.new_page(viewport={"width": 1100, "height": 600})
        page.goto(f"{base}/")
        page.wait_for_selector('body[data-chain="up"] #no-tasks', timeout=WAIT_MS)
        page.wait_for_function("document.body.dataset.live === '1'", timeout=WAIT_MS)

        fresh_devnet.stop()
        wait_for(lambda: client.get("/api/tasks").status_code == 503, 20, "a 503")
        body = client.get("/api/tasks").json()
        assert body["error"] == "chain_unreachable" and fresh_devnet.url in body["detail"]
        assert client.get("/api/participants").status_code == 503
        assert client.get("/api/tasks/0").status_code == 503
        health = client.get("/api/health")
        assert health.status_code == 200
        assert health.json()["status"] == "chain_unreachable"
        wait_for(lambda: not client.get("/api/health").json()["live"]["connected"], 20,
                 "the follower to notice")
        html = client.get("/")
        assert html.status_code == 503 and "Chain unreachable" in html.text
        # The open page learns it from the event stream, without a reload.
        page.wait_for_selector('body[data-chain="down"] #unreachable', timeout=WAIT_MS)
        page.screenshot(path=str(ARTIFACTS / "chain-unreachable.png"))

        fresh_devnet.start()
        wait_for(lambda: client.get("/api/tasks").status_code == 200, 60, "recovery")
        wait_for(lambda: client.get("/api/health").json()["live"]["connected"], 30,
                 "the follower to reconnect")
        assert client.get("/api/health").json()["status"] == "ok"
        assert client.get("/").status_code == 200
        page.wait_for_selector('body[data-chain="up"] #no-tasks', timeout=WAIT_MS)
        page.screenshot(path=str(ARTIFACTS / "chain-recovered.png"))
        page.close()
