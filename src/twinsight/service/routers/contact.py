"""The contact-centre twin's endpoints (``docs/service.md``, ``docs/contact-centre.md``).

``GET .../contact/staffing`` (viewer, analyst, admin): agents required and rostered per
interval of a weekday with the predicted service level, ASA and abandonment;
``GET .../contact/calibration`` and ``GET .../contact/forecast`` (viewer, analyst, admin);
``POST .../contact/interactions`` (device, admin): interaction records as JSON rows, checked
and quarantined as a file's are. A twin of another template: ``409``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query
from starlette.concurrency import run_in_threadpool

from ..deps import RegistryDep, open_twin_handle
from ..schemas_ops import (
    ContactCalibrationOut,
    ContactForecastOut,
    InteractionIn,
    OpsIngestOut,
    StaffingOut,
)
from ..security import IngestDep, ReadDep
from ..services import contact as service
from ._common import problems

__all__ = ["router"]

router = APIRouter(prefix="/twins/{name}/contact", tags=["contact-centre"])
#: The most interaction records one POST may carry.
MAX_ROWS = 10_000
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Method = Literal["erlang", "auto", "simulation"]


@router.get("/staffing", response_model=StaffingOut, responses=problems(401, 403, 404, 409, 422))
async def get_contact_staffing(
    name: str,
    registry: RegistryDep,
    _: ReadDep,
    day: Annotated[Weekday, Query(description="the weekday planned")] = "mon",
    method: Annotated[
        Method,
        Query(description="erlang (Erlang C/A, fast), simulation, or auto (Erlang where it holds)"),
    ] = "erlang",
) -> StaffingOut:
    """Per queue and interval of ``day``: calls, productive agents required, agents to roster
    (shrinkage), service level, ASA (seconds), abandonment and occupancy."""
    handle = await open_twin_handle(registry, name)
    return await run_in_threadpool(service.staffing_out, handle, day, method)


@router.get(
    "/calibration", response_model=ContactCalibrationOut, responses=problems(401, 403, 404, 409)
)
async def get_contact_calibration(
    name: str, registry: RegistryDep, _: ReadDep
) -> ContactCalibrationOut:
    """The saved calibration: window, calls per week, handle time and patience per queue."""
    handle = await open_twin_handle(registry, name)
    return await run_in_threadpool(service.calibration_out, handle)


@router.get(
    "/forecast", response_model=ContactForecastOut, responses=problems(401, 403, 404, 409, 422)
)
async def get_contact_forecast(
    name: str,
    registry: RegistryDep,
    _: ReadDep,
    days: Annotated[float, Query(gt=0, le=28, description="days ahead")] = 7.0,
    reps: Annotated[int, Query(ge=2, le=200, description="replications")] = 20,
    seed: Annotated[int, Query(ge=0, description="random seed")] = 1,
    method: Annotated[Method, Query(description="how the plan simulated is staffed")] = "erlang",
) -> ContactForecastOut:
    """The coming days simulated with the staffing plan (or the twin's roster): per queue
    service level, ASA (seconds), abandonment, occupancy, satisfaction (means, 95% CI)."""
    handle = await open_twin_handle(registry, name)
    return await run_in_threadpool(service.forecast_out, handle, days, reps, seed, method)


@router.post(
    "/interactions",
    response_model=OpsIngestOut,
    responses=problems(401, 403, 404, 409, 422, 429),
)
async def post_contact_interactions(
    name: str,
    registry: RegistryDep,
    principal: IngestDep,
    rows: Annotated[list[InteractionIn], Body(min_length=1, max_length=MAX_ROWS)],
) -> OpsIngestOut:
    """Interaction records as JSON rows (the CSV layout's columns); each is stored or
    quarantined with its reason. Replaying a batch adds nothing."""
    handle = await open_twin_handle(registry, name)
    return await run_in_threadpool(service.ingest_rows, handle, rows, principal.actor)
