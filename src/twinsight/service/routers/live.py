"""``GET /api/v1/twins/{name}/live`` (role: viewer, analyst, admin): server-sent events, one
``state`` message with the census per unit, beds, the ED and boarding each time new events are
committed, and a keep-alive comment every 15 s without one (``docs/dashboard.md``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from ..deps import RegistryDep, open_twin_handle
from ..security import ReadDep
from ..services.live import get_hub
from ._common import problems

__all__ = ["router"]

router = APIRouter(prefix="/twins/{name}", tags=["live"])

_SSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "server-sent events"}
}


@router.get("/live", response_class=StreamingResponse,
            responses={**_SSE, **problems(401, 403, 404, 503)})  # fmt: skip
async def get_live(
    name: str,
    request: Request,
    registry: RegistryDep,
    _: ReadDep,
    max_events: Annotated[
        int | None, Query(ge=1, description="close the stream after this many messages")
    ] = None,
) -> StreamingResponse:
    """The hospital's state now, then again whenever new events are committed (SSE)."""
    handle = await open_twin_handle(registry, name)
    hub = get_hub(request)

    async def stream() -> AsyncIterator[str]:
        sent = 0
        yield "retry: 2000\n\n"
        async for snap in hub.subscribe(handle, request):
            if snap is None:
                yield ": keep-alive\n\n"
                continue
            yield f"event: state\nid: {snap.version}\ndata: {snap.model_dump_json()}\n\n"
            sent += 1
            if max_events is not None and sent >= max_events:
                return

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
