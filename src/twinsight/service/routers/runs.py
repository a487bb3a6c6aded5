"""``GET /api/v1/twins/{name}/runs`` (role: viewer, analyst, admin): the twin's recorded runs
(forecasts, comparisons, optimisations), latest first, without their results."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from ..deps import RegistryDep, open_twin_handle
from ..schemas_dashboard import RunList
from ..security import ReadDep
from ..services.scenarios import run_list
from ._common import problems

__all__ = ["router"]

router = APIRouter(prefix="/twins/{name}", tags=["runs"])


@router.get("/runs", response_model=RunList, responses=problems(401, 403, 404, 503))
async def get_runs(
    name: str,
    registry: RegistryDep,
    _: ReadDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    kind: Annotated[str | None, Query(description="forecast, compare or optimise")] = None,
) -> RunList:
    """The latest runs first."""
    handle = await open_twin_handle(registry, name)
    return await run_in_threadpool(run_list, handle, limit, kind)
