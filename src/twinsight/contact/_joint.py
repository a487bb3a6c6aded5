"""Joint staffing of one interval with multi-skilled agent groups, by simulation.

The interval is the stationary centre at that interval's calibrated rates (every queue with
calls, a constant Poisson rate each, minutes as the time unit): every queue's dedicated agents
(``agents_<queue>``) and every agent group (``group_<name>``, an overflow pool of its skills)
are decisions. The answer is the fewest total agents (dedicated + groups) such that every
queue's service level (``wait_within_target[<queue>]``) is at least the target (each judged as
below) and every queue's abandonment share (abandoned over offered, the mean over the same
replications, as the per-queue staffing does) is at most ``max_abandon``.

Each candidate is judged by :func:`twinsight.optimise.evaluate`: common random numbers (the same
seed, replications ``0 .. R-1``, for every candidate), a one-sided t confidence bound per target
at ``confidence`` with Bonferroni over the targets, replications doubled up to ``4 R`` while a
target is too close to call, then the mean decides.

The search is greedy (the cost-ordered lattice of :func:`twinsight.optimise.optimise` has too
many points with three or more decisions): start from the offered load (each queue without a
group: floor(load) dedicated agents, at least 1; each queue with groups: 0 dedicated, its load
given to its first group, each group floor(its load), at least 1 if it has any), then **add**
the agent that lowers the shortfall (the sum of the relative misses of the targets, then of
the abandonment excesses) most, a group agent before a dedicated one on ties, until every
target is met; then **remove** agents one at a
time (dedicated before groups) while every target stays met, and move a dedicated agent to a
group with its skill (same headcount, a more flexible agent) when every target stays met,
until neither helps. The result is a local optimum (no single agent can be removed), not
proven the global one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..experiment import run_experiment
from ..optimise import (
    Constraint,
    Decision,
    Evaluation,
    OptimisationProblem,
    RunSettings,
    SearchSettings,
    evaluate,
)
from ..spec import FlowSpec, validate_dict
from ._model import ContactModel

__all__ = ["JointResult", "joint_interval_spec", "staff_interval_jointly"]

#: Confidence of each one-sided check (before Bonferroni over the targets).
CONFIDENCE = 0.9


@dataclass
class JointResult:
    """The joint staffing of one interval: ``headcount`` per decision (``agents_<queue>`` and
    ``group_<name>``), the final ``evaluation`` and the KPI means at it (``kpis``: flow-engine
    KPI name -> mean over the replications), and ``evaluated``: candidates simulated."""

    headcount: dict[str, int]
    evaluation: Evaluation
    kpis: dict[str, float]
    evaluated: int


def joint_interval_spec(
    model: ContactModel,
    calls: dict[str, float],
    headcount: dict[str, int],
    *,
    horizon: float = 600.0,
    warmup: float = 60.0,
) -> FlowSpec:
    """The stationary centre of one interval: ``calls`` per interval per queue (queues with no
    calls left out) served by ``headcount`` (``agents_<queue>``, ``group_<name>``; resources
    with 0 agents left out); minutes. Raises ValueError when a queue has nobody to serve it."""
    data: dict[str, Any] = {
        "name": "contact interval: "
        + ", ".join(f"{q} {c:.1f}" for q, c in calls.items())
        + f" calls per {model.calibration.interval_minutes} min",
        "time_unit": "minutes",
        "horizon": horizon,
        "warmup": warmup,
        "classes": {},
        "resources": {},
        "stations": {},
        "arrivals": [],
    }
    for name, n in headcount.items():
        if n > 0:
            data["resources"][name] = {"capacity": int(n)}
    for q, c in calls.items():
        own = f"agents_{q}"
        pools = [own] if headcount.get(own, 0) > 0 else []
        pools += [f"group_{g}" for g in model.groups_for(q) if headcount.get(f"group_{g}", 0) > 0]
        if not pools:
            raise ValueError(f"queue '{q}' has no agents in {headcount}")
        rate = max(c, 1e-9) / model.calibration.interval_minutes
        model._queue_parts(q, own, {"rate": rate}, data)
        for st in (q, f"{q}_callback"):
            station = data["stations"][st]
            station.pop("alternatives", None)
            station["resources"] = {pools[0]: 1}
            if pools[1:]:
                station["alternatives"] = [{p: 1} for p in pools[1:]]
    return validate_dict(data, "contact interval (joint)")


def _start(model: ContactModel, calls: dict[str, float]) -> dict[str, int]:
    step = model.calibration.interval_minutes
    head: dict[str, int] = {f"agents_{q}": 0 for q in calls}
    group_load = {g: 0.0 for g in model.settings.agent_groups}
    for q, c in calls.items():
        load = c / step * model.handle_mean(q)
        groups = model.groups_for(q)
        if groups:
            group_load[groups[0]] += load
        else:
            head[f"agents_{q}"] = max(1, math.floor(load))
    for g, load in group_load.items():
        head[f"group_{g}"] = max(1, math.floor(load)) if load > 0 else 0
    return head


def abandon_share(kpis: dict[str, float], queue: str) -> float:
    """Abandoned over offered calls of ``queue`` (offered: answered + abandoned + called back
    after a wait) from KPI means."""
    served = kpis.get(f"served[{queue}]", 0.0)
    gone = kpis.get(f"abandoned[{queue}]", 0.0)
    offered = served + gone + kpis.get(f"diverted[{queue}]", 0.0)
    return gone / offered if offered > 0 else 0.0


def _served(model: ContactModel, calls: dict[str, float], head: dict[str, int]) -> bool:
    return all(
        head[f"agents_{q}"] > 0 or any(head[f"group_{g}"] > 0 for g in model.groups_for(q))
        for q in calls
    )


def _lighter(
    model: ContactModel, calls: dict[str, float], head: dict[str, int], order: list[str]
) -> list[dict[str, int]]:
    """The moves tried once the targets are met, in order: one agent fewer (dedicated first),
    then one dedicated agent of a queue moved to one of its groups (the same headcount, a more
    flexible agent)."""
    out = [{**head, n: head[n] - 1} for n in reversed(order) if head[n] > 0]
    for q in calls:
        own = f"agents_{q}"
        if head[own] > 0:
            for g in model.groups_for(q):
                out.append({**head, own: head[own] - 1, f"group_{g}": head[f"group_{g}"] + 1})
    return out


def staff_interval_jointly(
    model: ContactModel, calls: dict[str, float], *, seed: int = 1, reps: int = 10
) -> JointResult:
    """The fewest agents (dedicated per queue and per agent group) meeting every queue's
    service-level target in one interval with ``calls`` per queue (see the module docstring);
    ``reps``: replications per candidate first (up to 4x while a target is too close)."""
    calls = {q: c for q, c in calls.items() if c > 0}
    if not calls:
        raise ValueError("no calls in this interval")
    sl = model.settings.service_level
    constraints = [Constraint(kpi=f"wait_within_target[{q}]", at_least=sl.target) for q in calls]
    head = _start(model, calls)
    # a generous upper bound on any decision: everyone dedicated, with a margin
    cap = 4 * sum(head.values()) + 20
    decisions = {
        name: Decision(path=f"resources.{name}.capacity", lower=0, upper=cap, cost=1.0)
        for name in head
    }
    problem = OptimisationProblem(
        name="joint staffing of one interval",
        spec="(contact-centre interval)",
        decisions=decisions,
        constraints=constraints,
        run=RunSettings(reps=reps, max_reps=4 * reps, seed=seed),
        search=SearchSettings(confidence=CONFIDENCE),
    )
    seen: dict[tuple[int, ...], tuple[Evaluation, dict[str, float] | None]] = {}

    def judge(h: dict[str, int]) -> tuple[Evaluation, dict[str, float] | None]:
        """The evaluation and, when every target is met, the KPI means (same replications)."""
        key = tuple(h[n] for n in head)
        if key not in seen:
            spec = joint_interval_spec(model, calls, h)
            ev = evaluate(problem, spec, dict(h))
            kpis = None
            if ev.feasible:
                r = run_experiment(spec, ev.reps, seed, "fast", first_rep=0)
                kpis = {k: v.mean for k, v in r.summary().items()}
            seen[key] = (ev, kpis)
        return seen[key]

    def score(h: dict[str, int]) -> float:
        """0 when feasible; service levels first (1000 + their shortfall while one is missed),
        then the abandonment shares above ``max_abandon`` (relative, means over the
        replications)."""
        ev, kpis = judge(h)
        if kpis is None:
            return 1000.0 + ev.shortfall
        top = model.settings.max_abandon
        return sum(max(0.0, abandon_share(kpis, q) - top) / top for q in calls)

    # groups first: on ties the more flexible agent wins
    order = sorted(head, key=lambda n: (not n.startswith("group_"), n))
    useful = {f"agents_{q}" for q in calls} | {
        f"group_{g}" for q in calls for g in model.groups_for(q)
    }
    while score(head) > 0:
        if sum(head.values()) >= cap:
            raise ValueError(f"no staffing up to {cap} agents meets the targets for {calls}")
        trials = [{**head, n: head[n] + 1} for n in order if n in useful]
        head = min(trials, key=score)  # the first of equal scores: groups first
    changed = True
    while changed:
        changed = False
        for trial in _lighter(model, calls, head, order):
            if _served(model, calls, trial) and score(trial) == 0:
                head, changed = trial, True
                break
    current, kpis = judge(head)
    assert kpis is not None
    return JointResult(dict(head), current, kpis, len(seen))
