"""From a calibration to the twin's model: ``model_from_calibration(cal, beds=...)``.

Beds per unit come from the twin's configuration when given (``twin.yaml``: ``beds:``), else the
calibration's estimate (the most patients seen at once in the window: a lower bound of the real
number). Units without a fitted length of stay (too few stays) are left out of the model, and
routing to them is folded into ``exit``; the forecast then says so (``HospitalModel`` only
knows the units it simulates). The calibrated hourly shares of discharges become every unit's
``discharge_hours``: the engine sends patients home at those times of day.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..assimilate import ED
from ..calibrate import HospitalCalibration
from ._model import EXIT, HospitalModel, UnitModel, cv_of

__all__ = ["model_from_calibration", "rate_cv_from"]


def _fold(table: Mapping[str, float], units: Mapping[str, object]) -> dict[str, float]:
    """Routing with unknown targets folded into ``exit`` (probabilities kept summing to 1)."""
    out: dict[str, float] = {}
    for target, p in table.items():
        key = target if target in units else EXIT
        out[key] = out.get(key, 0.0) + float(p)
    return out or {EXIT: 1.0}


def model_from_calibration(
    cal: HospitalCalibration, beds: Mapping[str, int] | None = None
) -> HospitalModel:
    """The forecast model of a calibrated hospital (see the module docstring)."""
    beds = dict(beds or {})
    fitted = {u: fit for u, fit in cal.los.items() if getattr(fit, "spec_", None) is not None}
    units: dict[str, UnitModel] = {}
    for u, fit in fitted.items():
        n = int(beds.get(u, cal.capacity.get(u, 0)))
        units[u] = UnitModel(max(n, 1), dict(fit.spec_), {})
    shares = [float(x) for x in cal.discharge.shares_]
    hours = shares if len(shares) == 24 and sum(shares) > 0 else None
    for u in units:
        next_ = _fold(cal.unit_next.get(u, {}), units)
        units[u] = UnitModel(units[u].beds, units[u].los, next_, hours)
    ed_next: dict[str, float] = {}
    for acuity, share in cal.acuity_shares.items():
        for target, p in cal.ed_next_unit.get(acuity, {}).items():
            ed_next[target] = ed_next.get(target, 0.0) + float(share) * float(p)
    ed_next = _fold(ed_next, units)
    hour = cal.elective_hour if cal.elective_hour is not None else 8.0
    lo = max(0, min(22, math.floor(hour) - 1))
    electives = {u: list(v) for u, v in cal.electives.items() if u in units}
    return HospitalModel(
        ed_rate_per_hour=[float(x) for x in cal.arrivals.rate_per_hour_],
        ed_next=ed_next,
        ed_exit_los=dict(cal.ed_exit_los.spec_),
        ed_admit_los=dict(cal.ed_admit_los.spec_),
        units=units,
        electives=electives,
        elective_hours=(lo, lo + 3),
        discharge_shares=shares,
        lost_share=float(getattr(cal, "lost_share", 0.0)),
        los_se={
            **{u: _mean_se(fit) for u, fit in fitted.items() if u in units},
            ED: _mean_se(cal.ed_admit_los),
        },
    )


def _mean_se(fit: Any) -> float:
    """Standard error of log(mean stay): CV / sqrt(stays that ended), the delta-method size of
    a mean estimated from that many events (censored stays add exposure, not events)."""
    events = float(getattr(fit, "n_events_", 0) or 0)
    if events < 1:
        return 0.0
    return cv_of(fit.spec_) / math.sqrt(events)


def rate_cv_from(cal: HospitalCalibration) -> float:
    """The arrival-level uncertainty for the forecast, as a coefficient of variation.

    Daily ED counts vary more than Poisson by the factor ``daily_dispersion_`` (variance /
    mean, day-of-week removed); the excess ``(D - 1) * mean`` is the variance of the day's
    level, so its CV is ``sqrt((D - 1) / mean)``; the uncertainty of the calibrated mean itself
    (``1 / sqrt(arrivals in the window)``) is added in quadrature.
    """
    rates = cal.arrivals.rate_per_hour_
    daily = float(sum(rates)) / 7.0
    if daily <= 0:
        return 0.0
    dispersion = float(getattr(cal.arrivals, "daily_dispersion_", 1.0))
    level = max(dispersion - 1.0, 0.0) / daily
    total = daily * float(cal.window_days)
    return math.sqrt(level + (1.0 / total if total > 0 else 0.0))
