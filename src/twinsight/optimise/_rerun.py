"""Run records of optimisations: what is stored, and how ``twinsight rerun`` runs one again."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from ..scale import Executor
from ..spec import FlowSpec, validate_dict
from ._base import spec_builder
from ._problem import OptimisationProblem
from ._search import OptimisationResult, optimise

__all__ = ["record_optimisation", "rerun_optimisation", "run_request"]


def run_request(problem: OptimisationProblem, base: FlowSpec) -> dict[str, Any]:
    """Everything needed to run it again: the problem and the base spec itself (not its file,
    which may change or move; for a twin base, the model as it was)."""
    return {
        "problem": problem.model_dump(mode="json"),
        "base": base.model_dump(mode="json", by_alias=True, exclude_none=True),
    }


def record_optimisation(
    engine: Engine, twin: str, problem: OptimisationProblem, base: FlowSpec,
    result: OptimisationResult,
) -> str:  # fmt: skip
    """Store a finished optimisation as a run of kind ``optimise`` (one transaction) and return
    its id."""
    from ..decide import record_run, spec_hash

    return record_run(
        engine,
        kind="optimise",
        twin=twin,
        request=run_request(problem, base),
        result=result.to_json(),
        spec_hash=spec_hash(base),
        parameters={"decisions": {n: d.model_dump() for n, d in problem.decisions.items()}},
        seeds=[problem.run.seed],
        reps=sum(e.reps for e in result.evaluations),
    )


def rerun_optimisation(
    engine: Engine, record: Any, executor: Executor | str | None = None
) -> tuple[dict[str, Any], str]:
    """``twinsight rerun`` of an ``optimise`` record: the same problem on the same base spec
    (on ``executor``, see ``optimise``: the numbers do not depend on it)."""
    from ..decide import spec_hash

    problem = OptimisationProblem.model_validate(record.request["problem"])
    base = validate_dict(record.request["base"], f"run {record.run_id}")
    builder = spec_builder(problem, base, f"run {record.run_id}")
    result = optimise(problem, builder, executor=executor)
    return result.to_json(), spec_hash(base)
