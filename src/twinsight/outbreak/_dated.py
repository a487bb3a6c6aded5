"""A dated (non-repeating) arrival stream, expressed with what a flow spec has.

A flow spec's rate profiles, schedules and release windows all repeat weekly or daily; the
only thing that happens once is the warm start (``initial_state``). So the outbreak's
admissions over a horizon of any length become entities placed at model time 0 in pure-delay
stations (no resources) whose delays end when they arrive:

- ``{name}:day``: one class ``{name}:day{k}`` per model day ``k`` (hours ``24k .. 24k+24`` from
  model time 0), ``N_k = ceil(draws * L_k)`` candidates with ``remaining = 24k`` hours, where
  ``L_k`` is the day's expected admissions. On leaving, each candidate goes to the hour station
  ``j`` with probability ``q_k * e_kj / L_k`` (``q_k = L_k / N_k``, ``e_kj`` the expected
  admissions of hour ``j`` of that day), otherwise to ``{name}:unused``;
- ``{name}:hour{j}``: a uniform delay of ``j .. j+1`` hours, then to the unit, as ``entity_class``;
- ``{name}:unused``: holds the candidates not admitted past any horizon (they never depart,
  so they count in no departure, throughput or time-in-system KPI).

The expected arrivals at the unit in model hour ``24k + j`` are then ``N_k * q_k * e_kj / L_k
= e_kj`` exactly (uniform within the hour). A day's count is binomial(N_k, q_k): mean ``L_k``,
variance ``L_k (1 - q_k)`` with ``q_k <= 1/draws`` (Poisson in the limit). The admitted
patients' time in system counts from model time 0 (the spec has no entry time after 0 for a
warm start): read the unit's station KPIs or a journey from the unit, not the class's or the
system's time in system.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..spec import FlowSpec, Uniform

__all__ = ["HOURS_PER_UNIT", "dated_arrivals", "expected_dated_arrivals"]

#: Hours in one spec time unit.
HOURS_PER_UNIT = {"minutes": 1.0 / 60.0, "hours": 1.0, "days": 24.0}

#: The delay of candidates not admitted (model time units): beyond any run.
_NEVER = 1e12


def dated_arrivals(
    spec: FlowSpec,
    hourly: Sequence[float],
    *,
    to: str,
    name: str = "outbreak",
    entity_class: str = "inpatient",
    draws: int = 10,
) -> FlowSpec:
    """``spec`` with ``hourly[h]`` expected arrivals at ``to`` in model hour ``h`` (from model
    time 0), for every ``h`` in ``hourly`` (see the module docstring)."""
    if draws < 1:
        raise ValueError("draws must be >= 1 candidate per expected admission")
    if to not in spec.stations:
        raise ValueError(f"unknown station '{to}'; known: {sorted(spec.stations)}")
    if entity_class not in spec.classes:
        raise ValueError(f"unknown class '{entity_class}'; known: {sorted(spec.classes)}")
    rates = [float(x) for x in hourly]
    if any(not math.isfinite(x) or x < 0 for x in rates):
        raise ValueError("hourly expected arrivals must be finite and >= 0")
    per_hour = 1.0 / HOURS_PER_UNIT[spec.time_unit.value]  # time units in one hour
    day_st, unused = f"{name}:day", f"{name}:unused"
    data = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    routing: dict[str, list[dict[str, Any]]] = {}
    groups: list[dict[str, Any]] = []
    hours_used: set[int] = set()
    for k in range(0, (len(rates) + 23) // 24):
        day = rates[24 * k : 24 * k + 24]
        total = math.fsum(day)
        if total <= 0:
            continue
        cls = f"{name}:day{k}"
        n = max(1, math.ceil(draws * total - 1e-9))
        shares = {j: e / n for j, e in enumerate(day) if e > 0}
        hours_used.update(shares)
        rows: list[dict[str, Any]] = [
            {"to": f"{name}:hour{j:02d}", "p": p} for j, p in shares.items()
        ]
        rest = 1.0 - math.fsum(shares.values())
        if rest > 1e-12:
            rows.append({"to": unused, "p": rest})
        routing[cls] = rows
        groups.append(
            {"station": day_st, "class": cls, "count": n, "remaining": 24.0 * k * per_hour}
        )
    if not groups:
        return spec
    new_stations: dict[str, Any] = {
        day_st: {
            "service": {"dist": "fixed", "value": 0.0},
            "routing": [{"to": unused, "p": 1.0}],
            "routing_by_class": routing,
        },
        unused: {"service": {"dist": "fixed", "value": _NEVER}},
    }
    for j in sorted(hours_used):
        new_stations[f"{name}:hour{j:02d}"] = {
            "service": {"dist": "uniform", "min": j * per_hour, "max": (j + 1) * per_hour},
            "routing": [{"to": to, "p": 1.0, "becomes": entity_class}],
        }
    taken = set(new_stations) & set(data["stations"])
    if taken:
        raise ValueError(f"the spec already has stations {sorted(taken)}: pick another name")
    data["stations"] = {**data["stations"], **new_stations}
    data["classes"] = {**data.get("classes", {}), **{cls: {} for cls in routing}}
    data["initial_state"] = [*data.get("initial_state", []), *groups]
    return FlowSpec.model_validate(data)


def expected_dated_arrivals(spec: FlowSpec, name: str = "outbreak") -> float:
    """Expected arrivals at the unit within ``spec.horizon`` from a spec made by
    ``dated_arrivals``, read back from the spec itself (for checks)."""
    day = spec.stations[f"{name}:day"]
    total = 0.0
    for grp in spec.initial_state:
        if grp.station != f"{name}:day":
            continue
        start = grp.remaining or 0.0
        for row in day.routes_for(grp.entity_class):
            if row.to == f"{name}:unused":
                continue
            dist = spec.stations[row.to].service
            assert isinstance(dist, Uniform), f"{row.to} is not an hour station"
            lo, hi = float(dist.min), float(dist.max)
            inside = min(max((spec.horizon - start - lo) / (hi - lo), 0.0), 1.0)
            total += grp.count * row.p * inside
    return total
