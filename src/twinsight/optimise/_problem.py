"""An optimisation problem file: the base spec, integer decisions with unit costs, KPI targets.

```yaml
name: agents for the help desk
spec: mmc_staffing.yaml            # relative to this file; or twin: {...} (see docs/optimise.md)
decisions:
  agents: {path: resources.agents.capacity, lower: 1, upper: 15, cost: 1.0}
constraints:
  - {kpi: "wait_within_target[calls]", at_least: 0.8}
run: {reps: 20, max_reps: 80, seed: 1}
```

Every model forbids unknown fields; :func:`load_problem` reports every problem at once with its
line, column and the closest allowed name (:class:`ProblemFileError`).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..spec import Problem
from ..spec._problems import duplicate_keys, locate, sorted_problems

__all__ = [
    "Constraint",
    "Decision",
    "OptimisationProblem",
    "ProblemFileError",
    "RunSettings",
    "SearchSettings",
    "TwinBase",
    "load_problem",
    "parse_problem",
]


class ProblemFileError(ValueError):
    """A problem file that cannot be used, with every problem found (path, line, fix)."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(p.render(source) for p in problems))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Decision(_Model):
    """One integer decision: the spec value at ``path`` (a ``--set`` path such as
    ``resources.agents.capacity``) takes every integer in ``[lower, upper]``; each unit costs
    ``cost`` (any currency per period; only the order of total costs matters). ``scale``: the
    spec value is the decision times ``scale`` (caseworkers x caseload slots per worker)."""

    path: str = Field(min_length=1)
    lower: int = Field(ge=0)
    upper: int = Field(ge=0)
    cost: float = Field(ge=0.0)
    scale: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _bounds(self) -> Decision:
        if self.upper < self.lower:
            raise ValueError(f"upper ({self.upper}) is below lower ({self.lower}); swap them")
        return self


class Constraint(_Model):
    """A target on the mean of one KPI over replications: ``at_least`` or ``at_most`` (in the
    KPI's unit: a share in [0, 1], a time in the spec's time_unit, ...)."""

    kpi: str = Field(min_length=1)
    at_least: float | None = None
    at_most: float | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> Constraint:
        if (self.at_least is None) == (self.at_most is None):
            raise ValueError("give exactly one of 'at_least' or 'at_most'")
        return self

    @property
    def target(self) -> float:
        """The bound's value."""
        value = self.at_least if self.at_least is not None else self.at_most
        return float("nan") if value is None else float(value)

    @property
    def sense(self) -> Literal["at_least", "at_most"]:
        """Which side of the target the KPI must stay on."""
        return "at_least" if self.at_least is not None else "at_most"

    def label(self) -> str:
        """``kpi >= target`` or ``kpi <= target``."""
        return f"{self.kpi} {'>=' if self.sense == 'at_least' else '<='} {self.target:g}"


class RunSettings(_Model):
    """How each candidate is simulated: ``reps`` replications first, up to ``max_reps`` while a
    target is too close to call; the same ``seed`` for every candidate (common random numbers);
    ``horizon``/``warmup`` in the spec's time_unit (default: the spec's)."""

    reps: int = Field(default=20, ge=2)
    max_reps: int = Field(default=80, ge=2)
    seed: int = Field(default=1, ge=0)
    engine: Literal["fast", "reference"] = "fast"
    horizon: float | None = Field(default=None, gt=0)
    warmup: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _reps(self) -> RunSettings:
        if self.max_reps < self.reps:
            raise ValueError(f"max_reps ({self.max_reps}) is below reps ({self.reps})")
        return self


class SearchSettings(_Model):
    """``confidence``: of the one-sided test of each target (Bonferroni over the targets);
    ``monotone``: more of any decision never hurts any target (then an infeasible decision rules
    out every smaller one, and the upper corner is checked first); ``max_candidates``: at most
    this many decisions simulated."""

    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    monotone: bool = True
    max_candidates: int = Field(default=200, ge=1)


class TwinBase(_Model):
    """The twin's own model (calibrated from its events) as the base.

    A hospital twin: ``days`` simulated (hours in the model: set ``run.warmup`` to let the wards
    fill) from an empty hospital, or from the twin's present state with ``present``. Decisions
    name resources such as ``resources.MED1_beds.capacity`` (one ``<UNIT>_beds`` per unit).

    A social-services twin (time unit: days): ``days`` after ``run.warmup`` days (default 90)
    from empty, or ``days`` from its open cases with ``present``. Decisions count caseworkers:
    ``{path: resources.team_<t>.capacity, scale: <caseload>}``; targets such as
    ``journey_within_target[team:<t>]`` (share decided within the deadline).

    A contact-centre twin (time unit: minutes): its week as its forecast runs it, ``days`` from
    the day after the calibration window, staffed by its roster or else the Erlang plan.
    Decisions name fixed resources such as ``resources.group_<name>.capacity`` (multi-skilled
    agents on top of the plan); targets such as ``wait_within_target[<queue>]``; ``present``
    is refused (no queue state to start from)."""

    days: float = Field(default=56.0, gt=0)
    present: bool = False


class OptimisationProblem(_Model):
    """Minimise the total cost of integer ``decisions`` subject to ``constraints`` on KPIs of the
    base spec (``spec``: a file, relative to the problem file; or ``twin``: the twin's model)."""

    name: str = Field(min_length=1)
    description: str = ""
    spec: str | None = None
    twin: TwinBase | None = None
    set: list[str] = Field(default_factory=list)
    decisions: dict[str, Decision] = Field(min_length=1)
    constraints: list[Constraint] = Field(min_length=1)
    run: RunSettings = RunSettings()
    search: SearchSettings = SearchSettings()

    @model_validator(mode="after")
    def _base(self) -> OptimisationProblem:
        if (self.spec is None) == (self.twin is None):
            raise ValueError("give exactly one base: 'spec: FILE.yaml' or 'twin: {days: 28}'")
        return self

    def cost(self, decision: dict[str, int]) -> float:
        """Total cost of a decision (sum of units times unit costs)."""
        return float(sum(d.cost * decision[name] for name, d in self.decisions.items()))

    def overrides(self, decision: dict[str, int]) -> list[str]:
        """The ``path=value`` overrides that put ``decision`` into the spec."""
        return [f"{d.path}={decision[name] * d.scale}" for name, d in self.decisions.items()]


_MODELS: dict[str, type[BaseModel]] = {
    "": OptimisationProblem,
    "decisions.*": Decision,
    "constraints.*": Constraint,
    "run": RunSettings,
    "search": SearchSettings,
    "twin": TwinBase,
}


def _allowed(loc: tuple[Any, ...]) -> list[str]:
    parent = loc[:-1]
    if len(parent) == 2 and parent[0] in ("decisions", "constraints"):
        key = f"{parent[0]}.*"
    else:
        key = ".".join(map(str, parent))
    model = _MODELS.get(key)
    return list(model.model_fields) if model else []


def _message(err: dict[str, Any]) -> str:
    loc = tuple(err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        names = _allowed(loc)
        close = difflib.get_close_matches(str(loc[-1]), names, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return (
            f"unknown field '{loc[-1]}'; {hint}remove it or check the spelling "
            f"(allowed here: {', '.join(names)})"
        )
    if err["type"] == "missing":
        return f"'{loc[-1]}' is missing; add it"
    return msg


def parse_problem(text: str, source: str = "<problem>") -> OptimisationProblem:
    """A validated problem from YAML text; :class:`ProblemFileError` lists every problem."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        col = mark.column + 1 if mark is not None else None
        msg = f"malformed YAML: {getattr(exc, 'problem', None) or exc}; check indentation"
        raise ProblemFileError(source, [Problem("", msg, line, col)]) from None
    if not isinstance(data, dict):
        msg = "the problem must be a YAML mapping starting with 'name:'"
        raise ProblemFileError(source, [Problem("", msg, 1, 1)])
    problems = duplicate_keys(node)
    try:
        problem = OptimisationProblem.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            line, col = locate(node, loc, key=err["type"] == "extra_forbidden")
            problems.append(Problem(".".join(map(str, loc)), _message(dict(err)), line, col))
        raise ProblemFileError(source, sorted_problems(problems)) from None
    if problems:
        raise ProblemFileError(source, problems)
    return problem


def load_problem(path: str | Path) -> OptimisationProblem:
    """Read and validate a problem file (a relative ``spec:`` is relative to the file)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        unread = Problem("", f"cannot read it ({reason}); check the path")
        raise ProblemFileError(str(p), [unread]) from None
    problem = parse_problem(text, str(p))
    if problem.spec is not None and not Path(problem.spec).is_absolute():
        problem = problem.model_copy(update={"spec": str((p.parent / problem.spec).resolve())})
    return problem
