"""Live updates: the broadcaster fans every message out to every subscriber."""

from __future__ import annotations

import asyncio

from decentralml_client.dashboard._live import Broadcaster


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
