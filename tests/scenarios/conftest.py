"""Scenario fixtures: a task driven through rounds on the dev chain, a real uvicorn, Chromium."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn
from fastapi import FastAPI

from decentralml_client.config import REPO_ROOT
from decentralml_client.services.devnet import Devnet, free_port

if TYPE_CHECKING:
    from tests.scenarios._drive import TaskDriver


@pytest.fixture(scope="session")
def driven(devnet: Devnet) -> TaskDriver:
    """A 4-round task on the shared dev chain with rounds 0 and 1 finalised.

    The API tests expect exactly that state; the browser test (which runs after them) drives
    round 2.
    """
    # Imported here: the driver uses the chain's transaction API, which the view tests
    # (in-memory chain) do not need.
    from tests.scenarios._drive import TaskDriver

    return TaskDriver.create(devnet.url, rounds=4, drive=2)


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` under uvicorn on a free loopback port in a thread; yield its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="dashboard-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


CHROMIUM = os.environ.get("DML_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "dashboard"
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (module-scoped)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make setup` (or set DML_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()
