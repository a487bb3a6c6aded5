"""``GET /api/v1/twins`` and ``GET /api/v1/twins/{name}/state`` (role: viewer, analyst, admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime
from starlette.concurrency import run_in_threadpool

from ..deps import RegistryDep, SettingsDep, open_twin_handle
from ..schemas import TwinList, TwinState
from ..security import ReadDep
from ..services.twins import list_twins, twin_state
from ._common import problems

__all__ = ["router"]

router = APIRouter(prefix="/twins", tags=["twins"])


@router.get("", response_model=TwinList, responses=problems(401, 403))
async def get_twins(registry: RegistryDep, principal: ReadDep) -> TwinList:
    """The twins of the service's home folder this token may read: name, template, store."""
    return await run_in_threadpool(list_twins, registry, principal.twins)


@router.get(
    "/{name}/state", response_model=TwinState, responses=problems(401, 403, 404, 409, 422, 503)
)
async def get_state(
    name: str,
    registry: RegistryDep,
    settings: SettingsDep,
    _: ReadDep,
    at: Annotated[
        AwareDatetime | None,
        Query(description="ISO 8601 instant with a UTC offset; default: the latest event"),
    ] = None,
) -> TwinState:
    """The hospital at ``at``: census per unit and counts (never a patient key; counts of
    people below the service's k answered as ``"<k"``)."""
    handle = await open_twin_handle(registry, name)
    return await run_in_threadpool(twin_state, handle, at, settings.suppress_k)
