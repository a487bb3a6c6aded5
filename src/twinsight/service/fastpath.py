"""A lean ASGI lane for ``POST /api/v1/twins/{name}/events`` (one event), ahead of FastAPI.

Single-event ingest is the service's hot path (issue 5: 2,000 requests/s on 2 cores). Through
FastAPI a request costs ~0.55 ms of event-loop CPU, of which uvicorn's HTTP work is ~0.05 ms;
the rest is the middleware stack, routing over every route, dependency solving, ``Request``
objects and response validation (``docs/decisions/0012-http-ingest-cpu.md``). This lane answers
the same requests with the same checks in the same order, on the raw ASGI scope:

1. authentication and authorisation: a remembered token (``Security.remembered_token``, no file
   read); any other token, and every refusal with its audit entry, goes through
   ``Security.authorise`` in a worker thread exactly as the FastAPI route does (401 / 403);
2. the rate limit of (token, twin): 429 with ``Retry-After``;
3. the twin (404 when there is none), the media type (415), the body and its size (413; 400);
4. the event, through the twin's group commit (``services.ingest.ingest_event``): 400 when it
   is not JSON, 422 when it is quarantined, 200 once committed.

Only the happy path is re-implemented: whenever a header is unusual (no ``Content-Length``,
another media type), the shared helpers of ``deps`` answer with their own problem. Errors are
answered by the app's own exception handlers (the same problem details as the route), an
unexpected one as the generic 500 of ``problems.CatchAllMiddleware``. The FastAPI route stays
(it documents the endpoint in OpenAPI and serves when the lane is off: ``app.state.fast_ingest
= False``); ``tests/test_service_fastpath.py`` checks both answer alike. A change to the
route's checks (``routers/ingest.py``, ``security.require``) must be made here too.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from ..govern import LOCAL, Principal
from .deps import open_twin_handle, read_body, require_media_type
from .problems import CatchAllMiddleware
from .security import Security
from .services.group_commit import committer_for
from .services.ingest import EVENT_TYPES, ingest_event
from .settings import ServiceSettings

__all__ = ["EVENTS_PREFIX", "IngestAccessFilter", "handle_event_post", "match_event_post"]

#: ``POST {EVENTS_PREFIX}{name}/events`` is the single-event ingest route.
EVENTS_PREFIX = "/api/v1/twins/"
_SUFFIX = "/events"
_JSON = [(b"content-type", b"application/json")]
_WANTED = frozenset((b"authorization", b"content-type", b"content-length"))


def match_event_post(scope: Scope) -> str | None:
    """The twin's name when ``scope`` is a single-event ingest request, else None."""
    if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("root_path"):
        return None
    path: str = scope["path"]
    if not path.startswith(EVENTS_PREFIX) or not path.endswith(_SUFFIX):
        return None
    name = path[len(EVENTS_PREFIX) : -len(_SUFFIX)]
    return name if name and "/" not in name else None


def _headers(scope: Scope) -> tuple[str, str, str | None]:
    """Authorization, Content-Type and Content-Length (None: absent) of the request; the first
    of a repeated header, as Starlette's ``Headers.get``."""
    found: dict[bytes, str] = {}
    for key, value in scope["headers"]:
        if key in _WANTED and key not in found:
            found[key] = value.decode("latin-1")
    return (
        found.get(b"authorization", ""),
        found.get(b"content-type", ""),
        found.get(b"content-length"),
    )


async def _body(receive: Receive) -> bytes | None:
    """The whole body (its length already checked against the limit); None: client gone."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _principal(security: Security, scope: Scope, authorization: str, name: str) -> Principal:
    if not security.enabled:
        return LOCAL
    principal = security.remembered_token(authorization, "ingest", name)
    if principal is None:
        principal = await run_in_threadpool(security.authorise, Request(scope), "ingest")
    return principal


async def _ingest(state: Any, scope: Scope, receive: Receive, name: str) -> bytes | None:
    """The answer's body of a committed event (None: the client went away); raises the
    problems (``ProblemError``) and store errors the route would raise."""
    settings: ServiceSettings = state.settings
    security: Security = state.security
    authorization, content_type, length = _headers(scope)
    principal = await _principal(security, scope, authorization, name)
    security.throttle(principal, name)
    handle = await open_twin_handle(state.registry, name)
    if content_type.strip().lower() not in EVENT_TYPES:  # charset, or not JSON: the full check
        require_media_type(Request(scope), EVENT_TYPES)
    limit = min(settings.max_event_bytes, settings.max_body_bytes)
    if length is None or not length.isdigit() or int(length) > limit:
        body: bytes | None = await read_body(Request(scope, receive), limit)  # 400, 413 or read
    else:
        body = await _body(receive)
    if body is None:
        return None
    result = await ingest_event(committer_for(state, handle), body, principal.actor)
    return result.model_dump_json().encode()


async def _lane(scope: Scope, receive: Receive, send: Send) -> None:
    """The lane as an ASGI app (``scope["app"]``: the FastAPI app; the twin in
    ``scope["path_params"]``); an unexpected error is raised to ``CatchAllMiddleware``."""
    app = scope["app"]
    try:
        body = await _ingest(app.state, scope, receive, scope["path_params"]["name"])
    except Exception as exc:
        handler = _handler(app, exc)
        if handler is None:
            raise
        response = handler(Request(scope, receive), exc)
        if inspect.isawaitable(response):
            response = await response
        await response(scope, receive, send)
        return
    if body is None:  # the client went away before its body arrived: nothing stored
        return
    headers = [*_JSON, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _handler(app: Any, exc: Exception) -> Any:
    """The app's exception handler for ``exc`` (by its class's MRO, as Starlette looks it up)."""
    for kind in type(exc).__mro__:
        handler = app.exception_handlers.get(kind)
        if handler is not None:
            return handler
    return None


#: Unexpected errors: the generic 500 problem of the app's own catch-all middleware.
_LANE = CatchAllMiddleware(_lane)


async def handle_event_post(
    app: Any, scope: Scope, receive: Receive, send: Send, name: str
) -> None:
    """Answer one single-event ingest request for twin ``name`` (``app``: the FastAPI app)."""
    scope["app"] = app
    scope["path_params"] = {"name": name}
    await _LANE(scope, receive, send)


class IngestAccessFilter(logging.Filter):
    """Drops uvicorn's access-log lines of single events answered 200 (``twinsight serve``).

    Writing one line per request costs about as much CPU as the lane itself (~0.1 ms); these
    requests are in the twin's audit log already (one entry per token and group commit, with
    the number of requests). Every other request, and every refused event, is still logged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and args[1] == "POST" and args[4] == 200:
            path = str(args[2])
            name = path[len(EVENTS_PREFIX) : -len(_SUFFIX)]
            if path.startswith(EVENTS_PREFIX) and path.endswith(_SUFFIX) and "/" not in name:
                return False
        return True
