"""Live updates: a thread follows new blocks and fans messages out to SSE subscribers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from decentralml_client.chain import Chain, Event
from decentralml_client.chain.client import PALLET
from decentralml_client.dashboard._reader import (
    SUBSTRATE_LOCK,
    Reader,
    default_factory,
    describe_failure,
)

Message = tuple[str, dict[str, Any]]  # (SSE event name, JSON payload)


class Broadcaster:
    """Hands each published message to every subscriber's asyncio queue (thread-safe)."""

    def __init__(self, maxsize: int = 100) -> None:
        self._lock = threading.Lock()
        self._subs: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Message]]] = set()
        self._maxsize = maxsize
        self.status: dict[str, Any] = {"connected": False, "error": None, "head": None}

    def subscribe(self) -> asyncio.Queue[Message]:
        q: asyncio.Queue[Message] = asyncio.Queue(self._maxsize)
        with self._lock:
            self._subs.add((asyncio.get_running_loop(), q))
        return q

    def unsubscribe(self, q: asyncio.Queue[Message]) -> None:
        with self._lock:
            self._subs = {s for s in self._subs if s[1] is not q}

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def publish(self, event: str, data: dict[str, Any]) -> None:
        with self._lock:
            subs = list(self._subs)
        for loop, q in subs:
            try:
                loop.call_soon_threadsafe(_offer, q, (event, data))
            except RuntimeError:  # the loop has closed
                self.unsubscribe(q)


def _offer(q: asyncio.Queue[Message], msg: Message) -> None:
    if q.full():  # a slow tab: drop its oldest message, it only needs to know "refresh"
        q.get_nowait()
    q.put_nowait(msg)


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


class Follower(threading.Thread):
    """Follows the chain's new blocks on its own connection; reconnects after failures.

    For each block it invalidates the reader's cache and publishes ``block`` (number, hash
    and the block's DecentralMl events); on losing or regaining the node it publishes
    ``status``.
    """

    def __init__(self, url: str, reader: Reader, broadcaster: Broadcaster, *,
                 poll: float = 0.5, retry_every: float = 1.0,
                 factory: Callable[[str], Chain] = default_factory) -> None:
        super().__init__(name="dashboard-follower", daemon=True)
        self.url = url
        self.reader = reader
        self.broadcaster = broadcaster
        self.poll = poll
        self.retry_every = retry_every
        self._factory = factory
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()

    def _set_status(self, connected: bool, error: str | None, head: int | None) -> None:
        changed = connected != self.broadcaster.status["connected"]
        self.broadcaster.status = {"connected": connected, "error": error, "head": head,
                                   "since": time.time()}
        if changed:
            self.broadcaster.publish("status", self.broadcaster.status)

    def _publish_block(self, number: int, block_hash: str, events: list[Event]) -> None:
        self.reader.new_block()
        ours = [{"name": e.name, "attributes": e.attributes} for e in events if e.pallet == PALLET]
        self.broadcaster.status["head"] = number
        self.broadcaster.publish("block", {"number": number, "hash": block_hash, "events": ours})

    def run(self) -> None:
        while not self._halt.is_set():
            chain: Chain | None = None
            try:
                with SUBSTRATE_LOCK:
                    chain = self._factory(self.url)
                    last, _ = chain.head()
                self.reader.new_block()
                self.reader.retry_now()
                self._set_status(True, None, last)
                while not self._halt.is_set():
                    with SUBSTRATE_LOCK:
                        head, _ = chain.head()
                    while last < head and not self._halt.is_set():
                        last += 1
                        with SUBSTRATE_LOCK:
                            hash_ = chain.block_hash(last)
                            events = chain.events(hash_)
                        self._publish_block(last, hash_, events)
                    self._halt.wait(self.poll)
            except Exception as exc:  # any failure: report, wait, reconnect
                if self._halt.is_set():
                    break
                self.reader.mark_down(exc)
                self._set_status(False, describe_failure(exc, self.url), None)
                self._halt.wait(self.retry_every)
            finally:
                if chain is not None:
                    with contextlib.suppress(Exception), SUBSTRATE_LOCK:
                        chain.close()
