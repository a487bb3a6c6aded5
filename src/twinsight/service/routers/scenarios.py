"""Scenarios and comparisons of a twin (``docs/dashboard.md``, ``docs/scenarios.md``):
``GET .../scenarios`` (role: viewer, analyst, admin) lists them with the intervention library;
``POST .../scenarios`` saves one and ``POST .../compare`` compares scenarios with the baseline
in the background (role: analyst, admin; ``202``, a job whose result has the sentences);
``GET .../optimise`` lists what may be decided and targeted, ``POST .../optimise`` searches for
the cheapest decision meeting the targets (``202``, a job)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from starlette.concurrency import run_in_threadpool

from ...govern import audit
from ..deps import RegistryDep, open_twin_handle
from ..schemas_dashboard import CompareRequest, JobOut, ScenarioList
from ..security import AnalystDep, ReadDep
from ..services.jobs import JobBoard, get_jobs, start_job
from ..services.optimise import optimise_job, optimise_options, parse_problem_body
from ..services.scenarios import compare_job, resolve_scenarios, save_scenario_body, scenario_list
from ._common import problems

__all__ = ["router"]

router = APIRouter(prefix="/twins/{name}", tags=["scenarios"])
JobsDep = Annotated[JobBoard, Depends(get_jobs)]


@router.get("/scenarios", response_model=ScenarioList, responses=problems(401, 403, 404))
async def get_scenarios(name: str, registry: RegistryDep, _: ReadDep) -> ScenarioList:
    """The twin's scenarios and the intervention library (JSON schema of each kind)."""
    handle = await open_twin_handle(registry, name)
    return await run_in_threadpool(scenario_list, handle)


@router.post("/scenarios", status_code=201, responses=problems(401, 403, 404, 409, 422))
async def post_scenario(
    name: str,
    registry: RegistryDep,
    principal: AnalystDep,
    body: Annotated[dict[str, Any], Body(description="name, description, interventions")],
    replace: Annotated[bool, Query(description="overwrite a scenario of that name")] = False,
) -> dict[str, Any]:
    """Save a scenario with the twin (validated; 409 when the name is taken)."""
    handle = await open_twin_handle(registry, name)
    scenario = await run_in_threadpool(save_scenario_body, handle, body, replace)
    await run_in_threadpool(
        audit.append, handle.twin.engine, actor=principal.actor, action="scenario",
        target=name, detail={"scenario": scenario.name, "replace": replace},
    )  # fmt: skip
    return scenario.to_json()


@router.post(
    "/compare", status_code=202, response_model=JobOut, responses=problems(401, 403, 404, 422)
)
async def post_compare(
    name: str,
    registry: RegistryDep,
    board: JobsDep,
    principal: AnalystDep,
    body: CompareRequest,
) -> JobOut:
    """Compare scenarios with the baseline (common random numbers); a job to poll, whose
    result holds each KPI's intervals and a sentence per scenario."""
    handle = await open_twin_handle(registry, name)
    scenarios = await run_in_threadpool(resolve_scenarios, handle, body.scenarios)
    detail = {"scenarios": [s.name for s in scenarios], "days": body.days, "reps": body.reps}
    return await start_job(
        board, handle, "compare", principal, lambda: compare_job(handle, scenarios, body), detail
    )


@router.get("/optimise", responses=problems(401, 403, 404))
async def get_optimise(name: str, registry: RegistryDep, _: ReadDep) -> dict[str, Any]:
    """What an optimisation on this twin may decide (resources: path, capacity) and target
    (KPI names)."""
    handle = await open_twin_handle(registry, name)
    return await run_in_threadpool(optimise_options, handle)


@router.post(
    "/optimise", status_code=202, response_model=JobOut, responses=problems(401, 403, 404, 422)
)
async def post_optimise(
    name: str,
    registry: RegistryDep,
    board: JobsDep,
    principal: AnalystDep,
    body: Annotated[dict[str, Any], Body(description="an optimisation problem, 'twin:' base")],
) -> JobOut:
    """The cheapest decision on the twin's model meeting every target (recorded as a run); a
    job to poll."""
    handle = await open_twin_handle(registry, name)
    problem = parse_problem_body(body)
    detail = {"problem": problem.name, "decisions": sorted(problem.decisions)}
    return await start_job(
        board, handle, "optimise", principal, lambda: optimise_job(handle, problem), detail
    )
