"""The JSON API under ``/api`` (typed responses, documented at ``/openapi.json``) and SSE."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from decentralml_client.dashboard import _models as m
from decentralml_client.dashboard._live import Broadcaster, sse
from decentralml_client.dashboard._state import Data, State

SSE_KEEPALIVE = 15.0
SSE_MAX_LIFETIME = 300.0  # streams end after 5 min; EventSource reconnects by itself

_UNREACHABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": m.Error, "description": "The chain is unreachable (the body says why)."}}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": m.Error, "description": "No such task, round or participant."},
    **_UNREACHABLE}

# ``exclude_unset``: a field the data layer did not set (e.g. v2-only fields on a v1 chain,
# or a finalised round's summary on a current round) is left out, not sent as null.
router = APIRouter(prefix="/api", responses=_UNREACHABLE)


@router.get("/health", tags=["status"], response_model=m.Health)
def health(state: State) -> dict[str, Any]:
    """Whether the chain answers, its head, and the live-update follower's state.

    Always HTTP 200 (the dashboard itself is up); ``status`` is ``ok`` or
    ``chain_unreachable``.
    """
    chain = state.data.status()
    follower, broadcaster = state.follower, state.broadcaster
    return {
        "status": "ok" if chain["connected"] else "chain_unreachable",
        "chain": chain,
        "live": {"following": bool(follower and follower.is_alive()),
                 **broadcaster.status, "subscribers": broadcaster.subscribers},
        "cache": {"node_reads": state.reader.reads, "ttl_s": state.reader.ttl},
        "read_only": True,
    }


@router.get("/tasks", tags=["tasks"], response_model=m.TasksPage,
            response_model_exclude_unset=True)
def tasks(data: Data,
          page: int = Query(1, ge=1, description="1-based page, newest tasks first"),
          per_page: int = Query(25, ge=1, le=200)) -> dict[str, Any]:
    """Tasks with status and progress, newest first, paged."""
    return data.tasks_page(page, per_page)


@router.get("/tasks/{task_id}", tags=["tasks"], response_model=m.TaskDetail,
            response_model_exclude_unset=True, responses=_NOT_FOUND)
def task(data: Data, task_id: int, round_: int | None = Query(
        None, ge=0, alias="round",
        description="the round whose votes to include (default: the current round, or the "
        "last finalised one while nothing was committed in the current round)")
         ) -> dict[str, Any]:
    """One task: phase timeline, rounds, the selected round's updates and vote matrix,
    rewards and model lineage."""
    return data.task_detail(task_id, round_)


@router.get("/tasks/{task_id}/rounds", tags=["tasks"], response_model=list[m.RoundState],
            response_model_exclude_unset=True, responses=_NOT_FOUND)
def rounds(data: Data, task_id: int) -> list[dict[str, Any]]:
    """Every round of the task: finalised (summary, model, rewards), current or pending."""
    return data.rounds(task_id)


@router.get("/tasks/{task_id}/rounds/{round_}", tags=["tasks"], response_model=m.RoundDetail,
            response_model_exclude_unset=True, responses=_NOT_FOUND)
def round_detail(data: Data, task_id: int, round_: int) -> dict[str, Any]:
    """One round's revealed updates, their outcome and the validator × update votes
    (only who committed, while the votes are sealed)."""
    return data.round_detail(task_id, round_)


@router.get("/tasks/{task_id}/lineage", tags=["tasks"], response_model=m.Lineage,
            responses=_NOT_FOUND)
def lineage(data: Data, task_id: int, round_: int = Query(
        ..., ge=0, alias="round", description="the finalised round whose adopted model to trace")
            ) -> dict[str, Any]:
    """Where a round's adopted model comes from: for every round from the initial model on,
    the accepted updates (CID, contributor, votes), the attestations of the adopted hash, and
    whether the records meet the quorums (``checked``, ``problem``). The same JSON as
    ``decentralml model lineage --json``."""
    return data.lineage(task_id, round_)


@router.get("/participants", tags=["participants"], response_model=list[m.Participant],
            response_model_exclude_unset=True)
def participants(data: Data) -> list[dict[str, Any]]:
    """Registered accounts with roles, stakes and reputation."""
    return data.participants()


@router.get("/participants/{address}", tags=["participants"],
            response_model=m.ParticipantDetail, response_model_exclude_unset=True,
            responses={400: {"model": m.Error, "description": "Not an SS58 address."},
                       **_NOT_FOUND})
def participant(data: Data, address: str) -> dict[str, Any]:
    """One participant: stakes, balance, reputation, bonds and its history in recent tasks."""
    return data.participant(address)


@router.get("/events", tags=["status"], response_class=StreamingResponse)
async def events(request: Request, state: State) -> StreamingResponse:
    """Server-sent events: ``block`` (number, hash, DecentralMl events) for each new block
    and ``status`` when the chain connection is lost or regained."""
    return StreamingResponse(_stream(request, state.broadcaster, state.closing),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def _stream(request: Request, broadcaster: Broadcaster,
                  closing: asyncio.Event) -> AsyncIterator[str]:
    queue = broadcaster.subscribe()
    loop = asyncio.get_running_loop()
    end = loop.time() + SSE_MAX_LIFETIME
    try:
        yield "retry: 2000\n\n"
        yield sse("status", broadcaster.status)
        while not closing.is_set() and loop.time() < end:
            try:
                event, payload = await asyncio.wait_for(queue.get(), SSE_KEEPALIVE)
            except TimeoutError:
                if await request.is_disconnected():
                    break
                yield ": keep-alive\n\n"
                continue
            if event == "close":  # the server is shutting down
                break
            yield sse(event, payload)
    finally:
        broadcaster.unsubscribe(queue)
