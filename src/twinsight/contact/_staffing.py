"""Staffing per interval: the fewest agents meeting the service-level and abandonment targets.

Each interval is staffed as if it were in steady state at its own arrival rate (the usual
stationary independent-period approach). Two methods:

- ``erlang``: Erlang C (nobody abandons) or Erlang A (patience exponential, its rate fitted by
  censored maximum likelihood: abandonments over the total time spent waiting), exact for
  Poisson arrivals and exponential handle times and patience;
- ``simulation``: the flow engine on the interval's spec (the fitted handle-time and patience
  families, callbacks) with ``twinsight.optimise`` (common random numbers, sequential
  one-sided checks), searching around the Erlang answer.

``auto`` uses Erlang where its assumptions hold (handle-time CV within 15% of 1, exponential
or no patience, no callbacks at entry or after a wait, no agents shared with other skills) and
simulation elsewhere. With ``agent_groups``, ``auto`` (and ``joint``) staffs each interval
jointly by simulation (``_joint``: every queue's dedicated agents and every group's headcount
are decided together, fewest total agents meeting every queue's target; one row per queue and
one per group, ``queue`` = ``group:<name>``; ``StaffingPlan.groups``). ``simulation`` keeps the
per-queue approximation: the interval spec of a queue gives it an even share of each group that
has its skill (floor(agents / skills), at least 1) as overflow, and the search finds the
dedicated agents needed on top (the week spec, used by forecasts and comparisons, shares the
whole groups, at their fixed headcount, between the skills).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..optimise import (
    Constraint,
    Decision,
    OptimisationProblem,
    RunSettings,
    SearchSettings,
    optimise,
)
from ._calibrate import WEEKDAYS
from ._erlang import fewest_agents
from ._model import ContactModel

__all__ = ["METHODS", "StaffingPlan", "erlang_applies", "staff_intervals"]

METHODS = ("auto", "erlang", "simulation", "joint")
#: Called after each interval: (done, total).
Progress = Callable[[int, int], None]


@dataclass
class StaffingPlan:
    """One row per queue and interval (``table``) and the productive agents per queue over
    the week (``agents``: 7 x slots values, Monday first; intervals not staffed are 0);
    ``groups``: the same per agent group when staffed jointly (else empty)."""

    table: pd.DataFrame
    agents: dict[str, list[int]]
    groups: dict[str, list[int]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (NaN as null)."""
        rows = self.table.astype(object).where(self.table.notna(), None)
        return {"intervals": rows.to_dict(orient="records")}


def erlang_applies(model: ContactModel, queue: str) -> bool:
    """Whether Erlang C/A's assumptions hold for ``queue`` (see the module docstring)."""
    cv = model.calibration.observed[queue]["handle_cv"]
    p = model.calibration.patience[queue]
    return (
        abs(cv - 1.0) <= 0.15
        and (p is None or p.family_ == "exponential")
        and not model.simulation_needed(queue)
    )


def _simulate(
    model: ContactModel, queue: str, calls: float, guess: int, seed: int, reps: int
) -> tuple[int, dict[str, float]]:
    sl = model.settings.service_level
    constraints = [Constraint(kpi=f"wait_within_target[{queue}]", at_least=sl.target)]
    lower, upper = max(1, guess - 3), guess + 3
    while True:
        problem = OptimisationProblem(
            name=f"{queue} {calls:.1f} calls",
            spec="(contact-centre interval)",
            decisions={
                "agents": Decision(
                    path="resources.agents.capacity", lower=lower, upper=upper, cost=1.0
                )
            },
            constraints=constraints,
            run=RunSettings(reps=reps, max_reps=4 * reps, seed=seed),
            search=SearchSettings(confidence=0.9),
        )

        def spec_for(decision: dict[str, int]) -> Any:
            return model.interval_spec(queue, calls, decision["agents"])

        result = _with_abandon(model, queue, optimise(problem, spec_for), spec_for, problem)
        if result is not None:
            return result
        lower, upper = upper + 1, upper + max(4, guess // 2)
        if lower > 20 * guess + 50:
            raise ValueError(f"{queue}: no staffing up to {upper} agents meets the targets")


def _with_abandon(
    model: ContactModel, queue: str, result: Any, spec_for: Any, problem: OptimisationProblem
) -> tuple[int, dict[str, float]] | None:
    """The optimiser's answer for the service level, raised until abandonment is met too."""
    from ..experiment import run_experiment

    if result.best is None:
        return None
    agents = int(result.best.decision["agents"])
    upper = problem.decisions["agents"].upper
    while agents <= upper:
        r = run_experiment(
            spec_for({"agents": agents}),
            reps=problem.run.reps,
            seed=problem.run.seed,
            engine="fast",
        )
        s = {k: v.mean for k, v in r.summary().items()}
        served = s.get(f"served[{queue}]", 0.0)
        gone = s.get(f"abandoned[{queue}]", 0.0)
        offered = served + gone + s.get(f"diverted[{queue}]", 0.0)  # diverted: called back
        abandon = gone / offered if offered > 0 else 0.0
        if abandon <= model.settings.max_abandon:
            return agents, {
                "service_level": s.get(f"wait_within_target[{queue}]", math.nan),
                "asa": s.get(f"wait_mean[{queue}]", math.nan),
                "abandon": abandon,
                "occupancy": s.get("utilisation[agents]", math.nan),
            }
        agents += 1
    return None


def _start(slot: int, step: int) -> str:
    m = slot * step
    return f"{m // 60:02d}:{m % 60:02d}"


def staff_intervals(
    model: ContactModel,
    weekdays: list[str] | None = None,
    *,
    method: str = "auto",
    seed: int = 1,
    reps: int = 10,
    starts: list[str] | None = None,
    progress: Progress | None = None,
) -> StaffingPlan:
    """The staffing plan for ``weekdays`` (default: all seven) by ``method``; ``starts``:
    only the intervals starting at these times ("HH:MM"; default all)."""
    if method not in METHODS:
        raise ValueError(f"method '{method}': use one of {', '.join(METHODS)}")
    days = list(WEEKDAYS) if weekdays is None else weekdays
    sl = model.settings.service_level
    step = model.calibration.interval_minutes
    todo = [
        (q, w, i, c)
        for q in model.queues
        for w in days
        for i, c in enumerate(model.rates(q, w))
        if c > 0
    ]
    if starts is not None:
        todo = [t for t in todo if _start(t[2], step) in starts]
    if model.settings.agent_groups and method in ("auto", "joint"):
        from ._joint_plan import staff_jointly

        return staff_jointly(model, todo, seed=seed, reps=reps, progress=progress)
    agents = {q: [0] * (7 * model.slots) for q in model.queues}
    rows = []
    for n, (q, w, i, calls) in enumerate(todo):
        lam = calls / step
        aht = model.handle_mean(q)
        pat = model.erlang_patience(q)
        level = fewest_agents(
            lam, aht, pat, sl.seconds / 60.0, sl.target, model.settings.max_abandon
        )
        use = (
            method if method != "auto" else ("erlang" if erlang_applies(model, q) else "simulation")
        )
        if use == "erlang":
            need = level.agents
            kpis = {
                "service_level": level.service_level,
                "asa": level.asa,
                "abandon": level.abandon,
                "occupancy": level.occupancy,
            }
        else:
            need, kpis = _simulate(model, q, calls, level.agents, seed, reps)
        agents[q][WEEKDAYS.index(w) * model.slots + i] = need
        rows.append(
            {
                "queue": q,
                "weekday": w,
                "start": _start(i, step),
                "calls": round(calls, 2),
                "aht_minutes": round(aht, 3),
                "method": use,
                "erlang_agents": level.agents,
                "agents": need,
                "rostered": model.rostered(need),
                "service_level": kpis["service_level"],
                "asa_seconds": 60.0 * kpis["asa"],
                "abandon": kpis["abandon"],
                "occupancy": kpis["occupancy"],
                "satisfaction": model.satisfaction(kpis["asa"], q),
            }
        )
        if progress is not None:
            progress(n + 1, len(todo))
    return StaffingPlan(pd.DataFrame(rows), agents)
