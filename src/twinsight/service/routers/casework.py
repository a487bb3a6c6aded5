"""The social-services twin's endpoints (``docs/service.md``, ``docs/social-services.md``).

``GET .../casework/forecast`` (viewer, analyst, admin): the backlog and cases waiting for a
slot per day ahead with bands, and the share decided within the deadline; ``GET
.../casework/equity`` (viewer, analyst, admin): decisions, time to decision and the share within
the deadline by district, priority and team, counts of people below k as ``"<k"``; ``POST
.../casework/events`` (device, admin): case events as JSON rows, checked and quarantined as a
file's are. A twin of another template: ``409``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query
from starlette.concurrency import run_in_threadpool

from ..deps import RegistryDep, SettingsDep, open_twin_handle
from ..schemas_ops import CaseEventIn, CaseworkEquityOut, CaseworkForecastOut, OpsIngestOut
from ..security import IngestDep, ReadDep
from ..services import casework as service
from ._common import problems

__all__ = ["router"]

router = APIRouter(prefix="/twins/{name}/casework", tags=["social-services"])
#: The most case events one POST may carry.
MAX_ROWS = 10_000


@router.get(
    "/forecast", response_model=CaseworkForecastOut, responses=problems(401, 403, 404, 409, 422)
)
async def get_casework_forecast(
    name: str,
    registry: RegistryDep,
    settings: SettingsDep,
    _: ReadDep,
    days: Annotated[float, Query(gt=0, le=180, description="days ahead")] = 28.0,
    reps: Annotated[int, Query(ge=2, le=500, description="replications")] = 100,
    seed: Annotated[int, Query(ge=0, description="random seed")] = 1,
) -> CaseworkForecastOut:
    """Backlog (open cases) and cases waiting for a slot per day, quantiles p5..p95, and the
    share decided within the deadline, from the open cases now (same arguments: same
    numbers)."""
    handle = await open_twin_handle(registry, name)
    return await run_in_threadpool(
        service.forecast_out, handle, days, reps, seed, settings.suppress_k
    )


@router.get(
    "/equity", response_model=CaseworkEquityOut, responses=problems(401, 403, 404, 409, 422)
)
async def get_casework_equity(
    name: str,
    registry: RegistryDep,
    settings: SettingsDep,
    _: ReadDep,
    days: Annotated[float, Query(gt=0, le=730, description="days simulated after warm-up")] = 365,
    reps: Annotated[int, Query(ge=2, le=200, description="replications")] = 20,
    seed: Annotated[int, Query(ge=0, description="random seed")] = 1,
    target: Annotated[
        float, Query(gt=0, le=1, description="share within the deadline aimed at")
    ] = 0.9,
) -> CaseworkEquityOut:
    """Per district, priority and team: decisions (people per run; "<k" below k), mean days to
    decision and the share within the deadline, model and observed."""
    handle = await open_twin_handle(registry, name)
    return await run_in_threadpool(
        service.equity_out, handle, days, reps, seed, target, settings.suppress_k
    )


@router.post(
    "/events", response_model=OpsIngestOut, responses=problems(401, 403, 404, 409, 422, 429)
)
async def post_casework_events(
    name: str,
    registry: RegistryDep,
    principal: IngestDep,
    rows: Annotated[list[CaseEventIn], Body(min_length=1, max_length=MAX_ROWS)],
) -> OpsIngestOut:
    """Case events as JSON rows (the CSV layout's columns); each is stored or quarantined
    with its reason. Replaying a batch adds nothing."""
    handle = await open_twin_handle(registry, name)
    return await run_in_threadpool(service.ingest_rows, handle, rows, principal.actor)
