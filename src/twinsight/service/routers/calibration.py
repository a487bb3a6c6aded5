"""Calibration and drift of a twin (``docs/dashboard.md``): ``GET .../calibration`` and
``GET .../alarms`` (role: viewer, analyst, admin); ``POST`` of either (role: analyst, admin)
calibrates or checks drift in the background (``202``, a job)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from ..deps import RegistryDep, SettingsDep, open_twin_handle
from ..schemas_dashboard import AlarmList, CalibrationOut, JobOut
from ..security import AnalystDep, ReadDep
from ..services.calibration import alarms_out, calibrate_job, calibration_out, drift_job
from ..services.jobs import JobBoard, get_jobs, start_job
from ._common import problems

__all__ = ["router"]

router = APIRouter(prefix="/twins/{name}", tags=["calibration"])
JobsDep = Annotated[JobBoard, Depends(get_jobs)]


@router.get("/calibration", response_model=CalibrationOut, responses=problems(401, 403, 404, 503))
async def get_calibration(
    name: str, registry: RegistryDep, settings: SettingsDep, _: ReadDep
) -> CalibrationOut:
    """The saved calibration: each unit's fitted length of stay against Kaplan-Meier."""
    handle = await open_twin_handle(registry, name)
    return await run_in_threadpool(calibration_out, handle, settings.suppress_k)


@router.post("/calibration", status_code=202, response_model=JobOut,
             responses=problems(401, 403, 404))  # fmt: skip
async def post_calibration(
    name: str, registry: RegistryDep, board: JobsDep, principal: AnalystDep
) -> JobOut:
    """Calibrate on the 56 days before the latest event (saved); a job to poll."""
    handle = await open_twin_handle(registry, name)
    return await start_job(board, handle, "calibrate", principal, lambda: calibrate_job(handle))


@router.get("/alarms", response_model=AlarmList, responses=problems(401, 403, 404, 503))
async def get_alarms(
    name: str,
    registry: RegistryDep,
    _: ReadDep,
    days: Annotated[
        float | None, Query(gt=0, le=36_500, description="checked in the last days")
    ] = None,
) -> AlarmList:
    """Recorded drift alarms, newest first."""
    handle = await open_twin_handle(registry, name)
    return await run_in_threadpool(alarms_out, handle, days)


@router.post("/alarms", status_code=202, response_model=JobOut,
             responses=problems(401, 403, 404))  # fmt: skip
async def post_alarms(
    name: str, registry: RegistryDep, board: JobsDep, principal: AnalystDep
) -> JobOut:
    """Check drift now (bands, lengths of stay, arrivals; alarms recorded); a job to poll."""
    handle = await open_twin_handle(registry, name)
    return await start_job(board, handle, "drift", principal, lambda: drift_job(handle))
