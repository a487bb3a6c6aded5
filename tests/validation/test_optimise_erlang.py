"""The optimiser against Erlang C: the fewest agents of an M/M/c help desk that meet a service
target, where queueing theory gives the exact answer.

Help desk (examples/optimise): lambda = 1 call/min, mean handling 5 min (mu = 0.2/min), offered
load A = 5 Erlangs; agents c in [1, 15] at unit cost 1, so the cheapest feasible decision is the
smallest feasible c.

Why the simulation can and must find exactly the theory's c: the targets are chosen so that the
neighbouring c values are far from the target compared with the test's resolution.

- P(Wq <= 20 s) >= 0.8: Erlang C gives 0.716 with 7 agents and 0.863 with 8 (0.084 below and
  0.063 above the target). A replication of 540 min (after 60 min of warm-up; the relaxation
  time at rho <= 0.72 is ~1 / (c mu (1 - sqrt(rho))^2) < 15 min) serves ~540 calls; the share's
  sd between replications is ~0.06, so 20 replications give a one-sided 95% bound within
  1.73 * 0.06 / sqrt(20) = 0.023 of the mean: both neighbours are decided at the first stage.
- mean wait Wq <= 1 min: 2.94 min with 6 agents, 0.81 with 7 (a margin of 19%; the per
  replication sd of the mean wait at c = 7 is ~0.35 min, so the bound at 20-80 replications is
  within 0.13-0.07 min).

The reverse check: P(Wq <= 20 s) >= 0.99 with at most 9 agents (Erlang C: 0.938 at c = 9) is
infeasible; the report shows the upper corner and a miss of 0.99 - 0.938 = 0.052 (+-0.02: the
95% interval of the share at 20 replications, plus warm-up bias).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from twinsight import theory
from twinsight.optimise import (
    OptimisationProblem,
    OptimisationResult,
    base_spec,
    load_problem,
    optimise,
    spec_builder,
)

PROBLEM = Path(__file__).resolve().parents[2] / "examples" / "optimise" / "erlang_c_staffing.yaml"
LAM, MU, T20 = 1.0, 0.2, 1.0 / 3.0


def _erlang_c_answer(ok: Callable[[int], bool], upper: int = 15) -> int:
    """The smallest stable c whose exact metric meets the target."""
    for c in range(1, upper + 1):
        if c * MU > LAM and ok(c):
            return c
    raise AssertionError("no c meets the target")


def _run(problem: OptimisationProblem) -> OptimisationResult:
    base = base_spec(problem, "test")
    return optimise(problem, spec_builder(problem, base, "test"))


def _with(
    problem: OptimisationProblem, constraint: dict[str, object], upper: int = 15
) -> OptimisationProblem:
    data = problem.model_dump()
    data["constraints"] = [constraint]
    data["decisions"]["agents"]["upper"] = upper
    return OptimisationProblem.model_validate(data)


def test_service_level_target_gives_the_erlang_c_staffing() -> None:
    problem = load_problem(PROBLEM)

    def p(c: int) -> float:
        return float(theory.mmc_wait_cdf(T20, LAM, MU, c))

    exact = _erlang_c_answer(lambda c: p(c) >= 0.8)
    assert exact == 8 and p(exact - 1) < 0.8 - 0.05 and p(exact) > 0.8 + 0.05  # separated
    result = _run(problem)
    assert result.status == "optimal"
    assert result.best is not None and result.best.decision == {"agents": exact}
    below = next(e for e in result.evaluations if e.decision == {"agents": exact - 1})
    assert below.checks[0].verdict == "missed"  # decided by the test, not by the mean alone
    assert result.best.checks[0].verdict == "met"
    assert abs(result.best.checks[0].mean - p(exact)) < 0.03


def test_mean_wait_target_gives_the_erlang_c_staffing() -> None:
    problem = _with(load_problem(PROBLEM), {"kpi": "wait_mean[desk]", "at_most": 1.0})

    def wq(c: int) -> float:
        return theory.mmc(LAM, MU, c).wait_mean

    exact = _erlang_c_answer(lambda c: wq(c) <= 1.0)
    assert exact == 7 and wq(exact - 1) > 2.0 and wq(exact) < 0.85
    result = _run(problem)
    assert result.status == "optimal"
    assert result.best is not None and result.best.decision == {"agents": exact}


def test_an_impossible_target_is_reported_infeasible_with_the_closest_decision() -> None:
    problem = _with(
        load_problem(PROBLEM), {"kpi": "wait_within_target[desk]", "at_least": 0.99}, upper=9
    )
    p9 = float(theory.mmc_wait_cdf(T20, LAM, MU, 9))
    assert p9 < 0.99 - 0.04
    result = _run(problem)
    assert result.status == "infeasible" and result.best is None
    assert result.closest is not None and result.closest.decision == {"agents": 9}
    assert len(result.evaluations) == 1  # monotone: the upper corner settles it
    assert result.closest.checks[0].miss == pytest.approx(0.99 - p9, abs=0.02)
