"""Wall-clock calendar of a spec in model time: rate tables, schedules, windows, warm start.

Both engines take these derived views from here, so that the clock means one thing everywhere.
All returned times are model time (the spec's ``time_unit``, 0 = ``start``).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from ..spec import (
    MINUTES_PER_WEEK,
    Distribution,
    Empirical,
    Exponential,
    Fixed,
    FlowSpec,
    Gamma,
    Lognormal,
    Normal,
    PoissonArrivals,
    Resource,
    ScheduledArrivals,
    TimeWindow,
    Triangular,
    Uniform,
    Weibull,
    gamma_params,
    lognormal_params,
)

__all__ = [
    "Calendar",
    "frozen",
    "residual",
]


class Calendar:
    """Converts between model time and the wall clock (minutes of the week) for one spec."""

    def __init__(self, spec: FlowSpec) -> None:
        self.mpu = spec.time_unit.minutes_per_unit
        self.start = spec.start.minutes_of_week()
        self.time_unit = spec.time_unit

    def minute_of_week(self, t: float) -> float:
        """Wall-clock minutes after Monday 00:00 at model time ``t``."""
        return (self.start + t * self.mpu) % MINUTES_PER_WEEK

    def next_wall(self, t: float, minute_of_period: float, period_min: float) -> float:
        """The first model time >= ``t`` whose wall clock is ``minute_of_period`` in a cycle of
        ``period_min`` minutes (1440 for daily, 10080 for weekly)."""
        now = (self.start + t * self.mpu) % period_min
        delta = (minute_of_period - now) % period_min
        return t + delta / self.mpu

    # ----- arrivals ------------------------------------------------------------------------
    def rate_table(self, arr: PoissonArrivals) -> np.ndarray:
        """Rates per ``time_unit`` by hour of week (168 values, Monday 00-01 first)."""
        if arr.profile is None:
            assert arr.rate is not None
            return np.full(168, float(arr.rate))
        table = np.asarray(arr.profile.hourly_table(), dtype=float)
        return table * self.time_unit.minutes_per_unit / arr.profile.per.minutes_per_unit

    def scheduled_times(self, arr: ScheduledArrivals, horizon: float) -> list[tuple[float, int]]:
        """(model time, count) of every scheduled arrival in ``[0, horizon)``, in time order."""
        out: list[tuple[float, int]] = []
        week = MINUTES_PER_WEEK / self.mpu
        for slot in arr.slots:
            for mow in slot.minutes_of_week():
                t = self.next_wall(0.0, mow, MINUTES_PER_WEEK)
                while t < horizon:
                    out.append((t, slot.count))
                    t += week
        out.sort(key=lambda x: x[0])
        return out

    # ----- resources -----------------------------------------------------------------------
    def capacity_changes(self, res: Resource, horizon: float) -> list[tuple[float, int]]:
        """(model time, capacity) steps in ``[0, horizon)``; the first is at time 0."""
        if res.schedule is None:
            assert res.capacity is not None
            return [(0.0, res.capacity)]
        period = 1440.0 if res.schedule.repeat == "day" else MINUTES_PER_WEEK
        marks = res.schedule.step_minutes()
        caps = [s.capacity for s in res.schedule.steps]
        now = self.start % period
        # capacity in force at time 0: the last step at or before 'now' (wrapping to the last)
        idx = max((i for i, m in enumerate(marks) if m <= now), default=len(marks) - 1)
        out = [(0.0, caps[idx])]
        events: list[tuple[float, int]] = []
        cycle = period / self.mpu
        for m, c in zip(marks, caps, strict=True):
            t = self.next_wall(0.0, m, period)
            if t == 0.0:
                t += cycle
            while t < horizon:
                events.append((t, c))
                t += cycle
        events.sort(key=lambda x: x[0])
        return out + events

    # ----- windows -------------------------------------------------------------------------
    def in_window(self, t: float, window: TimeWindow) -> bool:
        """Whether the wall clock at ``t`` lies inside the daily window [from, to)."""
        a, b = window.minutes()
        m = (self.start + t * self.mpu) % 1440.0
        return a <= m < b if a < b else (m >= a or m < b)

    def window_opens(self, t: float, window: TimeWindow) -> float:
        """``t`` if inside the window, else the model time at which it next opens."""
        if self.in_window(t, window):
            return t
        return self.next_wall(t, window.minutes()[0], 1440.0)


def frozen(dist: Distribution) -> stats.rv_continuous | None:
    """The scipy distribution of a continuous spec distribution (None for fixed/empirical)."""
    if isinstance(dist, Exponential):
        return stats.expon(scale=dist.mean)
    if isinstance(dist, Lognormal):
        mu, sigma = lognormal_params(dist.mean, dist.sd)
        return stats.lognorm(s=sigma, scale=math.exp(mu))
    if isinstance(dist, Gamma):
        k, theta = gamma_params(dist.mean, dist.sd)
        return stats.gamma(a=k, scale=theta)
    if isinstance(dist, Weibull):
        return stats.weibull_min(c=dist.shape, scale=dist.scale)
    if isinstance(dist, Normal):
        a = (dist.min - dist.mean) / dist.sd
        return stats.truncnorm(a=a, b=math.inf, loc=dist.mean, scale=dist.sd)
    if isinstance(dist, Triangular):
        width = dist.max - dist.min
        return stats.triang(c=(dist.mode - dist.min) / width, loc=dist.min, scale=width)
    if isinstance(dist, Uniform):
        return stats.uniform(loc=dist.min, scale=dist.max - dist.min)
    return None


def residual(dist: Distribution, elapsed: float, rng: np.random.Generator) -> float:
    """Remaining duration of a draw from ``dist`` known to exceed ``elapsed`` (time_unit).

    Uses the conditional inverse CDF: ``u ~ U(F(elapsed), 1)``, ``x = F^-1(u)``; returns
    ``x - elapsed`` (never negative). Fixed and empirical are handled exactly; beyond the support
    the remaining time is 0.
    """
    u = rng.random()
    if isinstance(dist, Fixed):
        return max(dist.value - elapsed, 0.0)
    if isinstance(dist, Empirical):
        longer = [v for v in dist.values if v > elapsed]
        if not longer:
            return 0.0
        return longer[min(int(u * len(longer)), len(longer) - 1)] - elapsed
    rv = frozen(dist)
    assert rv is not None
    sf = float(rv.sf(elapsed))
    if sf <= 1e-300:
        return 0.0
    x = float(rv.isf(sf * (1.0 - u)))
    return max(x - elapsed, 0.0) if math.isfinite(x) else 0.0
