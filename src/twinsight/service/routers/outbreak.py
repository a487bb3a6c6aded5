"""The outbreak twin's endpoints (``docs/service.md``, ``docs/outbreak.md``).

``GET .../outbreak/forecast`` and ``GET .../outbreak/chime`` (viewer, analyst, admin): bands of
beds, ICU beds and ventilators with the observed counts, and the CHIME projection;
``POST .../outbreak/calibrate`` (analyst, admin) fits to the stored counts and saves it;
``POST .../outbreak/observations`` (device, admin) stores daily counts given as JSON rows,
checked and quarantined as a CSV file's are; ``POST .../outbreak/compare`` (analyst, admin)
compares scenarios (measures from a day) with the baseline. A twin of another template: ``409``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ...outbreak._scenarios import Mode
from ..deps import RegistryDep, SettingsDep, open_twin_handle
from ..schemas_health import (
    ChimeOut,
    CountsRow,
    HealthIngestOut,
    OutbreakCalibrationOut,
    OutbreakForecastOut,
)
from ..security import AnalystDep, IngestDep, ReadDep
from ..services import outbreak as service
from ._common import problems

__all__ = ["router"]

router = APIRouter(prefix="/twins/{name}/outbreak", tags=["outbreak"])
#: The most rows one POST may carry (days of counts).
MAX_ROWS = 5000


@router.get(
    "/forecast", response_model=OutbreakForecastOut, responses=problems(401, 403, 404, 409, 422)
)
async def get_outbreak_forecast(
    name: str,
    registry: RegistryDep,
    settings: SettingsDep,
    _: ReadDep,
    days: Annotated[int, Query(ge=1, le=180, description="days ahead")] = 28,
    runs: Annotated[int, Query(ge=10, le=5000, description="stochastic runs")] = 1000,
    seed: Annotated[int, Query(ge=0, description="random seed")] = 1,
    deterministic: Annotated[
        bool,
        Query(
            description="the model's equations for each parameter draw (no chance in who is "
            "infected or admitted; the band is the calibration's uncertainty alone)"
        ),
    ] = False,
) -> OutbreakForecastOut:
    """Daily admissions, beds, ICU beds and ventilators in use: mean and 5/25/50/75/95% bands
    from the saved calibration (same days, runs, seed, mode: same numbers), with the observed
    counts (people; 1 to k - 1 answered as "<k")."""
    handle = await open_twin_handle(registry, name)
    mode: Mode = "deterministic" if deterministic else "stochastic"
    return await run_in_threadpool(
        service.forecast_out, handle, days, runs, seed, settings.suppress_k, mode
    )


class OutbreakCompareIn(BaseModel):
    """Scenarios (``NAME=30%@10``: 30% fewer contacts from forecast day 10; several measures
    ``NAME=30%@10,10%@40``; or a name stored in the twin's ``scenarios/``) and the run."""

    scenarios: list[str] = Field(min_length=1, max_length=10)
    days: int = Field(default=60, ge=1, le=180, description="days ahead")
    reps: int = Field(default=200, ge=2, le=5000, description="paired runs per variant")
    seed: int = Field(default=1, ge=0, description="random seed")
    mode: Literal["stochastic", "deterministic"] = Field(
        default="stochastic",
        description="stochastic: the binomial chain with common random numbers; deterministic: "
        "the model's equations for each parameter draw",
    )


class OutbreakCompareOut(BaseModel):
    """Per KPI (peak beds, peak ICU beds, admissions, days over capacity): the baseline's and
    each scenario's mean, the paired difference with its 95% interval, and a sentence."""

    twin: str
    run_id: str | None = Field(None, description="its run record ('twinsight rerun RUN_ID')")
    kind: str = "outbreak"
    baseline: str
    scenarios: list[dict[str, Any]]
    kpis: list[dict[str, Any]]
    days: int
    reps: int
    seed: int
    confidence: float
    mode: str
    common_random_numbers: bool
    precision_met: bool | None = None


@router.post(
    "/compare", response_model=OutbreakCompareOut, responses=problems(401, 403, 404, 409, 422)
)
async def post_outbreak_compare(
    name: str, registry: RegistryDep, _: AnalystDep, body: OutbreakCompareIn
) -> OutbreakCompareOut:
    """Scenarios against the baseline from the saved calibration, paired runs of the binomial
    chain with common random numbers (same body: same numbers; under a second for 200 runs)."""
    handle = await open_twin_handle(registry, name)
    out = await run_in_threadpool(
        service.compare_out, handle, body.scenarios, body.days, body.reps, body.seed, body.mode
    )
    return OutbreakCompareOut(**out)


@router.post(
    "/calibrate", response_model=OutbreakCalibrationOut, responses=problems(401, 403, 404, 409)
)
async def post_outbreak_calibrate(
    name: str, registry: RegistryDep, principal: AnalystDep
) -> OutbreakCalibrationOut:
    """Fit the SEIR-hospital model to every stored count and save it (a few seconds)."""
    handle = await open_twin_handle(registry, name)
    return await run_in_threadpool(service.calibrate, handle, principal.actor)


@router.get("/chime", response_model=ChimeOut, responses=problems(401, 403, 404, 409))
async def get_outbreak_chime(name: str, registry: RegistryDep, _: ReadDep) -> ChimeOut:
    """The CHIME projection of the twin's 'chime:' inputs: admissions and census per day."""
    handle = await open_twin_handle(registry, name)
    return await run_in_threadpool(service.chime_out, handle)


@router.post(
    "/observations",
    response_model=HealthIngestOut,
    responses=problems(401, 403, 404, 409, 422, 429),
)
async def post_outbreak_observations(
    name: str,
    registry: RegistryDep,
    principal: IngestDep,
    rows: Annotated[list[CountsRow], Body(min_length=1, max_length=MAX_ROWS)],
) -> HealthIngestOut:
    """Daily counts (people) as JSON rows; each count is checked like a CSV file's cell and
    stored, or quarantined with its reason. Replaying a batch adds nothing."""
    handle = await open_twin_handle(registry, name)
    return await run_in_threadpool(service.ingest_rows, handle, rows, principal.actor)
