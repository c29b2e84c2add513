"""The dashboard's FastAPI application: HTML pages, the JSON API and server-sent events.

Read-only by construction: every route is a GET, the app holds no key (it never opens the
keystore; it only uses ``settings.node_url``), and it signs nothing. See ``docs/dashboard.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import AsyncIterator, Callable
from importlib import resources
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from decentralml_client.chain import Chain, ChainUnreachable
from decentralml_client.config import Settings
from decentralml_client.dashboard import _render as render
from decentralml_client.dashboard._data import BadRequest, DashboardData, NotFound
from decentralml_client.dashboard._live import Broadcaster, Follower, sse
from decentralml_client.dashboard._reader import Reader, _default_factory

# Pages may load only what this server serves (no CDN, no fonts, no images from elsewhere).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'none'")
SSE_KEEPALIVE = 15.0
SSE_MAX_LIFETIME = 300.0  # streams end after 5 min; EventSource reconnects by itself

_ERRORS = {503: {"description": "The chain is unreachable (JSON body says why)."}}


def create_app(settings: Settings, *, follow: bool = True, poll: float = 0.5,
               ttl: float = 2.0, retry_every: float = 1.0,
               factory: Callable[[str], Chain] = _default_factory) -> FastAPI:
    """The dashboard for the chain at ``settings.node_url``.

    ``follow`` starts the block follower (live updates, cache invalidation) with the app;
    ``poll`` is how often it asks for the head, ``ttl`` how long a read is cached at most.
    """
    reader = Reader(settings.node_url, ttl=ttl, retry_every=retry_every, factory=factory)
    data = DashboardData(reader)
    broadcaster = Broadcaster()
    closing = asyncio.Event()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        closing.clear()
        _end_streams_on_exit_signals(asyncio.get_running_loop(), broadcaster)
        follower = None
        if follow:
            follower = Follower(settings.node_url, reader, broadcaster, poll=poll,
                                retry_every=retry_every, factory=factory)
            follower.start()
        app.state.follower = follower
        try:
            yield
        finally:
            closing.set()
            broadcaster.publish("close", {})
            if follower is not None:
                follower.stop()
                follower.join(timeout=5)
            reader.close()

    app = FastAPI(
        title="DecentralML dashboard",
        version="0.1.0",
        description="Read-only view of the DecentralMl pallet: tasks, rounds, votes, models "
        "and participants. Every endpoint is a GET; nothing here can sign or change state.",
        lifespan=lifespan,
    )
    app.state.reader = reader
    app.state.data = data
    app.state.broadcaster = broadcaster

    # -- errors -----------------------------------------------------------------------------

    def _is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    @app.exception_handler(ChainUnreachable)
    async def _unreachable(request: Request, exc: ChainUnreachable) -> Response:
        if _is_api(request):
            return JSONResponse(status_code=503, content={
                "error": "chain_unreachable", "detail": str(exc), "node_url": reader.url})
        status = {"connected": False, "url": reader.url, "head": None, "error": str(exc)}
        return _page("Chain unreachable", render.unreachable(status), status, code=503)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        if _is_api(request):
            return JSONResponse(status_code=404, content={"error": "not_found",
                                                          "detail": str(exc)})
        return _page("Not found", render.not_found(str(exc)), data.status(), code=404)

    @app.exception_handler(BadRequest)
    async def _bad_request(request: Request, exc: BadRequest) -> Response:
        if _is_api(request):
            return JSONResponse(status_code=400, content={"error": "bad_request",
                                                          "detail": str(exc)})
        return _page("Bad request", render.not_found(str(exc)), data.status(), code=400)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if _is_api(request):
            return await request_validation_exception_handler(request, exc)
        problems = "; ".join(f"{'.'.join(str(x) for x in err['loc'][1:])}: {err['msg']}"
                             for err in exc.errors())
        return _page("Bad request", render.not_found(f"Invalid request: {problems}"),
                     data.status(), code=422)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if not request.url.path.startswith(("/docs", "/redoc")):
            response.headers["Content-Security-Policy"] = CSP
        return response

    def _page(title: str, body: str, status: dict[str, Any], *, active: str = "",
              code: int = 200) -> HTMLResponse:
        return HTMLResponse(render.layout(title, body, status, active=active), status_code=code,
                            headers={"Cache-Control": "no-store"})

    # -- HTML pages -------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def overview(page: int = Query(1, ge=1), per_page: int = Query(25, ge=1, le=200)
                 ) -> HTMLResponse:
        tasks = data.tasks_page(page, per_page)
        return _page("Tasks", render.overview(tasks), data.status(), active="overview")

    @app.get("/tasks/{task_id}", response_class=HTMLResponse, include_in_schema=False)
    def task_page(task_id: int, round_: int | None = Query(None, ge=0, alias="round")
                  ) -> HTMLResponse:
        detail = data.task_detail(task_id, round_)
        return _page(f"Task #{task_id}", render.task_page(detail), data.status(),
                     active="overview")

    @app.get("/participants", response_class=HTMLResponse, include_in_schema=False)
    def participants_page() -> HTMLResponse:
        return _page("Participants", render.participants_page(data.participants()),
                     data.status(), active="participants")

    @app.get("/participants/{address}", response_class=HTMLResponse, include_in_schema=False)
    def participant_page(address: str) -> HTMLResponse:
        p = data.participant(address)
        return _page(f"Participant {render.short(address)}", render.participant_page(p),
                     data.status(), active="participants")

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        types = {"dashboard.css": "text/css", "dashboard.js": "text/javascript"}
        if name not in types:
            return Response(status_code=404)
        body = resources.files("decentralml_client.dashboard").joinpath("static", name)
        return Response(body.read_bytes(), media_type=types[name],
                        headers={"Cache-Control": "max-age=60"})

    # -- JSON API ---------------------------------------------------------------------------

    @app.get("/api/health", tags=["status"])
    def health() -> dict[str, Any]:
        """Whether the chain answers, its head, and the live-update follower's state.

        Always HTTP 200 (the dashboard itself is up); ``status`` is ``ok`` or
        ``chain_unreachable``.
        """
        chain = data.status()
        follower = app.state.follower if hasattr(app.state, "follower") else None
        return {
            "status": "ok" if chain["connected"] else "chain_unreachable",
            "chain": chain,
            "live": {"following": bool(follower and follower.is_alive()),
                     **broadcaster.status, "subscribers": broadcaster.subscribers},
            "cache": {"node_reads": reader.reads, "ttl_s": reader.ttl},
            "read_only": True,
        }

    @app.get("/api/tasks", tags=["tasks"], responses=_ERRORS)
    def api_tasks(page: int = Query(1, ge=1, description="1-based page, newest tasks first"),
                  per_page: int = Query(25, ge=1, le=200)) -> dict[str, Any]:
        """Tasks with status and progress, newest first, paged."""
        return data.tasks_page(page, per_page)

    @app.get("/api/tasks/{task_id}", tags=["tasks"], responses={404: {}, **_ERRORS})
    def api_task(task_id: int, round_: int | None = Query(
            None, ge=0, alias="round",
            description="the round whose votes to include (default: the current round, or "
            "the last finalised one while nothing was committed in the current round)")
    ) -> dict[str, Any]:
        """One task: phase timeline, rounds, the selected round's updates and vote matrix,
        rewards and model lineage."""
        return data.task_detail(task_id, round_)

    @app.get("/api/tasks/{task_id}/rounds", tags=["tasks"], responses={404: {}, **_ERRORS})
    def api_rounds(task_id: int) -> list[dict[str, Any]]:
        """Every round of the task: finalised (summary, model, rewards), current or pending."""
        return data.rounds(task_id)

    @app.get("/api/tasks/{task_id}/rounds/{round_}", tags=["tasks"],
             responses={404: {}, **_ERRORS})
    def api_round(task_id: int, round_: int) -> dict[str, Any]:
        """One round's revealed updates, their outcome and the validator × update votes."""
        return data.round_detail(task_id, round_)

    @app.get("/api/participants", tags=["participants"], responses=_ERRORS)
    def api_participants() -> list[dict[str, Any]]:
        """Registered accounts with roles, stakes and reputation."""
        return data.participants()

    @app.get("/api/participants/{address}", tags=["participants"],
             responses={400: {}, 404: {}, **_ERRORS})
    def api_participant(address: str) -> dict[str, Any]:
        """One participant: stakes, balance, reputation and its history in recent tasks."""
        return data.participant(address)

    @app.get("/api/events", tags=["status"], response_class=StreamingResponse)
    async def api_events(request: Request) -> StreamingResponse:
        """Server-sent events: ``block`` (number, hash, DecentralMl events) for each new block
        and ``status`` when the chain connection is lost or regained."""
        queue = broadcaster.subscribe()
        loop = asyncio.get_running_loop()
        end = loop.time() + SSE_MAX_LIFETIME

        async def stream() -> AsyncIterator[str]:
            try:
                yield "retry: 2000\n\n"
                yield sse("status", broadcaster.status)
                while not closing.is_set() and loop.time() < end:
                    try:
                        event, payload = await asyncio.wait_for(queue.get(), SSE_KEEPALIVE)
                    except asyncio.TimeoutError:
                        if await request.is_disconnected():
                            break
                        yield ": keep-alive\n\n"
                        continue
                    if event == "close":  # the server is shutting down
                        break
                    yield sse(event, payload)
            finally:
                broadcaster.unsubscribe(queue)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store",
                                          "X-Accel-Buffering": "no"})

    return app


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
