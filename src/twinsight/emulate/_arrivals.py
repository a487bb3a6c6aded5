"""Who comes when: ED arrivals (hour, weekday, winter, surge days) and elective admissions.

Times are hours since the emulation's origin (midnight of its first day, warm-up included).
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np

from ._params import HospitalParams

__all__ = ["daily_intensity", "ed_arrivals", "elective_arrivals"]


def daily_intensity(params: HospitalParams, day: date) -> float:
    """Weekday and season factor of the ED arrival rate on ``day`` (no surge), unitless."""
    doy = day.timetuple().tm_yday
    season = 1 + params.season_amplitude * math.cos(
        2 * math.pi * (doy - params.season_peak_day_of_year) / 365.25
    )
    week = np.asarray(params.weekday_shape, dtype=float)
    return float(week[day.weekday()] / week.mean() * season)


def ed_arrivals(
    params: HospitalParams, origin: date, n_days: int, beds: int, rng: np.random.Generator
) -> tuple[list[float], np.ndarray]:
    """ED arrival times (hours, sorted) over ``n_days``, and each day's surge multiplier."""
    hour = np.asarray(params.hour_shape, dtype=float)
    hour = hour / hour.sum()
    per_day = params.ed_arrivals_per_bed_day * beds
    surge = np.where(
        rng.random(n_days) < params.surge_day_prob,
        rng.uniform(*params.surge_multiplier, size=n_days),
        1.0,
    )
    times: list[float] = []
    for d in range(n_days):
        mean = per_day * daily_intensity(params, origin + timedelta(days=d)) * surge[d] * hour
        counts = rng.poisson(mean)
        for h in np.flatnonzero(counts):
            offsets = np.sort(rng.random(int(counts[h])))
            times.extend(float(d * 24 + h + x) for x in offsets)
    return times, surge


def elective_arrivals(
    params: HospitalParams, origin: date, n_days: int, beds: int, rng: np.random.Generator
) -> list[float]:
    """Planned admission times (hours, sorted): weekdays only, uniform in 07:00-10:00."""
    times: list[float] = []
    for d in range(n_days):
        if (origin + timedelta(days=d)).weekday() >= 5:
            continue
        n = int(rng.poisson(params.electives_per_bed_weekday * beds))
        times.extend(float(d * 24 + 7 + x) for x in np.sort(rng.uniform(0, 3, size=n)))
    return times
