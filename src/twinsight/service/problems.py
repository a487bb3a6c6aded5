"""Errors as RFC 9457 problem details (``application/problem+json``), and nothing else.

Every error the service answers is one JSON object with ``type`` (a ``urn:twinsight:problem:``
URI naming the kind of problem, or ``about:blank`` for plain HTTP errors such as an unknown
route), ``title``, ``status``, ``detail`` and ``instance`` (the request path), plus extension
members for some kinds (an invalid event's quarantine counts). No traceback, exception text of
a library, or raw patient identifier is ever answered or logged: an unexpected error is logged
as its exception type and answered as a generic 500.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "PROBLEM_JSON",
    "CatchAllMiddleware",
    "ProblemError",
    "install_problem_handlers",
    "problem_response",
    "problem_type",
]

PROBLEM_JSON = "application/problem+json"
_PREFIX = "urn:twinsight:problem:"
log = logging.getLogger("twinsight.service")


def problem_type(slug: str) -> str:
    """The ``type`` URI of a Twinsight problem kind (``twin-not-found`` ...)."""
    return _PREFIX + slug


class ProblemError(Exception):
    """An error answered as problem details: ``status``, a kind (``slug``), title, detail.

    ``extra`` holds extension members (JSON values) added to the answer; ``headers`` response
    headers (``Retry-After``, ``WWW-Authenticate``).
    """

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = headers
        self.extra = extra


def problem_response(
    request: Request | None,
    status: int,
    type_: str,
    title: str,
    detail: str,
    extra: dict[str, Any] | None = None,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A ``application/problem+json`` response; ``instance`` defaults to the request's path."""
    body: dict[str, Any] = {
        "type": type_,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance if instance is not None else (request.url.path if request else ""),
    }
    for key, value in (extra or {}).items():
        body.setdefault(key, value)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _log(request: Request, status: int, kind: str) -> None:
    level = logging.WARNING if status >= 500 else logging.INFO
    log.log(level, "%s %s -> %d %s", request.method, request.url.path, status, kind)


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    _log(request, exc.status, exc.slug)
    return problem_response(
        request,
        exc.status,
        problem_type(exc.slug),
        exc.title,
        exc.detail,
        exc.extra,
        headers=exc.headers,
    )


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else ""
    if exc.status_code == 404 and not detail:
        detail = f"there is no resource at {request.url.path}: see /docs for the API"
    if exc.status_code == 405 and not detail:
        detail = f"{request.method} is not allowed on {request.url.path}"
    return problem_response(
        request,
        exc.status_code,
        "about:blank",
        phrase,
        detail or phrase,
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    """A bad query or path parameter: which one and why, never the value sent."""
    assert isinstance(exc, RequestValidationError)
    reasons = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("query", "path"))
        reasons.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
    _log(request, 422, "invalid-parameter")
    return problem_response(
        request, 422, problem_type("invalid-parameter"), "Invalid parameter", "; ".join(reasons)
    )


async def _on_store_down(request: Request, exc: Exception) -> JSONResponse:
    """The database refused or failed an operation: nothing was acknowledged; retry later."""
    _log(request, 503, f"store-unavailable ({type(exc).__name__})")
    return problem_response(
        request,
        503,
        problem_type("store-unavailable"),
        "Store unavailable",
        "the twin's store could not complete the operation; nothing was acknowledged: retry later",
        headers={"Retry-After": "5"},
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` as problem details (see the module docstring)."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(OperationalError, _on_store_down)
    app.add_middleware(CatchAllMiddleware)


class CatchAllMiddleware:
    """An unexpected exception: a generic 500 problem, logged by type only (no traceback).

    Starlette's own error middleware re-raises after answering, so the server would log the
    traceback (and with it, possibly, record contents); this one does not re-raise.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception as exc:
            request = Request(scope)
            log.error(
                "%s %s -> 500 internal-error (%s)",
                request.method,
                request.url.path,
                type(exc).__name__,
            )
            if started:  # too late for an answer: the server closes the connection
                return
            response = problem_response(
                request,
                500,
                problem_type("internal-error"),
                "Internal error",
                "the service failed on this request; nothing was acknowledged: retry, and "
                "report it if it persists",
            )
            await response(scope, receive, send)
