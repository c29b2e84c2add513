"""The dashboard without a node: views, paging, caching, outage handling and rendering."""

from __future__ import annotations

import asyncio
import re

import pytest
from fastapi.testclient import TestClient

from decentralml_client.config import Settings
from decentralml_client.dashboard import _render as render
from decentralml_client.dashboard import _views as views
from decentralml_client.dashboard._live import Broadcaster
from decentralml_client.dashboard.app import create_app
from tests.dashboard.fakes import ALICE, BOB, CHARLIE, DAVE, FakeChain, make_task


def app_for(fake: FakeChain, **kw: object) -> TestClient:
    def factory(url: str) -> FakeChain:
        if fake.down:
            raise ConnectionRefusedError(111, "Connection refused")
        return fake

    app = create_app(Settings(node_url="ws://fake:9944"), follow=False, retry_every=0.0,
                     factory=factory, **kw)  # type: ignore[arg-type]
    return TestClient(app)


def finished_round(fake: FakeChain, tid: int, r: int, score: int) -> None:
    """Round ``r`` of task ``tid``: BOB's update accepted, DAVE's... rejected by both."""
    fake.submissions[(tid, r)] = {
        0: {"contributor": BOB, "commitment": "0x00", "cid": f"bafy-u-{r}-0",
            "update_hash": "0x" + "aa" * 32, "num_examples": 100, "accepts": 2, "rejects": 0,
            "status": "Accepted"},
        1: {"contributor": ALICE, "commitment": "0x00", "cid": f"bafy-u-{r}-1",
            "update_hash": "0x" + "bb" * 32, "num_examples": 50, "accepts": 0, "rejects": 2,
            "status": "Rejected"},
    }
    fake.votes[(tid, r)] = {
        CHARLIE: [{"submission": 0, "accept": True, "score": score},
                  {"submission": 1, "accept": False, "score": 1200}],
        DAVE: [{"submission": 0, "accept": True, "score": score + 10}],
    }
    fake.summaries[(tid, r)] = {
        "model_cid": f"bafy-m{r + 1}", "model_hash": "0x" + f"{r + 1:02x}" * 32,
        "accepted": 1, "rejected": 1, "void": 0, "attested_score": score,
        "contributor_rewards": 80 * 10**12, "validator_rewards": 20 * 10**12,
        "retries": 0, "finalized_at": 10 * (r + 1)}


# -- pure views -----------------------------------------------------------------------------

def test_paginate_newest_first_and_clamped() -> None:
    ids, meta = views.paginate(500, 1, 25)
    assert ids == list(range(499, 474, -1))
    assert meta == {"page": 1, "per_page": 25, "pages": 20, "total": 500}
    ids, meta = views.paginate(500, 20, 25)
    assert ids == list(range(24, -1, -1))
    assert views.paginate(500, 21, 25)[0] == []
    assert views.paginate(0, 1, 25) == ([], {"page": 1, "per_page": 25, "pages": 1, "total": 0})
    assert views.paginate(7, 1, 10_000)[1]["per_page"] == views.MAX_PER_PAGE


def test_phase_timeline_counts_blocks_left_from_head() -> None:
    task = make_task(0, phase="Vote", phase_ends_at=130)
    tl = views.phase_timeline(task, head=100)
    assert [p["state"] for p in tl] == ["done", "done", "current", "next"]
    assert tl[2]["blocks_left"] == 30 and tl[2]["ends_at"] == 130
    assert views.phase_timeline(task, head=200)[2]["blocks_left"] == 0


def test_vote_matrix_has_a_cell_per_validator_and_update() -> None:
    fake = FakeChain(1)
    finished_round(fake, 0, 0, 9000)
    vm = views.vote_matrix(fake.submissions[(0, 0)], fake.votes[(0, 0)],
                           validators=[CHARLIE, DAVE, ALICE])
    assert vm["submissions"] == [0, 1]
    rows = {r["validator"]: r for r in vm["rows"]}
    assert rows[CHARLIE]["verdicts"] == [{"accept": True, "score": 9000},
                                         {"accept": False, "score": 1200}]
    assert rows[DAVE]["verdicts"] == [{"accept": True, "score": 9010}, None]
    assert rows[ALICE] == {"validator": ALICE, "voted": False, "verdicts": [None, None]}


def test_pending_outcome_follows_the_pallet_quorum_rule() -> None:
    task = make_task(0, phase="Vote")
    task["voters"] = 3
    sub = {"contributor": BOB, "cid": "c", "update_hash": "0x", "num_examples": 1,
           "accepts": 3, "rejects": 0, "status": "Revealed"}
    assert views.submission_view(0, sub, task, final=False)["outcome"] == "Accepted (pending)"
    # Permill 666_667 of 3 voters rounds up to 3 accepts (the pallet's mul_ceil).
    sub["accepts"] = 2
    assert views.submission_view(0, sub, task, final=False)["outcome"] == "Rejected (pending)"


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


# -- the app over a fake chain ----------------------------------------------------------------

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


def test_reads_are_cached_until_a_new_block() -> None:
    fake = FakeChain(3)
    with app_for(fake, ttl=60.0) as client:
        assert client.get("/api/tasks/1").status_code == 200
        calls = fake.calls
        for _ in range(5):
            assert client.get("/api/tasks/1").status_code == 200
            assert client.get("/tasks/1").status_code == 200
        assert fake.calls == calls
        client.app.state.reader.new_block()  # what the follower does on each block
        client.get("/api/tasks/1")
        assert fake.calls > calls


def test_task_detail_shows_rounds_votes_rewards_and_lineage() -> None:
    fake = FakeChain(1)
    fake.tasks[0] = make_task(0, rounds=3, round_=2, phase="Reveal", phase_ends_at=55)
    fake.members[0] = {BOB: {"contributor": True, "validator": False},
                       CHARLIE: {"contributor": False, "validator": True},
                       DAVE: {"contributor": False, "validator": True}}
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
        assert html.count('class="cell accept"') == 2 and html.count('class="cell reject"') == 1


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


def test_outage_is_reported_and_recovered_from() -> None:
    fake = FakeChain(2)
    with app_for(fake) as client:
        assert client.get("/api/health").json()["status"] == "ok"
        fake.down = True
        client.app.state.reader.new_block()
        r = client.get("/api/tasks")
        assert r.status_code == 503 and r.json()["error"] == "chain_unreachable"
        assert client.get("/api/tasks/0").status_code == 503
        page = client.get("/")
        assert page.status_code == 503 and "Chain unreachable" in page.text
        health = client.get("/api/health")
        assert health.status_code == 200 and health.json()["status"] == "chain_unreachable"
        fake.down = False
        assert client.get("/api/tasks").status_code == 200
        assert client.get("/api/health").json()["chain"]["connected"] is True


def test_broadcaster_fans_out_to_every_subscriber() -> None:
    async def scenario() -> list[tuple[str, dict[str, object]]]:
        b = Broadcaster()
        q1, q2 = b.subscribe(), b.subscribe()
        await asyncio.to_thread(b.publish, "block", {"number": 7})
        got = [await asyncio.wait_for(q.get(), 2) for q in (q1, q2)]
        b.unsubscribe(q1)
        assert b.subscribers == 1
        return got

    assert asyncio.run(scenario()) == [("block", {"number": 7})] * 2


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


def test_rules_with_parameters_read_naturally() -> None:
    assert render.rule_text("FedAvg") == "FedAvg"
    assert render.rule_text({"TrimmedMean": {"beta": 100000}}) == "TrimmedMean(beta=100000)"
    assert render.rule_text({"MultiKrum": {"byzantine": 1, "keep": 0}}) == \
        "MultiKrum(byzantine=1, keep=0)"


def test_every_json_endpoint_declares_a_typed_response() -> None:
    with app_for(FakeChain(1)) as client:
        schema = client.get("/openapi.json").json()
    for path, ops in schema["paths"].items():
        if path == "/api/events":
            continue  # a text/event-stream
        ok = ops["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert "$ref" in ok or "$ref" in ok.get("items", {}), (path, ok)
        assert "503" in ops["get"]["responses"], path
