"""Errors as JSON for ``/api`` and as HTML pages for people; security headers on every answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from decentralml_client.chain import ChainUnreachable
from decentralml_client.dashboard import _render as render
from decentralml_client.dashboard._data import BadRequest, NotFound
from decentralml_client.dashboard._pages import html_page
from decentralml_client.dashboard._state import get_state

# Pages may load only what this server serves (no CDN, no fonts, no images from elsewhere).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'none'")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def chain_unreachable(request: Request, exc: Exception) -> Response:
    url = get_state(request).reader.url
    if _is_api(request):
        return JSONResponse(status_code=503, content={
            "error": "chain_unreachable", "detail": str(exc), "node_url": url})
    status = {"connected": False, "url": url, "head": None, "error": str(exc)}
    return html_page(request, "Chain unreachable", render.unreachable(status), status=status,
                     code=503)


async def not_found(request: Request, exc: Exception) -> Response:
    if _is_api(request):
        return JSONResponse(status_code=404, content={"error": "not_found", "detail": str(exc)})
    return html_page(request, "Not found", render.not_found(str(exc)), code=404)


async def bad_request(request: Request, exc: Exception) -> Response:
    if _is_api(request):
        return JSONResponse(status_code=400, content={"error": "bad_request",
                                                      "detail": str(exc)})
    return html_page(request, "Bad request", render.not_found(str(exc)), code=400)


async def invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if _is_api(request):
        return await request_validation_exception_handler(request, exc)
    problems = "; ".join(f"{'.'.join(str(x) for x in err['loc'][1:])}: {err['msg']}"
                         for err in exc.errors())
    return html_page(request, "Bad request", render.not_found(f"Invalid request: {problems}"),
                     code=422)


async def security_headers(request: Request,
                           call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if not request.url.path.startswith(("/docs", "/redoc")):
        response.headers["Content-Security-Policy"] = CSP
    return response


def install(app: FastAPI) -> None:
    """Register the error handlers and the security-headers middleware on ``app``."""
    app.add_exception_handler(ChainUnreachable, chain_unreachable)
    app.add_exception_handler(NotFound, not_found)
    app.add_exception_handler(BadRequest, bad_request)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.middleware("http")(security_headers)
