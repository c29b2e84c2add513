"""Cached, reconnecting reads of the chain for the dashboard.

One :class:`Reader` owns one websocket connection (made lazily, remade after a failure) and a
small cache so that many browser tabs polling the same page cost the node one read per key
per block. Entries are dropped when a new block arrives (:meth:`Reader.new_block`) or after
``ttl`` seconds; entries marked *final* (data of a finalised round, which the pallet never
changes again) are kept until the connection is remade, since a restarted dev chain may
hold different data under the same keys.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from decentralml_client.chain import Chain, ChainError, ChainUnreachable, DecentralMl

T = TypeVar("T")

ChainFactory = Callable[[str], Chain]


def default_factory(url: str) -> Chain:
    """A connection checked against ``pallet-abi/`` with a short timeout."""
    return Chain(url, check_abi=True, timeout=5.0)


def describe_failure(exc: BaseException, url: str) -> str:
    """One sentence for people: what failed and that the dashboard retries by itself."""
    if isinstance(exc, ChainUnreachable):
        return str(exc)
    text = str(exc) or exc.__class__.__name__
    return (f"the DecentralML node at {url} does not answer ({exc.__class__.__name__}: {text}); "
            "the dashboard retries by itself.")

# substrate-interface is not safe across connections used from several threads: scalecodec
# attaches the decoding runtime to shared decoder classes (``cls.runtime_config = self``), so
# two connections decoding at once can see each other's half-loaded type registry
# ("Decoder class for 'Compact<u32>' not found"). Every use of a connection in this process by
# the dashboard (reads, the block follower, connecting) holds this lock.
SUBSTRATE_LOCK = threading.RLock()


@dataclass
class _Entry:
    value: Any
    at: float
    final: bool


class Reader:
    """Thread-safe cached reads over a lazily (re)connected :class:`Chain`."""

    def __init__(self, url: str, *, ttl: float = 2.0, retry_every: float = 1.0,
                 factory: ChainFactory = default_factory) -> None:
        self.url = url
        self.ttl = ttl
        self.retry_every = retry_every
        self._factory = factory
        self._lock = SUBSTRATE_LOCK
        self._chain: Chain | None = None
        self._dml: DecentralMl | None = None
        self._cache: dict[tuple[Any, ...], _Entry] = {}
        self._error: str | None = None
        self._last_attempt = 0.0
        self.reads = 0  # reads that reached the node (for tests and /api/health)

    # -- connection -------------------------------------------------------------------------

    def _connect(self) -> DecentralMl:
        if self._dml is not None:
            return self._dml
        now = time.monotonic()
        if self._error is not None and now - self._last_attempt < self.retry_every:
            raise ChainUnreachable(self._error)
        self._last_attempt = now
        try:
            self._chain = self._factory(self.url)
        except Exception as exc:  # every failure to connect means "unreachable"
            self._error = describe_failure(exc, self.url)
            raise ChainUnreachable(self._error) from exc
        self._dml = DecentralMl(self._chain)
        self._cache.clear()  # a restarted chain may hold other data under the same keys
        self._error = None
        return self._dml

    def _drop(self, exc: BaseException) -> None:
        self._cache = {k: e for k, e in self._cache.items() if e.final}
        self._error = describe_failure(exc, self.url)
        self._last_attempt = time.monotonic()
        if self._chain is not None:
            with contextlib.suppress(Exception):  # the socket is already broken
                self._chain.close()
        self._chain = None
        self._dml = None

    def retry_now(self) -> None:
        """The node is back (the follower reached it): let the next read reconnect at once."""
        with self._lock:
            self._last_attempt = 0.0

    def mark_down(self, exc: BaseException) -> None:
        """Another observer (the block follower) saw the node fail: reconnect on next read."""
        with self._lock:
            self._drop(exc)

    @property
    def connected(self) -> bool:
        return self._dml is not None

    @property
    def error(self) -> str | None:
        return self._error

    # -- reads ------------------------------------------------------------------------------

    def read(self, key: tuple[Any, ...], fn: Callable[[DecentralMl], T], *,
             final: Callable[[T], bool] | None = None, ttl: float | None = None) -> T:
        """``fn(dml)`` through the cache; raises :class:`ChainUnreachable` when the node is down.

        ``final(value)`` says the value can never change again on this chain.
        """
        limit = self.ttl if ttl is None else ttl
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None and (entry.final or time.monotonic() - entry.at < limit):
                return entry.value  # type: ignore[no-any-return]
            dml = self._connect()
            try:
                value = fn(dml)
            except ChainError as exc:  # the chain API maps a dead socket to ConnectionLost
                self._drop(exc)
                raise ChainUnreachable(self._error or str(exc)) from exc
            self.reads += 1
            self._cache[key] = _Entry(value, time.monotonic(), bool(final and final(value)))
            return value

    def new_block(self) -> None:
        """A block arrived: drop everything that may have changed."""
        with self._lock:
            self._cache = {k: e for k, e in self._cache.items() if e.final}

    def close(self) -> None:
        with self._lock:
            if self._chain is not None:
                with contextlib.suppress(Exception):
                    self._chain.close()
            self._chain = None
            self._dml = None

