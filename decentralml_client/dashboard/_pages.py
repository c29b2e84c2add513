"""The HTML pages (server-rendered from templates) and their two static assets."""

from __future__ import annotations

from contextlib import AbstractContextManager
from importlib import resources
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from decentralml_client.dashboard import _render as render
from decentralml_client.dashboard._data import NotFound
from decentralml_client.dashboard._state import Data, get_state

router = APIRouter(include_in_schema=False)

STATIC = {"dashboard.css": "text/css", "dashboard.js": "text/javascript"}


def _named(request: Request) -> AbstractContextManager[None]:
    """Render with the local keystore's names for accounts (``name (5EhF…t43p)``)."""
    return render.naming(get_state(request).names())


def html_page(request: Request, title: str, body: Markup, *, active: str = "",
              status: dict[str, Any] | None = None, code: int = 200) -> HTMLResponse:
    """``body`` in the site layout (header with the chain's state, footer); never cached."""
    if status is None:
        status = get_state(request).data.status()
    return HTMLResponse(render.layout(title, body, status, active=active), status_code=code,
                        headers={"Cache-Control": "no-store"})


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, data: Data, page: int = Query(1, ge=1),
             per_page: int = Query(25, ge=1, le=200)) -> HTMLResponse:
    with _named(request):
        body = render.overview(data.tasks_page(page, per_page))
    return html_page(request, "Tasks", body, active="overview")


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def task(request: Request, data: Data, task_id: int,
         round_: int | None = Query(None, ge=0, alias="round")) -> HTMLResponse:
    with _named(request):
        body = render.task_page(data.task_detail(task_id, round_))
    return html_page(request, f"Task #{task_id}", body, active="overview")


@router.get("/tasks/{task_id}/lineage", response_class=HTMLResponse)
def lineage(request: Request, data: Data, task_id: int,
            round_: int = Query(..., ge=0, alias="round")) -> HTMLResponse:
    with _named(request):
        body = render.lineage_page(data.lineage(task_id, round_))
    return html_page(request, f"Task #{task_id}: lineage of M{round_ + 1}", body,
                     active="overview")


@router.get("/tasks/{task_id}/rounds/{round_}/model")
def model_file(request: Request, data: Data, task_id: int, round_: int) -> Response:
    """Download the adopted model of a finalised round: its attested weights file (safetensors,
    what `decentralml model pull --format safetensors` writes), fetched from IPFS and checked
    against the hash the validators attested. Read-only, like every route."""
    from decentralml_client.errors import DecentralMLError
    from decentralml_client.storage import IpfsStore

    data.task(task_id)  # an unknown task is a 404
    summary = data.summary(task_id, round_)
    if summary is None:
        raise NotFound(f"task {task_id} has no finalised round {round_}")
    try:
        content = IpfsStore(get_state(request).ipfs_api).fetch(summary.model_cid,
                                                                summary.model_hash)
    except DecentralMLError as exc:
        return Response(f"the model {summary.model_cid} is not available from IPFS here "
                        f"({exc}); `decentralml model pull {task_id} --round {round_}` "
                        "fetches it where IPFS is reachable.\n",
                        status_code=503, media_type="text/plain")
    name = f"task-{task_id}-round-{round_}.safetensors"
    return Response(content, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "X-Model-Hash": str(summary.model_hash),
                             "Cache-Control": "max-age=3600"})


@router.get("/participants", response_class=HTMLResponse)
def participants(request: Request, data: Data) -> HTMLResponse:
    with _named(request):
        body = render.participants_page(data.participants())
    return html_page(request, "Participants", body, active="participants")


@router.get("/participants/{address}", response_class=HTMLResponse)
def participant(request: Request, data: Data, address: str) -> HTMLResponse:
    with _named(request):
        body = render.participant_page(data.participant(address))
        title = f"Participant {render.label(address)}"
    return html_page(request, title, body,
                     active="participants")


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in STATIC:
        return Response(status_code=404)
    body = resources.files("decentralml_client.dashboard").joinpath("static", name)
    return Response(body.read_bytes(), media_type=STATIC[name],
                    headers={"Cache-Control": "max-age=60"})
