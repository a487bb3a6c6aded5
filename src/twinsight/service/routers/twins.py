"""``GET /api/v1/twins`` and ``GET /api/v1/twins/{name}/state``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime
from starlette.concurrency import run_in_threadpool

from ..deps import RegistryDep, open_twin_handle
from ..schemas import TwinList, TwinState
from ..services.twins import list_twins, twin_state
from ._common import problems

__all__ = ["router"]

router = APIRouter(prefix="/twins", tags=["twins"])


@router.get("", response_model=TwinList)
async def get_twins(registry: RegistryDep) -> TwinList:
    """The twins in the service's home folder: name, template, store kind."""
    return await run_in_threadpool(list_twins, registry)


@router.get("/{name}/state", response_model=TwinState, responses=problems(404, 409, 422, 503))
async def get_state(
    name: str,
    registry: RegistryDep,
    at: Annotated[
        AwareDatetime | None,
        Query(description="ISO 8601 instant with a UTC offset; default: the latest event"),
    ] = None,
) -> TwinState:
    """The hospital at ``at``: census per unit and counts (never a patient key)."""
    handle = await open_twin_handle(registry, name)
    return await run_in_threadpool(twin_state, handle, at)
