"""The staffing plan of a centre with agent groups: each interval staffed jointly
(:func:`staff_interval_jointly`), one row per queue (its dedicated agents) and one per agent
group (``queue`` = ``group:<name>``, its headcount; calls: those of its skills)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ._calibrate import WEEKDAYS
from ._erlang import fewest_agents
from ._joint import abandon_share, staff_interval_jointly
from ._model import ContactModel
from ._staffing import Progress, StaffingPlan, _start

__all__ = ["staff_jointly"]


def staff_jointly(
    model: ContactModel,
    todo: list[tuple[str, str, int, float]],
    *,
    seed: int = 1,
    reps: int = 10,
    progress: Progress | None = None,
) -> StaffingPlan:
    """The joint plan of the intervals in ``todo`` ((queue, weekday, slot, calls) with calls >
    0), every queue of an interval staffed together."""
    sl = model.settings.service_level
    step = model.calibration.interval_minutes
    intervals: dict[tuple[str, int], dict[str, float]] = {}
    for q, w, i, c in todo:
        intervals.setdefault((w, i), {})[q] = c
    agents = {q: [0] * (7 * model.slots) for q in model.queues}
    groups = {g: [0] * (7 * model.slots) for g in model.settings.agent_groups}
    rows: list[dict[str, Any]] = []
    for n, ((w, i), calls) in enumerate(intervals.items()):
        res = staff_interval_jointly(model, calls, seed=seed, reps=reps)
        k = res.kpis
        at = WEEKDAYS.index(w) * model.slots + i
        for q, c in calls.items():
            need = res.headcount[f"agents_{q}"]
            agents[q][at] = need
            alone = fewest_agents(
                c / step,
                model.handle_mean(q),
                model.erlang_patience(q),
                sl.seconds / 60.0,
                sl.target,
                model.settings.max_abandon,
            )
            asa = k.get(f"wait_mean[{q}]", math.nan)
            rows.append(
                {
                    "queue": q,
                    "weekday": w,
                    "start": _start(i, step),
                    "calls": round(c, 2),
                    "aht_minutes": round(model.handle_mean(q), 3),
                    "method": "joint",
                    "erlang_agents": alone.agents,
                    "agents": need,
                    "rostered": model.rostered(need),
                    "service_level": k.get(f"wait_within_target[{q}]", math.nan),
                    "asa_seconds": 60.0 * asa,
                    "abandon": abandon_share(k, q),
                    "occupancy": k.get(f"utilisation[agents_{q}]", math.nan),
                    "satisfaction": model.satisfaction(asa, q),
                }
            )
        for g, grp in model.settings.agent_groups.items():
            skills = [q for q in grp.skills if q in calls]
            if not skills:
                continue
            n_g = res.headcount[f"group_{g}"]
            groups[g][at] = n_g
            rows.append(
                {
                    "queue": f"group:{g}",
                    "weekday": w,
                    "start": _start(i, step),
                    "calls": round(sum(calls[q] for q in skills), 2),
                    "aht_minutes": math.nan,
                    "method": "joint",
                    "erlang_agents": math.nan,
                    "agents": n_g,
                    "rostered": model.rostered(n_g),
                    "service_level": math.nan,
                    "asa_seconds": math.nan,
                    "abandon": math.nan,
                    "occupancy": k.get(f"utilisation[group_{g}]", math.nan),
                    "satisfaction": math.nan,
                }
            )
        if progress is not None:
            progress(n + 1, len(intervals))
    return StaffingPlan(pd.DataFrame(rows), agents, groups)
