"""The dashboard's cached, reconnecting reads: one read per key per block, outages reported
and healed (over an in-memory chain)."""

from __future__ import annotations

from tests.dashboard.fakes import FakeChain, app_for


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
