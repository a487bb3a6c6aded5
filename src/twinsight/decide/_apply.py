"""Apply a scenario's interventions: to the hospital model (beds, stays, arrival rates,
the units' discharge hours) and to the flow spec that runs (shifts, surges, ``set:`` paths).

A change that names something the twin does not have raises ``ScenarioError`` naming it and
what exists nearby. Times of day are wall-clock (the spec's ``start`` maps model time 0).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import yaml

from ..forecast import HospitalModel
from ..forecast._model import scaled
from ..spec import (
    DatedRates,
    FlowSpec,
    PoissonArrivals,
    ReleaseHours,
    SpecError,
    parse_day,
    parse_time_of_day,
    validate_dict,
)
from ..spec._explain import _fields_at
from ..spec._overrides import _list_index, apply_overrides
from ._scenario import Intervention, Scenario, close_names

__all__ = ["MODEL_KINDS", "ScenarioError", "apply_to_model", "apply_to_spec"]

#: Interventions applied to the hospital model (the rest go to the flow spec).
MODEL_KINDS = frozenset({"beds", "discharge_before_noon", "shorter_stays", "divert"})
_DAY, _WEEK = 1440.0, 10080.0
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScenarioError(ValueError):
    """A scenario that does not fit the twin; the message says which change and the fix."""


def _where(scenario: Scenario, i: int, iv: Intervention) -> str:
    return f"scenario '{scenario.name}', intervention {i + 1} ({iv.kind})"


def apply_to_model(model: HospitalModel, scenario: Scenario) -> HospitalModel:
    """The hospital model with the scenario's model-level interventions applied in order."""
    for i, iv in enumerate(scenario.interventions):
        if iv.kind in MODEL_KINDS:
            model = _model_change(model, iv, _where(scenario, i, iv))
    return model


def _unit(model: HospitalModel, unit: str, where: str, extra: tuple[str, ...] = ()) -> None:
    names = [*model.units, *extra]
    if unit not in names:
        raise ScenarioError(f"{where}: no unit '{unit}'{close_names(unit, names)}")


def _model_change(model: HospitalModel, iv: Intervention, where: str) -> HospitalModel:
    v = iv.value
    units = dict(model.units)
    if iv.kind == "beds":
        _unit(model, v.unit, where)
        old = units[v.unit].beds
        beds = v.capacity if v.capacity is not None else old + v.change
        if beds < 0:
            raise ScenarioError(f"{where}: {v.unit} has {old} beds; it cannot close {-v.change}")
        units[v.unit] = dataclasses.replace(units[v.unit], beds=beds)
        return dataclasses.replace(model, units=units)
    if iv.kind == "shorter_stays":
        _unit(model, v.unit, where, ("all", "ED"))
        if v.unit == "ED":
            return dataclasses.replace(
                model,
                ed_exit_los=scaled(model.ed_exit_los, v.factor),
                ed_admit_los=scaled(model.ed_admit_los, v.factor),
            )
        for u in units if v.unit == "all" else [v.unit]:
            units[u] = dataclasses.replace(units[u], los=scaled(units[u].los, v.factor))
        return dataclasses.replace(model, units=units)
    if iv.kind == "divert":
        rates = [r * (1.0 - v.share) for r in model.ed_rate_per_hour]
        return dataclasses.replace(model, ed_rate_per_hour=rates)
    # discharge_before_noon: a share of each afternoon hour's discharges home happen in
    # 10:00-12:00 instead (UTC clock hours, as the calibration's), half in each hour: the units'
    # discharge hours move and the engine sends those patients home then, on the same day as
    # before (the anchor stays the old pattern's mean clock time). Beds free up earlier in the
    # day, before the afternoon's admissions; the stays are not scaled: a discharge at 11:00
    # instead of 15:00 is 4 hours shorter by itself.
    for u in v.units or list(units):
        _unit(model, u, where)
        m = units[u]
        hours = m.discharge_hours or model.discharge_shares or [1.0 / 24] * 24
        anchor = m.discharge_anchor
        if anchor is None:
            anchor = ReleaseHours(shares=[float(x) for x in hours]).anchor_hours()
        moved = _before_noon(hours, v.share)
        units[u] = dataclasses.replace(m, discharge_hours=moved, discharge_anchor=anchor)
    return dataclasses.replace(model, units=units)


def _before_noon(shares: Sequence[float], share: float) -> list[float]:
    """``shares`` (24, by clock hour) with ``share`` of each hour 12-23 moved to 10 and 11."""
    total = sum(shares)
    moved = [float(x) / total for x in shares]
    for h in range(12, 24):
        amount = moved[h] * share
        moved[h] -= amount
        moved[10] += amount / 2
        moved[11] += amount / 2
    return moved


def apply_to_spec(spec: FlowSpec, scenario: Scenario, *, hospital: bool = False) -> FlowSpec:
    """The flow spec with the scenario's spec-level interventions (shift, surge, set) applied
    in order; ``hospital``: model-level ones were applied to the model already (otherwise they
    are an error: a plain flow spec has no units, only resources and stations)."""
    data: dict[str, Any] | None = None
    for i, iv in enumerate(scenario.interventions):
        where = _where(scenario, i, iv)
        if iv.kind in MODEL_KINDS:
            if hospital:
                continue
            raise ScenarioError(
                f"{where}: '{iv.kind}' needs a hospital twin; for a flow spec write a 'set:' "
                "change, e.g. set: {resources.server.capacity: 4}"
            )
        if data is None:
            data = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
        if iv.kind == "shift":
            _shift(data, iv.value, where)
        elif iv.kind == "surge":
            _surge(data, spec, iv.value, where, ["ed"] if hospital else None)
        else:
            _set(data, iv.value, where)
    if data is None:
        return spec
    try:
        return validate_dict(data, f"scenario '{scenario.name}'")
    except SpecError as exc:
        rows = "; ".join(f"{p.path}: {p.message}" for p in exc.problems)
        raise ScenarioError(f"scenario '{scenario.name}' makes the spec invalid: {rows}") from None


def _set(data: dict[str, Any], changes: dict[str, Any], where: str) -> None:
    for path, value in changes.items():
        keys = [k for k in str(path).split(".") if k]
        current: Any = data
        loc: list[Any] = []
        for key in keys:
            if isinstance(current, list):
                try:
                    idx = _list_index(current, key, str(path))
                except ValueError as exc:
                    raise ScenarioError(f"{where}: {exc}") from None
                loc.append(idx)
                current = current[idx]
            elif isinstance(current, dict):
                if key not in current:
                    allowed = _fields_at(tuple(loc))
                    if key in allowed:
                        break  # a field the spec allows, not given yet: set creates it
                    names = list(dict.fromkeys([*map(str, current), *allowed]))
                    inside = ".".join(map(str, loc)) or "the spec"
                    raise ScenarioError(
                        f"{where}: '{path}': there is no '{key}' in {inside}"
                        f"{close_names(key, names)}"
                    )
                loc.append(key)
                current = current[key]
            else:
                raise ScenarioError(f"{where}: '{path}': '{key}' is inside a plain value")
        text = yaml.safe_dump(value, default_flow_style=True).strip()
        if text.endswith("..."):
            text = text[:-3].strip()
        apply_overrides(data, [f"{path}={text}"])


def _shift(data: dict[str, Any], v: Any, where: str) -> None:
    resources = data.get("resources", {})
    if v.resource not in resources:
        raise ScenarioError(
            f"{where}: no resource '{v.resource}'{close_names(v.resource, list(resources))}"
        )
    res = resources[v.resource]
    sched = res.get("schedule")
    if sched is None:
        cycle, steps = _DAY, [(0.0, int(res["capacity"]))]
    else:
        cycle = _DAY if sched.get("repeat", "day") == "day" else _WEEK
        steps = [(_minutes(s["at"], cycle), int(s["capacity"])) for s in sched["steps"]]

    def base(m: float) -> int:
        before = [c for at, c in steps if at <= m]
        return before[-1] if before else steps[-1][1]

    start, end = parse_time_of_day(v.start), parse_time_of_day(v.end)
    length = (end - start) % _DAY
    windows = [((start + d * _DAY) % cycle, length) for d in range(int(cycle // _DAY))]

    def inside(m: float) -> bool:
        return any((m - s) % cycle < n for s, n in windows)

    marks = sorted({at for at, _ in steps} | {s for s, _ in windows}
                   | {(s + n) % cycle for s, n in windows})  # fmt: skip
    new: list[tuple[float, int]] = []
    for m in marks:
        cap = base(m) + (v.extra if inside(m) else 0)
        if cap < 0:
            raise ScenarioError(f"{where}: {v.resource} would have {cap} (fewer than none)")
        if not new or new[-1][1] != cap:
            new.append((m, cap))
    repeat = "day" if cycle == _DAY else "week"
    resources[v.resource] = {
        "schedule": {
            "repeat": repeat,
            "steps": [{"at": _label(m, cycle), "capacity": c} for m, c in new],
        }
    }


def _minutes(at: str, cycle: float) -> float:
    parts = at.split()
    if cycle == _DAY:
        return parse_time_of_day(parts[0])
    return parse_day(parts[0]) * _DAY + parse_time_of_day(parts[1])


def _label(m: float, cycle: float) -> str:
    day, rest = divmod(round(m), int(_DAY))
    clock = f"{rest // 60:02d}:{rest % 60:02d}"
    return clock if cycle == _DAY else f"{_DAYS[day]} {clock}"


def _rate_per_hour(
    mid_h: float, t0: float, hourly: list[float], dated: DatedRates | None, per: float
) -> float:
    """A stream's rate per hour at ``mid_h`` hours after model time 0 (``t0``: hour of week at
    model time 0; ``hourly``: its 168 weekly rates per hour; ``dated`` rates are per ``per``
    minutes)."""
    if dated is not None:
        k = int(mid_h * 60.0 / dated.step.minutes_per_unit)
        if k < len(dated.rates):
            return dated.rates[k] * 60.0 / per
    return hourly[int(t0 + mid_h) % 168]


def _surge(
    data: dict[str, Any], spec: FlowSpec, v: Any, where: str, default: list[str] | None
) -> None:
    """More arrivals in [from_day, from_day + days) days after the start: an extra Poisson
    stream per stream (``surge:<name>``) with dated hourly rates (``profile.dated``, hours from
    model time 0): ``percent`` % of the stream's rate in each model hour whose middle is in the
    window, 0 after it. A surge over the whole run (or a lull) scales the stream's rates."""
    unit = spec.time_unit.minutes_per_unit
    horizon_h = spec.horizon * unit / 60.0
    start_h, end_h = v.from_day * 24.0, (v.from_day + v.days) * 24.0
    whole = start_h <= 0.0 and end_h >= horizon_h
    if not whole and v.percent < 0:
        raise ScenarioError(f"{where}: a lull (negative percent) must last the whole run")
    t0 = spec.start.minutes_of_week() / 60.0  # hour of week at model time 0
    poisson = [a.name for a in spec.arrivals if getattr(a, "kind", "poisson") == "poisson"]
    chosen = v.streams or default or poisson
    for name in chosen:
        if name not in poisson:
            raise ScenarioError(
                f"{where}: no Poisson arrival stream '{name}'{close_names(name, poisson)}"
            )
    added = []
    for raw, arrival in zip(data.get("arrivals", []), spec.arrivals, strict=True):
        if arrival.name not in chosen or not isinstance(arrival, PoissonArrivals):
            continue
        factor = v.percent / 100.0
        if arrival.profile is not None:
            per = arrival.profile.per.minutes_per_unit
            hourly = [r * 60.0 / per for r in arrival.profile.hourly_table()]
            dated = arrival.profile.dated
        else:
            hourly = [float(arrival.rate or 0.0) * 60.0 / unit] * 168
            dated, per = None, unit
        if whole:
            raw.pop("rate", None)
            raw["profile"] = {"hour_of_week": [r * (1.0 + factor) for r in hourly]}
            if dated is not None:
                raw["profile"]["dated"] = {
                    "step": dated.step.value,
                    "rates": [r * 60.0 / per * (1.0 + factor) for r in dated.rates],
                }
            continue
        hours = int(min(np.ceil(end_h - 1e-9), np.ceil(horizon_h - 1e-9)))
        extra = [
            _rate_per_hour(k + 0.5, t0, hourly, dated, per) * factor
            if start_h <= k + 0.5 < end_h
            else 0.0
            for k in range(hours)
        ]
        if extra and max(extra) > 0:
            entry = {k: raw[k] for k in ("to", "class") if k in raw}
            added.append({"name": f"surge:{arrival.name}",
                          "profile": {"dated": {"step": "hours", "rates": extra}},
                          **entry})  # fmt: skip
    if not added and not whole:
        raise ScenarioError(f"{where}: the spec has no Poisson arrivals to surge")
    data["arrivals"] = [*data.get("arrivals", []), *added]
