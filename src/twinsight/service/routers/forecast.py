"""Forecast, backtest and background jobs of a twin (``docs/dashboard.md``).

``GET .../forecast`` and ``GET .../backtest`` (role: viewer, analyst, admin) answer what was
last saved; ``POST`` makes a new one in the background (role: analyst, admin): ``202`` with a
job to poll at ``GET .../jobs?id=``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from ..deps import RegistryDep, SettingsDep, open_twin_handle
from ..schemas_dashboard import (
    BacktestOut,
    BacktestRequest,
    ForecastOut,
    ForecastRequest,
    JobList,
    JobOut,
)
from ..security import AnalystDep, ReadDep
from ..services.forecast import backtest_job, backtest_out, forecast_job, forecast_out
from ..services.jobs import JobBoard, get_jobs, start_job
from ._common import problems

__all__ = ["router"]

router = APIRouter(prefix="/twins/{name}", tags=["forecast"])
JobsDep = Annotated[JobBoard, Depends(get_jobs)]


@router.get("/forecast", response_model=ForecastOut, responses=problems(401, 403, 404, 503))
async def get_forecast(
    name: str, registry: RegistryDep, settings: SettingsDep, _: ReadDep
) -> ForecastOut:
    """The latest saved forecast: hourly 5/25/50/75/95% bands of patients per unit."""
    handle = await open_twin_handle(registry, name)
    return await run_in_threadpool(forecast_out, handle, settings.suppress_k)


@router.post(
    "/forecast", status_code=202, response_model=JobOut, responses=problems(401, 403, 404, 422)
)
async def post_forecast(
    name: str,
    registry: RegistryDep,
    board: JobsDep,
    principal: AnalystDep,
    body: ForecastRequest | None = None,
) -> JobOut:
    """Make a new forecast from the twin's present (recorded as a run); a job to poll."""
    handle = await open_twin_handle(registry, name)
    req = body or ForecastRequest()
    return await start_job(
        board, handle, "forecast", principal, lambda: forecast_job(handle, req), req.model_dump()
    )


@router.get("/backtest", response_model=BacktestOut, responses=problems(401, 403, 404, 503))
async def get_backtest(name: str, registry: RegistryDep, _: ReadDep) -> BacktestOut:
    """The latest backtest's scores (how right the twin has been)."""
    handle = await open_twin_handle(registry, name)
    return await run_in_threadpool(backtest_out, handle)


@router.post(
    "/backtest", status_code=202, response_model=JobOut, responses=problems(401, 403, 404, 422)
)
async def post_backtest(
    name: str,
    registry: RegistryDep,
    board: JobsDep,
    principal: AnalystDep,
    body: BacktestRequest | None = None,
) -> JobOut:
    """Run a rolling-origin backtest in the background; a job to poll."""
    handle = await open_twin_handle(registry, name)
    req = body or BacktestRequest()
    return await start_job(
        board, handle, "backtest", principal, lambda: backtest_job(handle, req), req.model_dump()
    )


@router.get("/jobs", response_model=JobList, responses=problems(401, 403, 404))
async def get_jobs_of_twin(
    name: str,
    registry: RegistryDep,
    board: JobsDep,
    _: ReadDep,
    id: Annotated[str | None, Query(description="one job's id")] = None,
) -> JobList:
    """The twin's recent background jobs, newest first, with their results once done."""
    await open_twin_handle(registry, name)
    return JobList(twin=name, jobs=[j.out() for j in board.list(name, id)])
