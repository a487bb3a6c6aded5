"""Optimisation: the cheapest integer decision (beds, staff, agents) whose KPI targets are met,
by simulation (sample-average approximation with common random numbers over the cost-ordered
lattice, with a sequential one-sided check of each target). See docs/optimise.md."""

from __future__ import annotations

from ._base import base_spec, spec_builder
from ._problem import (
    Constraint,
    Decision,
    OptimisationProblem,
    ProblemFileError,
    RunSettings,
    SearchSettings,
    TwinBase,
    load_problem,
    parse_problem,
)
from ._rerun import record_optimisation, rerun_optimisation, run_request
from ._search import MAX_LATTICE, Check, Evaluation, OptimisationResult, evaluate, optimise

__all__ = [
    "MAX_LATTICE",
    "Check",
    "Constraint",
    "Decision",
    "Evaluation",
    "OptimisationProblem",
    "OptimisationResult",
    "ProblemFileError",
    "RunSettings",
    "SearchSettings",
    "TwinBase",
    "base_spec",
    "evaluate",
    "load_problem",
    "optimise",
    "parse_problem",
    "record_optimisation",
    "rerun_optimisation",
    "run_request",
    "spec_builder",
]


def _register() -> None:
    from ..decide import register_rerunner

    register_rerunner("optimise", rerun_optimisation)


_register()
