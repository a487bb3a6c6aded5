"""The dashboard's optimisation: the cheapest integer decision (beds per ward, staff) on the
hospital twin's own calibrated model whose KPI targets are met (``twinsight.optimise``),
recorded as an ``optimise`` run. Over HTTP the base is always the twin (``twin: {days}``), never
a spec file named by the client. Blocking: run in a worker thread."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ...assimilate import StateError, current_state
from ...calibrate import CalibrationError, load_calibration
from ...engines._kpi import kpi_names
from ...forecast._build import model_from_calibration
from ...hospital import configured_beds
from ...hospital._ops import _calibration
from ...optimise import (
    OptimisationProblem,
    ProblemFileError,
    optimise,
    record_optimisation,
    spec_builder,
)
from ...spec import FlowSpec
from ..problems import ProblemError
from .registry import TwinHandle

__all__ = ["optimise_job", "optimise_options", "parse_problem_body"]

_SOURCE = "<optimisation problem>"


def _base(handle: TwinHandle, days: float, present: bool) -> FlowSpec:
    twin = handle.twin
    state = current_state(twin.engine, None, recent_only=True)
    model = model_from_calibration(_calibration(twin, state.at), configured_beds(twin))
    start = state if present else None
    return model.spec(start, days, interval=24.0, name=f"hospital twin {twin.name}")


def optimise_options(handle: TwinHandle) -> dict[str, Any]:
    """What a problem on this twin may decide and target: each resource's path and present
    capacity, and the KPI names (``available`` False until the twin is calibrated)."""
    try:
        load_calibration(handle.twin.path)
        base = _base(handle, 7.0, False)
    except (CalibrationError, StateError):
        return {"twin": handle.twin.name, "available": False, "resources": {}, "kpis": []}
    return {
        "twin": handle.twin.name,
        "available": True,
        "resources": {
            name: {"path": f"resources.{name}.capacity", "capacity": r.capacity}
            for name, r in base.resources.items()
        },
        "kpis": kpi_names(base),
    }


def parse_problem_body(body: dict[str, Any]) -> OptimisationProblem:
    """A problem from JSON whose base is the twin (422 problems naming the field)."""
    try:
        problem = OptimisationProblem.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the problem"
        raise ProblemError(
            422, "invalid-problem", "Invalid optimisation problem",
            f"{where}: {first['msg']} ({len(exc.errors())} problem(s))",
        ) from None  # fmt: skip
    if problem.spec is not None or problem.twin is None:
        raise ProblemError(
            422, "invalid-problem", "Invalid optimisation problem",
            "over HTTP the base is the twin's own model: give 'twin': {'days': N} and no 'spec'",
        )  # fmt: skip
    return problem


def optimise_job(handle: TwinHandle, problem: OptimisationProblem) -> dict[str, Any]:
    """Search for the cheapest feasible decision (in this process) and record the run."""
    assert problem.twin is not None
    base = _base(handle, problem.twin.days, problem.twin.present)
    try:
        spec_for = spec_builder(problem, base, _SOURCE)
    except ProblemFileError as exc:
        raise ValueError("; ".join(p.render(_SOURCE) for p in exc.problems)) from None
    result = optimise(problem, spec_for, executor="inprocess")
    run_id = record_optimisation(handle.twin.engine, handle.twin.name, problem, base, result)
    out = result.to_json()
    out.pop("evaluations", None)  # every candidate: in the run record, not needed here
    return {"run_id": run_id, **out}
