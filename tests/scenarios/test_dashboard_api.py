"""The JSON API and pages against the real dev chain, with a task driven through rounds."""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi.testclient import TestClient

from decentralml_client.config import Settings
from decentralml_client.dashboard import create_app
from decentralml_client.keys import dev_account
from decentralml_client.services.devnet import Devnet
from tests.scenarios.conftest import serve

if TYPE_CHECKING:  # the driver needs the chain's transaction API: imported when used
    from tests.scenarios._drive import TaskDriver

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(devnet: Devnet, driven: TaskDriver) -> TestClient:
    with TestClient(create_app(Settings(node_url=devnet.url), poll=0.25)) as c:
        yield c


def test_health_reports_the_chain_head(client: TestClient, driven: TaskDriver) -> None:
    h = client.get("/api/health").json()
    assert h["status"] == "ok" and h["read_only"] is True
    assert h["chain"]["connected"] and h["chain"]["head"] > 0


def test_tasks_lists_the_driven_task_with_its_progress(client: TestClient,
                                                       driven: TaskDriver) -> None:
    first = client.get("/api/tasks", params={"per_page": 1}).json()
    total = first["total"]
    assert total > driven.task_id and first["pages"] == total
    # Newest first: task id t is at position total-1-t.
    page = total - driven.task_id
    rows = client.get("/api/tasks", params={"page": page, "per_page": 1}).json()["tasks"]
    assert [t["id"] for t in rows] == [driven.task_id]
    t = rows[0]
    assert t["status"] == "Active" and t["round"] == 2 and t["completed_rounds"] == 2
    assert t["progress"] == 0.5 and t["phase"] == "Commit"
    assert t["num_contributors"] == 2 and t["num_validators"] == 2


def test_task_detail_rounds_votes_rewards_lineage(client: TestClient,
                                                  driven: TaskDriver) -> None:
    tid = driven.task_id
    d = client.get(f"/api/tasks/{tid}").json()
    assert d["task"]["blocks_left"] == d["task"]["phase_ends_at"] - d["head"]
    assert [p["phase"] for p in d["phases"]] == ["Commit", "Reveal", "VoteCommit",
                                                 "VoteReveal", "Aggregate"]
    assert [p["state"] for p in d["phases"]] == ["current", "next", "next", "next", "next"]
    rounds = client.get(f"/api/tasks/{tid}/rounds").json()
    assert rounds == d["rounds"]
    assert [r["state"] for r in rounds] == ["finalized", "finalized", "current", "pending"]
    from tests.scenarios._drive import TaskDriver

    assert [r["attested_score"] for r in rounds[:2]] == [TaskDriver.score(0), TaskDriver.score(1)]
    assert all(r["accepted"] == 1 and r["rejected"] == 1 for r in rounds[:2])
    assert d["rewards"]["paid"] == sum(r["contributor_rewards"] + r["validator_rewards"]
                                       for r in rounds[:2]) > 0
    lineage = d["lineage"]
    assert [m["model_cid"] for m in lineage] == ["bafy-dashboard-m0", f"bafy-model-t{tid}-m1",
                                                 f"bafy-model-t{tid}-m2"]
    assert [[u["cid"] for u in m["updates"]] for m in lineage[1:]] == [
        [driven.accepted_cids[0]], [driven.accepted_cids[1]]]
    # Nothing committed in the current round: the default view is the last finalised round.
    assert d["selected_round"]["round"] == 1
    current = client.get(f"/api/tasks/{tid}", params={"round": 2}).json()["selected_round"]
    assert current["round"] == 2 and current["submissions"] == []
    r1 = client.get(f"/api/tasks/{tid}", params={"round": 1}).json()["selected_round"]
    assert sorted(s["outcome"] for s in r1["submissions"]) == ["Accepted", "Rejected"]
    vm = r1["vote_matrix"]
    assert len(vm["rows"]) == 2 and all(len(r["verdicts"]) == 2 for r in vm["rows"])
    good = next(s["index"] for s in r1["submissions"] if s["outcome"] == "Accepted")
    assert all(row["verdicts"][vm["submissions"].index(good)]["accept"] for row in vm["rows"])
    # v2: the electorate's bonds (3 and 2 DML) weigh the verdicts.
    assert sorted(row["stake"] for row in vm["rows"]) == [2 * 10**12, 3 * 10**12]
    assert all(row["committed"] and row["voted"] for row in vm["rows"])
    tally = vm["tallies"][vm["submissions"].index(good)]
    assert (tally["accept_stake"], tally["reject_stake"]) == (5 * 10**12, 0)
    assert client.get(f"/api/tasks/{tid}", params={"round": 3}).status_code == 404
    assert client.get("/api/tasks/4000000").status_code == 404


def test_participants_show_stake_roles_reputation_history(client: TestClient,
                                                          driven: TaskDriver) -> None:
    bob, eve, charlie = (dev_account(n).ss58_address for n in ("bob", "eve", "charlie"))
    everyone = {p["address"]: p for p in client.get("/api/participants").json()}
    assert {bob, eve, charlie} <= set(everyone)
    assert "contributor" in everyone[bob]["roles"] and "validator" in everyone[charlie]["roles"]
    assert everyone[bob]["reputation"] > everyone[eve]["reputation"]
    b = client.get(f"/api/participants/{bob}").json()
    assert b["balance"]["reserved"] >= b["contributor_stake"] > 0
    mine = next(h for h in b["history"] if h["task"] == driven.task_id)
    assert mine["contributor"] and [r["updates"][0]["outcome"] for r in mine["rounds"]] == [
        "Accepted", "Accepted"]
    e = client.get(f"/api/participants/{eve}").json()
    mine = next(h for h in e["history"] if h["task"] == driven.task_id)
    assert [r["updates"][0]["outcome"] for r in mine["rounds"]] == ["Rejected", "Rejected"]
    c = client.get(f"/api/participants/{charlie}").json()
    mine = next(h for h in c["history"] if h["task"] == driven.task_id)
    assert mine["validator"] and [r["verdicts"] for r in mine["rounds"]] == [2, 2]
    assert client.get(f"/api/participants/{dev_account('ferdie').ss58_address}"
                      ).status_code in (200, 404)
    assert client.get("/api/participants/xyz").status_code == 400


def test_pages_render_from_chain_data(client: TestClient, driven: TaskDriver) -> None:
    tid = driven.task_id
    html = client.get(f"/tasks/{tid}?round=1").text
    assert 'id="vote-matrix"' in html and 'data-points="2"' in html
    assert f"bafy-model-t{tid}-m2" in html
    assert client.get("/").status_code == 200
    assert client.get("/participants").status_code == 200
    assert client.get(f"/participants/{dev_account('bob').ss58_address}").status_code == 200


def test_events_stream_pushes_new_blocks(devnet: Devnet, driven: TaskDriver) -> None:
    from tests.scenarios._drive import locked_chain

    app = create_app(Settings(node_url=devnet.url), poll=0.2)
    with serve(app) as base, locked_chain(devnet.url) as chain:
        got: list[dict[str, object]] = []

        def listen() -> None:
            with httpx.stream("GET", f"{base}/api/events", timeout=30) as r:
                assert r.headers["content-type"].startswith("text/event-stream")
                event = None
                for line in r.iter_lines():
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: ") and event == "block":
                        got.append(json.loads(line[6:]))
                        return

        t = threading.Thread(target=listen, daemon=True)
        t.start()
        deadline = time.monotonic() + 20
        while app.state.broadcaster.subscribers == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        head = chain.new_blocks(1)
        t.join(20)
        assert got and int(got[0]["number"]) <= head  # type: ignore[call-overload]
