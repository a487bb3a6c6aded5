"""A dated (non-repeating) arrival stream: the outbreak's admissions over any horizon.

The flow spec's ``profile.dated`` (docs/spec-reference.md, "Rate profile") holds rates that do
not repeat, from model time 0. The outbreak's expected admissions in every model hour become
one Poisson stream whose dated rate in model hour ``h`` is those expected admissions (per
hour), and 0 after the last hour given: the expected arrivals in every model hour equal the
series' exactly, the counts are Poisson, and the arrival times are the entities' entry times.
(Until 2026-11-21 the spec had no dated rates and this module placed candidates in pure-delay
"holding stations" instead; docs/decisions/0006-compartment-engine.md.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..spec import FlowSpec, PoissonArrivals

__all__ = ["HOURS_PER_UNIT", "dated_arrivals", "expected_dated_arrivals"]

#: Hours in one spec time unit.
HOURS_PER_UNIT = {"minutes": 1.0 / 60.0, "hours": 1.0, "days": 24.0}


def dated_arrivals(
    spec: FlowSpec,
    hourly: Sequence[float],
    *,
    to: str,
    name: str = "outbreak",
    entity_class: str = "inpatient",
) -> FlowSpec:
    """``spec`` with a Poisson stream ``name`` to ``to`` whose rate in model hour ``h`` (from
    model time 0) is ``hourly[h]`` arrivals per hour, 0 after the last; ``spec`` itself when
    every rate is 0."""
    if to not in spec.stations:
        raise ValueError(f"unknown station '{to}'; known: {sorted(spec.stations)}")
    if entity_class not in spec.classes:
        raise ValueError(f"unknown class '{entity_class}'; known: {sorted(spec.classes)}")
    rates = [float(x) for x in hourly]
    if any(not math.isfinite(x) or x < 0 for x in rates):
        raise ValueError("hourly expected arrivals must be finite and >= 0")
    if any(a.name == name for a in spec.arrivals):
        raise ValueError(f"the spec already has an arrival stream '{name}': pick another name")
    if not rates or max(rates) <= 0:
        return spec
    data = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    stream: dict[str, Any] = {
        "name": name,
        "to": to,
        "profile": {"per": "hours", "dated": {"step": "hours", "rates": rates}},
        "class": entity_class,
    }
    data["arrivals"] = [*data.get("arrivals", []), stream]
    return FlowSpec.model_validate(data)


def expected_dated_arrivals(spec: FlowSpec, name: str = "outbreak") -> float:
    """Expected arrivals of stream ``name`` in ``[0, spec.horizon)`` from its dated rates (the
    integral of the rate; the weekly table after the dated rates is not counted)."""
    arr = next(a for a in spec.arrivals if a.name == name)
    assert isinstance(arr, PoissonArrivals) and arr.profile is not None
    dated = arr.profile.dated
    assert dated is not None, f"stream '{name}' has no dated rates"
    step_h = dated.step.minutes_per_unit / 60.0
    per_h = arr.profile.per.minutes_per_unit / 60.0
    horizon_h = spec.horizon * HOURS_PER_UNIT[spec.time_unit.value]
    return math.fsum(
        r / per_h * min(max(horizon_h - k * step_h, 0.0), step_h) for k, r in enumerate(dated.rates)
    )
