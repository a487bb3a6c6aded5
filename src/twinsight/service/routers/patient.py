"""The patient twin's endpoints (``docs/service.md``, ``docs/patient.md``). Decision support for
clinicians, not medical advice: every answer says so in a top-level ``notice``.

``GET .../patient/readings`` (viewer, analyst, admin): the stored home readings, the subject a
pseudonym. ``GET .../patient/recommendation`` (analyst, admin: a clinician's token; a viewer
token, such as one given to the patient or a wall display, sees readings but no regimens).
``POST .../patient/readings`` (device, admin): readings as JSON rows, checked and quarantined as
a reading file's are. A twin of another template: ``409``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query
from starlette.concurrency import run_in_threadpool

from ..deps import RegistryDep, open_twin_handle
from ..schemas_health import HealthIngestOut, PatientReadingsOut, ReadingIn, RecommendationOut
from ..security import AnalystDep, IngestDep, ReadDep
from ..services import patient as service
from ._common import problems

__all__ = ["router"]

router = APIRouter(prefix="/twins/{name}/patient", tags=["patient"])
#: The most readings one POST may carry.
MAX_ROWS = 5000
_NOTE = "Decision support for clinicians, not medical advice. "


@router.get(
    "/readings",
    response_model=PatientReadingsOut,
    responses=problems(401, 403, 404, 409),
    description=_NOTE + "The patient's stored home readings (mm Hg), oldest first.",
)
async def get_patient_readings(name: str, registry: RegistryDep, _: ReadDep) -> PatientReadingsOut:
    """The stored readings."""
    handle = await open_twin_handle(registry, name)
    return await run_in_threadpool(service.readings_out, handle)


@router.get(
    "/recommendation",
    response_model=RecommendationOut,
    responses=problems(401, 403, 404, 409, 422),
    description=_NOTE + "Regimens most likely to reach the patient's target with the fewest "
    "drugs and lowest doses (predicted usual pressure at full effect, 90% intervals), 10-year "
    "ASCVD risk before and after (Pooled Cohort Equations), day-by-day trajectories under the "
    "current regimen and the top options. A clinician decides.",
)
async def get_patient_recommendation(
    name: str,
    registry: RegistryDep,
    _: AnalystDep,
    seed: Annotated[int, Query(ge=0, description="random seed")] = 1,
    top: Annotated[int, Query(ge=1, le=20, description="regimens listed")] = 5,
    min_probability: Annotated[
        float, Query(gt=0, lt=1, description="P(target) a regimen must reach to rank first")
    ] = 0.8,
    days: Annotated[int, Query(ge=1, le=180, description="days of trajectory")] = 42,
) -> RecommendationOut:
    """The recommendation."""
    handle = await open_twin_handle(registry, name)
    return await run_in_threadpool(
        lambda: service.recommendation_out(
            handle, seed=seed, top=top, min_probability=min_probability, days=days
        )
    )


@router.post(
    "/readings",
    response_model=HealthIngestOut,
    responses=problems(401, 403, 404, 409, 422, 429),
    description=_NOTE + "Home readings as JSON rows (the reading CSV's columns); each is "
    "stored or quarantined with its reason (impossible value, time without offset, another "
    "patient). Replaying a batch adds nothing.",
)
async def post_patient_readings(
    name: str,
    registry: RegistryDep,
    principal: IngestDep,
    rows: Annotated[list[ReadingIn], Body(min_length=1, max_length=MAX_ROWS)],
) -> HealthIngestOut:
    """Store readings."""
    handle = await open_twin_handle(registry, name)
    return await run_in_threadpool(service.ingest_rows, handle, rows, principal.actor)
