"""The search: the cheapest decision of the lattice whose KPI targets are met, by simulation.

Sample-average approximation with common random numbers: every candidate runs replications
``0 .. n-1`` of the same seed, so candidates differ only by the decision. Candidates are taken
in order of total cost; each is checked by a sequential one-sided test per target (Bonferroni
over the targets): *met* when the one-sided confidence bound is on the right side of the target,
*missed* when the other bound is on the wrong side, otherwise replications are doubled up to
``max_reps``, after which the sample mean decides (and the verdict says so). The first candidate
found feasible is the answer. With ``monotone`` (more of any decision never hurts a target) the
upper corner is checked first (infeasible there: infeasible everywhere), then each decision's
least feasible value with every other decision at its upper bound is found by bisection (less
of it is infeasible whatever the others), then a coordinate descent from the upper corner
(dearest unit first, each by bisection) gives a feasible incumbent; only decisions cheaper than
the incumbent are then taken in cost order, and every one below an infeasible decision,
coordinate by coordinate, is skipped without simulation. With one decision, the bisection finds
the answer itself. If ``max_candidates`` runs out first, the incumbent is returned with status
``feasible`` (not proven the cheapest).
See docs/optimise.md.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from ..experiment import ExperimentResult, run_experiment
from ..scale import Executor
from ..spec import FlowSpec
from ._problem import Constraint, OptimisationProblem

__all__ = ["MAX_LATTICE", "Check", "Evaluation", "OptimisationResult", "evaluate", "optimise"]

#: The largest lattice (product of the decisions' ranges) enumerated.
MAX_LATTICE = 200_000

#: Builds the spec of one decision (raises ValueError with a message if it cannot).
SpecFor = Callable[[dict[str, int]], FlowSpec]
#: Called after each candidate: (candidates done or skipped, lattice size, its evaluation or
#: None when skipped).
OnCandidate = Callable[[int, int, "Evaluation | None"], None]


@dataclass(frozen=True)
class Check:
    """One target at one decision: the KPI's mean over ``n`` replications, the one-sided
    confidence bound used (``bound``) and the verdict (``met``, ``missed``, or ``met by mean`` /
    ``missed by mean`` when ``max_reps`` could not separate it from the target)."""

    constraint: Constraint
    mean: float
    bound: float
    n: int
    verdict: str

    @property
    def ok(self) -> bool:
        """Whether the target counts as met."""
        return self.verdict.startswith("met")

    @property
    def miss(self) -> float:
        """How far the mean is on the wrong side of the target (0 when it is on the right
        side), in the KPI's unit."""
        c = self.constraint
        if not math.isfinite(self.mean):
            return math.inf
        gap = c.target - self.mean if c.sense == "at_least" else self.mean - c.target
        return max(0.0, gap)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON."""
        c = self.constraint
        return {
            "kpi": c.kpi,
            c.sense: c.target,
            "mean": _num(self.mean),
            "bound": _num(self.bound),
            "n": self.n,
            "verdict": self.verdict,
            "miss": _num(self.miss),
        }


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


@dataclass(frozen=True)
class Evaluation:
    """One simulated decision: its cost, replications and the check of every target."""

    decision: dict[str, int]
    cost: float
    reps: int
    checks: list[Check]

    @property
    def feasible(self) -> bool:
        """Every target met."""
        return all(c.ok for c in self.checks)

    @property
    def shortfall(self) -> float:
        """Sum of the misses relative to each target (0 when feasible): how far off it is."""
        return float(sum(c.miss / max(abs(c.constraint.target), 1e-12) for c in self.checks))

    def to_json(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "decision": self.decision,
            "cost": self.cost,
            "reps": self.reps,
            "feasible": self.feasible,
            "checks": [c.to_json() for c in self.checks],
        }


@dataclass
class OptimisationResult:
    """What the search found: ``status`` ``optimal`` (``best`` is the cheapest feasible decision),
    ``feasible`` (``best`` is feasible but the candidate budget ran out before every cheaper
    decision was checked; ``reason`` says so) or ``infeasible`` (``best`` is None and
    ``closest`` the decision that misses least)."""

    problem: OptimisationProblem
    status: str
    best: Evaluation | None
    closest: Evaluation | None
    evaluations: list[Evaluation] = field(default_factory=list)
    lattice: int = 0
    skipped: int = 0
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        """The CLI's ``--json`` object."""
        p = self.problem
        return {
            "problem": p.name,
            "status": self.status,
            "reason": self.reason,
            "best": None if self.best is None else self.best.to_json(),
            "closest": None if self.closest is None else self.closest.to_json(),
            "evaluated": len(self.evaluations),
            "skipped": self.skipped,
            "lattice": self.lattice,
            "replications": sum(e.reps for e in self.evaluations),
            "seed": p.run.seed,
            "engine": p.run.engine,
            "confidence": p.search.confidence,
            "evaluations": [e.to_json() for e in self.evaluations],
        }


def _lattice(problem: OptimisationProblem, lows: dict[str, int]) -> list[dict[str, int]]:
    """Every decision with each value from ``lows[name]`` to its upper bound, cheapest first."""
    names = list(problem.decisions)
    ranges = [range(lows[n], d.upper + 1) for n, d in problem.decisions.items()]
    size = math.prod(len(r) for r in ranges)
    if size > MAX_LATTICE:
        raise ValueError(
            f"the decisions left to search span {size} combinations (more than {MAX_LATTICE}); "
            "narrow the lower/upper bounds"
        )
    points = [dict(zip(names, values, strict=True)) for values in itertools.product(*ranges)]
    # cheapest first; among equal costs, fewer units first, then the order of the lattice
    return sorted(points, key=lambda d: (problem.cost(d), sum(d.values())))


def _check(
    constraint: Constraint, values: np.ndarray, alpha: float, final: bool
) -> tuple[Check, bool]:
    """The check of one target from per-replication values; second item: decided."""
    finite = values[np.isfinite(values)]
    n = int(finite.size)
    if n == 0:
        return Check(constraint, math.nan, math.nan, int(values.size), "missed (no values)"), True
    mean = float(finite.mean())
    half = 0.0
    if n > 1:
        half = float(stats.t.ppf(1.0 - alpha, n - 1) * finite.std(ddof=1) / math.sqrt(n))
    up = constraint.sense == "at_least"
    good_bound, bad_bound = (mean - half, mean + half) if up else (mean + half, mean - half)
    target = constraint.target

    def on_right(x: float) -> bool:
        return x >= target if up else x <= target

    if on_right(good_bound):
        return Check(constraint, mean, good_bound, n, "met"), True
    if not on_right(bad_bound):
        return Check(constraint, mean, bad_bound, n, "missed"), True
    verdict = "met by mean" if on_right(mean) else "missed by mean"
    return Check(constraint, mean, good_bound, n, verdict), final


def evaluate(
    problem: OptimisationProblem,
    spec: FlowSpec,
    decision: dict[str, int],
    executor: Executor | str | None = None,
) -> Evaluation:
    """Simulate one decision (common random numbers: the problem's seed, replications from 0)
    and check every target, doubling the replications while one is too close to call."""
    run = problem.run
    k = len(problem.constraints)
    alpha = (1.0 - problem.search.confidence) / k
    n = run.reps
    result: ExperimentResult | None = None
    while True:
        more = n - (0 if result is None else result.reps)
        part = run_experiment(
            spec,
            more,
            run.seed,
            run.engine,
            horizon=run.horizon,
            warmup=run.warmup,
            first_rep=0 if result is None else result.reps,
            executor=executor,
        )
        result = part if result is None else result.extend(part)
        final = n >= run.max_reps
        checks, decided = [], True
        for c in problem.constraints:
            check, done = _check(c, result.per_rep[c.kpi], alpha, final)
            checks.append(check)
            decided = decided and done
        if any(ch.verdict == "missed" for ch in checks) or decided:
            return Evaluation(dict(decision), problem.cost(decision), result.reps, checks)
        n = min(2 * n, run.max_reps)


def _bisect(
    problem: OptimisationProblem,
    name: str,
    at: dict[str, int],
    lower: int,
    run: Callable[[dict[str, int]], Evaluation],
    done: list[Evaluation],
    on_candidate: OnCandidate | None,
    total: int,
) -> tuple[int, int, Evaluation | None]:
    """Bisection for the least value of decision ``name`` in ``[lower, at[name]]`` that is
    feasible with the others as in ``at`` (``at`` itself is feasible): ``(lo, hi, ev)`` where
    every value below ``lo`` was found infeasible (or lies below ``lower``), ``hi`` is feasible
    and ``ev`` its evaluation (None: ``hi`` is ``at[name]``). ``lo == hi`` unless the candidate
    budget ran out."""
    lo, hi = lower, at[name]
    best: Evaluation | None = None
    while lo < hi and len(done) < problem.search.max_candidates:
        mid = (lo + hi) // 2
        ev = run({**at, name: mid})
        if on_candidate is not None:
            on_candidate(0, total, ev)
        if ev.feasible:
            hi, best = mid, ev
        else:
            lo = mid + 1
    return lo, hi, best


def optimise(
    problem: OptimisationProblem,
    spec_for: SpecFor,
    *,
    executor: Executor | str | None = None,
    on_candidate: OnCandidate | None = None,
) -> OptimisationResult:
    """The cheapest decision meeting every target (see the module docstring for the method).

    ``spec_for(decision)`` builds the spec of a decision; ``executor``: where the replications
    run (``twinsight.scale``); ``on_candidate`` is told about each candidate in turn.
    """
    total = math.prod(d.upper - d.lower + 1 for d in problem.decisions.values())
    lows = {name: d.lower for name, d in problem.decisions.items()}
    search = problem.search
    done: list[Evaluation] = []
    infeasible: list[dict[str, int]] = []
    skipped = 0

    def run(decision: dict[str, int]) -> Evaluation:
        known = next((e for e in done if e.decision == decision), None)
        if known is not None:  # simulated already (common random numbers: the same result)
            return known
        ev = evaluate(problem, spec_for(decision), decision, executor)
        done.append(ev)
        if not ev.feasible:
            infeasible.append(ev.decision)
        return ev

    def closest() -> Evaluation | None:
        return min(done, key=lambda e: (e.shortfall, e.cost)) if done else None

    incumbent: Evaluation | None = None
    if search.monotone and total > 1:
        top = {name: d.upper for name, d in problem.decisions.items()}
        ev = run(top)
        if not ev.feasible:
            if on_candidate is not None:
                on_candidate(total, total, ev)
            return OptimisationResult(
                problem, "infeasible", None, ev, done, total, total - 1,
                "the targets are missed even with every decision at its upper bound",
            )  # fmt: skip
        incumbent = ev
        alone: dict[str, tuple[int, int, Evaluation | None]] = {}
        for name in problem.decisions:
            # the least feasible value of this decision with all others at their upper bound:
            # any decision with less of it is dominated by an infeasible one
            alone[name] = _bisect(problem, name, top, lows[name], run, done, on_candidate, total)
            lows[name] = alone[name][0]
        # coordinate descent from the top, dearest unit first: a feasible decision none of
        # whose values can be lowered alone (the incumbent: nothing dearer needs simulating)
        current = dict(top)
        for name in sorted(problem.decisions, key=lambda n: -problem.decisions[n].cost):
            if current == top:  # the same bisection as above
                _, current[name], found = alone[name]
            else:
                _, current[name], found = _bisect(problem, name, current, lows[name], run, done,
                                                  on_candidate, total)  # fmt: skip
            if found is not None and found.cost < incumbent.cost:
                incumbent = found
    points = _lattice(problem, lows)
    skipped = total - len(points)  # below a decision's least feasible value
    for i, point in enumerate(points):
        if incumbent is not None and problem.cost(point) >= incumbent.cost:
            return OptimisationResult(problem, "optimal", incumbent, None, done, total,
                                      total - len(done))  # fmt: skip
        below = search.monotone and any(
            all(point[k] <= bad[k] for k in point) for bad in infeasible
        )
        if below:
            skipped += 1
            if on_candidate is not None:
                on_candidate(total - len(points) + i + 1, total, None)
            continue
        known = next((e for e in done if e.decision == point), None)
        if known is None and len(done) >= search.max_candidates:
            if incumbent is not None:
                return OptimisationResult(
                    problem, "feasible", incumbent, None, done, total, skipped,
                    f"max_candidates ({search.max_candidates}) reached before every cheaper "
                    "decision was checked: the best feasible decision found, not proven the "
                    "cheapest; raise search.max_candidates or narrow the bounds",
                )  # fmt: skip
            return OptimisationResult(
                problem, "infeasible", None, closest(), done, total, skipped,
                f"no feasible decision among the {len(done)} simulated (max_candidates); "
                "raise search.max_candidates or narrow the bounds",
            )  # fmt: skip
        ev = known or run(point)
        if on_candidate is not None:
            on_candidate(total - len(points) + i + 1, total, ev)
        if ev.feasible:
            return OptimisationResult(problem, "optimal", ev, None, done, total, skipped)
    return OptimisationResult(
        problem, "infeasible", None, closest(), done, total, skipped,
        "no decision within the bounds meets every target",
    )  # fmt: skip
