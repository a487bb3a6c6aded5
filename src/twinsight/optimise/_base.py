"""The base spec of a problem and the spec of each decision (the ``--set`` override machinery)."""

from __future__ import annotations

import copy
import difflib
from typing import Any

from ..engines import kpi_names
from ..spec import FlowSpec, Problem, SpecError, apply_overrides, load_spec, validate_dict
from ._problem import OptimisationProblem, ProblemFileError
from ._search import SpecFor

__all__ = ["base_spec", "spec_builder"]


def base_spec(problem: OptimisationProblem, source: str) -> FlowSpec:
    """The problem's ``spec:`` file with its ``set:`` overrides (the ``twin:`` base is built by
    the caller from the twin's model). Raises ``SpecError`` for a bad spec."""
    if problem.spec is None:
        raise ProblemFileError(source, [Problem("spec", "this problem has no 'spec:' file")])
    return load_spec(problem.spec, problem.set)


def _close(word: str, names: list[str]) -> str:
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.5)
    return f"; did you mean '{close[0]}'?" if close else ""


def _walk(data: dict[str, Any], path: str) -> str | None:
    """Why ``path`` does not name a number in ``data`` (None: it does)."""
    current: Any = data
    seen: list[str] = []
    for key in path.split("."):
        where = ".".join(seen) or "the spec"
        if isinstance(current, list):
            names = [str(it.get("name")) for it in current if isinstance(it, dict)]
            if key.isdigit() and int(key) < len(current):
                current = current[int(key)]
            elif key in names:
                current = current[names.index(key)]
            else:
                return f"there is no item '{key}' in {where}{_close(key, names)}"
        elif isinstance(current, dict):
            if key not in current:
                return f"there is no '{key}' in {where}{_close(key, list(map(str, current)))}"
            current = current[key]
        else:
            return f"'{where}' is a plain value, not a mapping"
        seen.append(key)
    if isinstance(current, bool) or not isinstance(current, int | float):
        return f"'{path}' is not a number in the spec; point it at an integer such as a capacity"
    return None


def spec_builder(problem: OptimisationProblem, base: FlowSpec, source: str) -> SpecFor:
    """``spec_for(decision)`` for the search. Checks first that every decision's path names a
    number of ``base``, that every constraint's KPI exists and that the specs at both corners
    are valid; raises :class:`ProblemFileError` listing every problem otherwise."""
    data = base.model_dump(mode="json", by_alias=True, exclude_none=True)
    problems: list[Problem] = []
    for name, d in problem.decisions.items():
        why = _walk(data, d.path)
        if why is not None:
            problems.append(Problem(f"decisions.{name}.path", why))
    names = kpi_names(base)
    for i, c in enumerate(problem.constraints):
        if c.kpi not in names:
            problems.append(
                Problem(
                    f"constraints.{i}.kpi",
                    f"the spec has no KPI '{c.kpi}'{_close(c.kpi, names)} (its KPIs are listed "
                    "by 'twinsight simulate SPEC --long')",
                )
            )
    if problems:
        raise ProblemFileError(source, problems)

    def spec_for(decision: dict[str, int]) -> FlowSpec:
        d = copy.deepcopy(data)
        apply_overrides(d, problem.overrides(decision))
        return validate_dict(d, f"{base.name} with {decision}")

    for corner in ("lower", "upper"):
        decision = {n: getattr(d, corner) for n, d in problem.decisions.items()}
        try:
            spec_for(decision)
        except SpecError as exc:
            rows = "; ".join(f"{p.path}: {p.message}" for p in exc.problems)
            problems.append(
                Problem("decisions", f"at every {corner} bound the spec is invalid: {rows}")
            )
    if problems:
        raise ProblemFileError(source, problems)
    return spec_for
