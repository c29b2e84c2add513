"""The dashboard's FastAPI application: HTML pages, the JSON API and server-sent events.

Read-only by construction: every route is a GET, the app holds no key (it never opens the
keystore: the names it shows for accounts are handed to it; it only uses
``settings.node_url``), and it signs nothing. See ``docs/dashboard.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from fastapi import FastAPI

from decentralml_client.chain import Chain
from decentralml_client.config import Settings
from decentralml_client.dashboard import _api, _errors, _pages
from decentralml_client.dashboard._data import DashboardData
from decentralml_client.dashboard._live import Broadcaster, Follower
from decentralml_client.dashboard._reader import Reader, default_factory
from decentralml_client.dashboard._state import DashboardState

Lifespan = Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]


def create_app(settings: Settings, *, follow: bool = True, poll: float = 0.5,
               ttl: float = 2.0, retry_every: float = 1.0,
               factory: Callable[[str], Chain] = default_factory,
               names: Callable[[], Mapping[str, str]] | None = None) -> FastAPI:
    """The dashboard for the chain at ``settings.node_url``.

    ``names`` gives the names to show for accounts (address → name; ``decentralml dashboard``
    passes the local keystore's key names, read by the CLI: this package never opens keys).

    ``follow`` starts the block follower (live updates, cache invalidation) with the app;
    ``poll`` is how often it asks for the head, ``ttl`` how long a read is cached at most.
    """
    reader = Reader(settings.node_url, ttl=ttl, retry_every=retry_every, factory=factory)
    state = DashboardState(reader=reader, data=DashboardData(reader), broadcaster=Broadcaster(),
                           names=names or dict, ipfs_api=settings.ipfs_api)

    def start_follower() -> Follower | None:
        if not follow:
            return None
        follower = Follower(settings.node_url, reader, state.broadcaster, poll=poll,
                            retry_every=retry_every, factory=factory)
        follower.start()
        return follower

    app = FastAPI(
        title="DecentralML dashboard",
        version="0.1.0",
        description="Read-only view of the DecentralMl pallet: tasks, rounds, votes, models "
        "and participants. Every endpoint is a GET; nothing here can sign or change state.",
        lifespan=_lifespan(state, start_follower),
    )
    app.state.dashboard = state
    app.state.reader = reader
    app.state.data = state.data
    app.state.broadcaster = state.broadcaster
    _errors.install(app)
    app.include_router(_pages.router)
    app.include_router(_api.router)
    return app


def _lifespan(state: DashboardState, start_follower: Callable[[], Follower | None]) -> Lifespan:
    """Start the follower with the app; on shutdown end the event streams, then stop it."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.closing = asyncio.Event()
        _end_streams_on_exit_signals(asyncio.get_running_loop(), state.broadcaster)
        state.follower = app.state.follower = start_follower()
        try:
            yield
        finally:
            state.closing.set()
            state.broadcaster.publish("close", {})
            if state.follower is not None:
                state.follower.stop()
                state.follower.join(timeout=5)
            state.reader.close()

    return lifespan


def _end_streams_on_exit_signals(loop: asyncio.AbstractEventLoop,
                                 broadcaster: Broadcaster) -> None:
    """On Ctrl-C / SIGTERM, end the open event streams, then let the server handle the signal.

    uvicorn waits for open connections before it shuts down, and an event stream never ends
    on its own; without this, stopping ``decentralml dashboard`` with a page open would hang.
    Only possible when the server runs in the main thread (signal handlers live there).
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(signum)

        def handler(sig: int, frame: Any, previous: Any = previous) -> None:
            loop.call_soon_threadsafe(broadcaster.publish, "close", {})
            if callable(previous):
                previous(sig, frame)
            elif previous == signal.SIG_DFL and sig == signal.SIGINT:
                raise KeyboardInterrupt

        signal.signal(signum, handler)
