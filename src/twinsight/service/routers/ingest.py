"""``POST /api/v1/twins/{name}/events`` (one ADT event) and ``.../events/batch``.

Roles device and admin, rate limited per token and twin (429 with Retry-After); a single event
body is at most ``max_event_bytes``, a batch ``max_body_bytes``. Concurrent requests to a twin
share commits (``services.group_commit``); each is answered after its own records committed.
See ``docs/service.md``.

Single events are answered by the lean lane of ``service.fastpath`` ahead of FastAPI (this
route documents them in OpenAPI and serves when the lane is off): change both together.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ..deps import get_registry, get_settings, open_twin_handle, read_body, require_media_type
from ..schemas import BatchResult, IngestResult
from ..security import IngestDep
from ..services.group_commit import committer_for
from ..services.ingest import (
    BATCH_TYPES,
    EVENT_TYPES,
    NDJSON_TYPES,
    ingest_batch,
    ingest_event,
    parse_batch,
)
from ._common import ADT_EVENT_REF, problems

__all__ = ["router"]

router = APIRouter(prefix="/twins/{name}", tags=["ingest"])

_EVENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": ADT_EVENT_REF}}},
    }
}
_ARRAY = {"type": "array", "items": {"$ref": ADT_EVENT_REF}}
_BATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _ARRAY},
            **{
                media: {"schema": {"type": "string", "description": "one ADT event per line"}}
                for media in NDJSON_TYPES
            },
        },
    }
}


@router.post(
    "/events",
    response_model=IngestResult,
    responses=problems(400, 401, 403, 404, 413, 415, 422, 429, 503),
    openapi_extra=_EVENT_BODY,
)
async def post_event(name: str, request: Request, principal: IngestDep) -> IngestResult:
    """Store one ADT event; answered once committed. An invalid one is quarantined: 422."""
    # registry and settings read directly: a sync dependency costs a worker-thread hop
    settings = get_settings(request)
    handle = await open_twin_handle(get_registry(request), name)
    require_media_type(request, EVENT_TYPES)
    body = await read_body(request, min(settings.max_event_bytes, settings.max_body_bytes))
    committer = committer_for(request.app.state, handle)
    return await ingest_event(committer, body, principal.actor)


@router.post(
    "/events/batch",
    response_model=BatchResult,
    responses=problems(400, 401, 403, 404, 413, 415, 422, 429, 503),
    openapi_extra=_BATCH_BODY,
)
async def post_batch(name: str, request: Request, principal: IngestDep) -> BatchResult:
    """Store a batch in one transaction; bad records quarantined, the rest stored."""
    settings = get_settings(request)
    handle = await open_twin_handle(get_registry(request), name)
    media = require_media_type(request, BATCH_TYPES)
    body = await read_body(request, settings.max_body_bytes)
    records = await run_in_threadpool(parse_batch, body, media, settings.max_batch_events)
    committer = committer_for(request.app.state, handle)
    return await ingest_batch(committer, records, principal.actor)
