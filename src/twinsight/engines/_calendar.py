"""Wall-clock calendar of a spec in model time: rate tables, schedules, windows, warm start.

Both engines take these derived views from here, so that the clock means one thing everywhere.
All returned times are model time (the spec's ``time_unit``, 0 = ``start``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
from pydantic import TypeAdapter
from scipy import special, stats

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

_DIST_ADAPTER: TypeAdapter[Distribution] = TypeAdapter(Distribution)

__all__ = [
    "Calendar",
    "Cycle",
    "frozen",
    "residual",
    "residuals",
    "survivals",
]


T = TypeVar("T")


@dataclass(frozen=True)
class Cycle(Generic[T]):
    """Events that repeat every ``length`` (time_unit): occurrence ``m`` is item ``m % n`` at
    ``first[m % n] + (m // n) * length``. ``first`` is sorted and spans less than ``length``,
    so occurrences come in time order. Both engines compute occurrence times with this one
    formula (identical floats), and memory does not grow with the horizon."""

    length: float
    first: list[float]
    items: list[T]

    def occurrence(self, m: int) -> tuple[float, T]:
        """Time and item of occurrence ``m`` (0-based)."""
        k, i = divmod(m, len(self.first))
        return self.first[i] + k * self.length, self.items[i]

    def until(self, horizon: float) -> Iterator[tuple[float, T]]:
        """Occurrences at times ``< horizon``, in order."""
        m = 0
        while self.first:
            t, item = self.occurrence(m)
            if t >= horizon:
                return
            yield t, item
            m += 1


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

    def dated_rates(self, arr: PoissonArrivals) -> tuple[float, np.ndarray]:
        """A stream's dated rates: (step in time_unit, rates per time_unit); rate ``k`` holds
        in model time ``[k * step, (k + 1) * step)``. No dated rates: (1.0, empty array)."""
        if arr.profile is None or arr.profile.dated is None:
            return 1.0, np.zeros(0)
        dated = arr.profile.dated
        rates = np.asarray(dated.rates, dtype=float)
        return dated.step.minutes_per_unit / self.mpu, rates * self.mpu / (
            arr.profile.per.minutes_per_unit
        )

    def rate_max(self, arr: PoissonArrivals) -> float:
        """The highest rate (per time_unit) of a stream: the thinning envelope of both engines."""
        top = float(self.rate_table(arr).max())
        _, dated = self.dated_rates(arr)
        return max(top, float(dated.max())) if dated.size else top

    def arrival_cycle(self, arr: ScheduledArrivals) -> Cycle[int]:
        """The weekly cycle of a scheduled stream: first instants in ``[0, week)`` (a slot at
        the start instant arrives at ``t = 0``), each item the number arriving."""
        week = MINUTES_PER_WEEK / self.mpu
        slots = [
            (self.next_wall(0.0, mow, MINUTES_PER_WEEK), slot.count)
            for slot in arr.slots
            for mow in slot.minutes_of_week()
        ]
        slots.sort(key=lambda x: x[0])  # stable: equal instants keep the spec's order
        return Cycle(week, [t for t, _ in slots], [n for _, n in slots])

    def scheduled_times(self, arr: ScheduledArrivals, horizon: float) -> list[tuple[float, int]]:
        """(model time, count) of every scheduled arrival in ``[0, horizon)``, in time order.
        (A list as long as the horizon: for inspection and tests; the engines walk the cycle.)"""
        return list(self.arrival_cycle(arr).until(horizon))

    # ----- resources -----------------------------------------------------------------------
    def initial_capacity(self, res: Resource) -> int:
        """The capacity in force at time 0: the schedule's last step at or before the start
        (wrapping round to the last step of the cycle)."""
        if res.schedule is None:
            assert res.capacity is not None
            return res.capacity
        period = 1440.0 if res.schedule.repeat == "day" else MINUTES_PER_WEEK
        marks = res.schedule.step_minutes()
        now = self.start % period
        idx = max((i for i, m in enumerate(marks) if m <= now), default=len(marks) - 1)
        return res.schedule.steps[idx].capacity

    def capacity_cycle(self, resources: list[Resource]) -> Cycle[tuple[int, int]]:
        """Every capacity step of ``resources`` over one cycle (a week if any schedule repeats
        weekly, else a day), first instants in ``(0, cycle]`` (a step at the start instant is the
        initial capacity and next comes one period later), ordered by (time, resource index).
        Each item is (resource index, new capacity)."""
        weekly = any(r.schedule is not None and r.schedule.repeat == "week" for r in resources)
        length_min = MINUTES_PER_WEEK if weekly else 1440.0
        steps: list[tuple[float, int, int]] = []
        for i, res in enumerate(resources):
            if res.schedule is None:
                continue
            period = 1440.0 if res.schedule.repeat == "day" else MINUTES_PER_WEEK
            per_cycle = round(length_min / period)
            for m, step in zip(res.schedule.step_minutes(), res.schedule.steps, strict=True):
                t0 = self.next_wall(0.0, m, period)
                if t0 == 0.0:
                    t0 = period / self.mpu
                for d in range(per_cycle):
                    steps.append((t0 + d * (period / self.mpu), i, step.capacity))
        steps.sort(key=lambda x: (x[0], x[1]))
        return Cycle(length_min / self.mpu, [t for t, _, _ in steps], [(i, c) for _, i, c in steps])

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

    # ----- release hours -------------------------------------------------------------------
    def release_at(
        self, now: float, end: float, cum: list[float], anchor: float, u1: float
    ) -> float:
        """The re-timed end of a service decided at ``now`` whose natural end is ``end``
        (``ReleaseHours``; docs/semantics.md, "Release hours").

        ``cum``: the 25 cumulative normalised hourly shares (``cum[0] = 0``); ``anchor``:
        minutes of day. The clock time ``x`` (minutes of day) comes from ``u1`` by inversion
        (the hour whose cumulative share passes ``u1``, uniform within it); the end is at clock
        time ``x`` in the 24 hours from ``anchor - 12 h`` that contain ``end``, or a day later
        if that is before ``now``. The fast engine's ``_stations.release_at`` is this formula.
        """
        h = 0
        last = max(k for k in range(24) if cum[k + 1] > cum[k])
        while h < last and u1 >= cum[h + 1]:
            h += 1
        frac = min(max((u1 - cum[h]) / (cum[h + 1] - cum[h]), 0.0), 1.0 - 1e-12)
        x = 60.0 * (h + frac)
        w0 = anchor - 720.0  # start of the anchored day (minutes of day, mod 1440)
        p = (self.start + end * self.mpu - w0) % 1440.0  # natural end within it
        q = (x - w0) % 1440.0  # the drawn clock time within it
        out = end + (q - p) / self.mpu
        return out + 1440.0 / self.mpu if out < now else out


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


@functools.lru_cache(maxsize=256)
def _frozen_by_key(key: str) -> Any:
    return frozen(_DIST_ADAPTER.validate_json(key))


def _frozen_cached(dist: Distribution) -> Any:
    """``frozen(dist)``, built once per distinct distribution (scipy's are slow to build)."""
    return _frozen_by_key(_DIST_ADAPTER.dump_json(dist).decode())


def residual(dist: Distribution, elapsed: float, rng: np.random.Generator) -> float:
    """Remaining duration of a draw from ``dist`` known to exceed ``elapsed`` (time_unit).

    Uses the conditional inverse CDF: ``u ~ U(F(elapsed), 1)``, ``x = F^-1(u)``; returns
    ``x - elapsed`` (never negative). Fixed and empirical are handled exactly; beyond the support
    the remaining time is 0. Draws one uniform from ``rng``; see ``residuals``.
    """
    u = rng.random()
    return float(residuals(dist, np.array([elapsed]), np.array([u]))[0])


def survivals(dist: Distribution, elapsed: np.ndarray) -> np.ndarray | None:
    """``P(X > elapsed)`` of a continuous distribution (None for fixed and empirical): what
    ``residuals`` conditions on, computed once when the same entities draw many times."""
    if isinstance(dist, Fixed | Empirical):
        return None
    rv = _frozen_cached(dist)
    return np.asarray(rv.sf(np.asarray(elapsed, dtype=float)), dtype=float)


def _isf(dist: Distribution, rv: Any, p: np.ndarray) -> np.ndarray:
    """The inverse survival function, in closed form for the families stays are fitted with
    (scipy's generic machinery costs ~0.1 ms a call, which a 1,000-replication warm start
    pays per distribution and replication)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if isinstance(dist, Exponential):
            return np.asarray(-dist.mean * np.log(p), dtype=float)
        if isinstance(dist, Lognormal):
            mu, sigma = lognormal_params(dist.mean, dist.sd)
            return np.asarray(np.exp(mu - sigma * special.ndtri(p)), dtype=float)
        if isinstance(dist, Gamma):
            k, theta = gamma_params(dist.mean, dist.sd)
            return np.asarray(theta * special.gammainccinv(k, p), dtype=float)
        if isinstance(dist, Weibull):
            return np.asarray(dist.scale * (-np.log(p)) ** (1.0 / dist.shape), dtype=float)
        return np.asarray(rv.isf(p), dtype=float)


def residuals(
    dist: Distribution, elapsed: np.ndarray, u: np.ndarray, sf: np.ndarray | None = None
) -> np.ndarray:
    """``residual`` for many entities at once, given their uniforms ``u`` (one per entity):
    the same numbers as one ``residual`` call per entity drawing those uniforms in order.
    ``sf``: ``survivals(dist, elapsed)`` when already known."""
    elapsed = np.asarray(elapsed, dtype=float)
    u = np.asarray(u, dtype=float)
    if isinstance(dist, Fixed):
        return np.maximum(dist.value - elapsed, 0.0)
    if isinstance(dist, Empirical):
        out = np.zeros_like(elapsed)
        for i, (e, ui) in enumerate(zip(elapsed, u, strict=True)):
            longer = [v for v in dist.values if v > e]
            if longer:
                out[i] = longer[min(int(ui * len(longer)), len(longer) - 1)] - e
        return out
    rv = _frozen_cached(dist)
    if sf is None:
        sf = np.asarray(rv.sf(elapsed), dtype=float)
    x = _isf(dist, rv, sf * (1.0 - u))
    out = np.where(np.isfinite(x), np.maximum(x - elapsed, 0.0), 0.0)
    return np.where(sf <= 1e-300, 0.0, out)
