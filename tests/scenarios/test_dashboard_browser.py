"""Headless Chromium (Debian's, driven by Playwright) watches a task page change live."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from decentralml_client.config import Settings
from decentralml_client.dashboard import create_app
from decentralml_client.services.devnet import Devnet
from tests.scenarios.conftest import ARTIFACTS, WAIT_MS, serve

if TYPE_CHECKING:  # the driver needs the chain's transaction API: imported when used
    from tests.scenarios._drive import TaskDriver

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def test_task_page_shows_chart_and_votes_and_follows_a_new_round(
        browser, devnet: Devnet, driven: TaskDriver) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tid = driven.task_id
    done = driven.rounds_done
    named = driven.contributors[0].ss58_address
    app = create_app(Settings(node_url=devnet.url), poll=0.2,
                     names=lambda: {named: "alice-data"})
    with serve(app) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        foreign: list[str] = []
        page.on("request", lambda req: None if req.url.startswith(base)
                else foreign.append(req.url))

        # A finalised round: the chart has one point per finalised round, the matrix 2 × 2.
        page.goto(f"{base}/tasks/{tid}?round={done - 1}")
        page.wait_for_selector(f'#accuracy-chart[data-points="{done}"]', timeout=WAIT_MS)
        assert page.locator("#accuracy-chart circle.pt").count() == done
        matrix = page.locator("#vote-matrix")
        assert matrix.get_attribute("data-validators") == "2"
        assert matrix.get_attribute("data-submissions") == "2"
        assert page.locator("#vote-matrix td.cell.accept").count() == 2
        assert page.locator("#vote-matrix td.cell.reject").count() == 2
        page.screenshot(path=str(ARTIFACTS / "task-finalised-round.png"), full_page=True)

        # Who earned what: every account with its bond, earnings and slashes per round (a
        # validator's agreement too), the local key's name beside its short address; the
        # loss decrease beside the accuracy; a download link for each adopted model.
        accounts = page.locator("#accounts")
        assert accounts.locator("tr[data-role='Contributor']").count() == 2
        assert accounts.locator("tr[data-role='Validator']").count() == 2
        assert "alice-data (" in accounts.locator(f"tr[data-account='{named}']").inner_text()
        assert accounts.locator("tr[data-role='Validator'] li[data-round]").count() == 2 * done
        assert "agreed" in accounts.locator("tr[data-role='Validator']").first.inner_text()
        earned = accounts.locator("td.earned").all_inner_texts()
        assert any(e != "0.0000 DML" for e in earned), earned
        assert page.locator("a.model-download").count() == done
        assert page.locator("#rounds").inner_text().count("%") >= 2 * done  # accuracy, loss
        page.screenshot(path=str(ARTIFACTS / "task-accounts.png"), full_page=True)

        # The default view: nothing committed in the current round yet, so the matrix shows
        # the last finalised round; then the current round's updates and votes appear live,
        # without reloading the page.
        page.goto(f"{base}/tasks/{tid}")
        page.wait_for_selector(f'#vote-matrix[data-round="{done - 1}"]', timeout=WAIT_MS)
        page.wait_for_function("document.body.dataset.live === '1'", timeout=WAIT_MS)
        page.evaluate("window.__sameDocument = true")
        driven.up_to_votes()
        page.wait_for_selector(f'#vote-matrix[data-round="{done}"][data-submissions="2"] '
                               "td.cell.reject >> nth=1", timeout=WAIT_MS)
        page.wait_for_selector('#phases li.current[data-phase="Aggregate"]', timeout=WAIT_MS)
        assert page.locator("#vote-matrix td.cell.accept").count() == 2
        page.screenshot(path=str(ARTIFACTS / "task-live-votes.png"), full_page=True)

        # Finalising adds a point to the chart and a model to the lineage.
        driven.finish_round()
        page.wait_for_selector(f'#accuracy-chart[data-points="{done + 1}"]', timeout=WAIT_MS)
        page.wait_for_selector(f'#lineage li[data-version="{done + 1}"]', timeout=WAIT_MS)
        scores = page.eval_on_selector_all(
            "#accuracy-chart circle.pt", "els => els.map(e => +e.dataset.score)")
        assert scores == [driven.score(r) for r in range(done + 1)]
        assert page.evaluate("window.__sameDocument") is True  # refreshed in place
        assert int(page.evaluate("document.body.dataset.refreshes")) >= 2
        page.screenshot(path=str(ARTIFACTS / "task-after-new-round.png"), full_page=True)

        assert page.locator("#vote-matrix").get_attribute("data-round") == str(done)
        page.goto(f"{base}/")
        page.wait_for_selector(f'#tasks tr[data-task="{tid}"]', timeout=WAIT_MS)
        page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)
        page.goto(f"{base}/participants/{driven.contributors[0].ss58_address}")
        page.wait_for_selector("#history", timeout=WAIT_MS)
        page.screenshot(path=str(ARTIFACTS / "participant.png"), full_page=True)
        page.goto(f"{base}/participants")
        page.wait_for_selector("#participants", timeout=WAIT_MS)
        page.screenshot(path=str(ARTIFACTS / "participants.png"), full_page=True)
        assert foreign == []  # nothing loaded from outside the dashboard
        page.close()
