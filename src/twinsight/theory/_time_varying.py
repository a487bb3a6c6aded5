"""Time-varying Poisson arrivals: expected counts from a spec's rate tables, and the mean
occupancy of a pure-delay station with a fixed delay (the M_t/D/infinity queue).

The rate of a profile is constant within each wall-clock hour (docs/semantics.md); model time
``t`` (time_unit) maps to wall-clock minutes of week ``start + t * minutes_per_unit``. The
expected number of arrivals in ``(0, t]``, Lambda(t), is therefore piecewise linear in ``t``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from ..spec import MINUTES_PER_WEEK, FlowSpec, PoissonArrivals, ScheduledArrivals

__all__ = ["delay_occupancy", "expected_arrivals", "expected_arrivals_by_time"]


def _streams(
    spec: FlowSpec, streams: Iterable[str] | None
) -> list[PoissonArrivals | ScheduledArrivals]:
    chosen = list(spec.arrivals)
    if streams is not None:
        wanted = set(streams)
        unknown = wanted - {a.name for a in chosen}
        if unknown:
            raise ValueError(f"unknown arrival streams: {sorted(unknown)}")
        chosen = [a for a in chosen if a.name in wanted]
    return chosen


def _batch_mean(arr: PoissonArrivals) -> float:
    if arr.batch is None:
        return 1.0
    return float(np.dot(arr.batch.values, arr.batch.probabilities()))


def _poisson_cumulative(arr: PoissonArrivals, spec: FlowSpec, t: np.ndarray) -> np.ndarray:
    """Expected arrival *events* of ``arr`` in (0, t] (t in time_unit, array)."""
    mpu = spec.time_unit.minutes_per_unit
    if arr.rate is not None:
        return np.asarray(arr.rate * t, dtype=float)
    assert arr.profile is not None
    table = np.asarray(arr.profile.hourly_table(), dtype=float)
    per_minute = table / arr.profile.per.minutes_per_unit
    hour_mass = 60.0 * per_minute
    before = np.concatenate(([0.0], np.cumsum(hour_mass)))  # mass from Monday 00:00 to hour h
    week = before[-1]

    def mass_to(minutes: np.ndarray) -> np.ndarray:
        weeks, rest = np.divmod(minutes, MINUTES_PER_WEEK)
        hour = np.minimum((rest // 60.0).astype(int), 167)
        return np.asarray(weeks * week + before[hour] + (rest - 60.0 * hour) * per_minute[hour])

    start = spec.start.minutes_of_week()
    return np.asarray(mass_to(start + t * mpu) - mass_to(np.asarray(start)), dtype=float)


def _scheduled_cumulative(arr: ScheduledArrivals, spec: FlowSpec, t: np.ndarray) -> np.ndarray:
    """Entities of ``arr`` arriving in [0, t) (slots at 0 arrive; slots at t do not)."""
    mpu = spec.time_unit.minutes_per_unit
    start = spec.start.minutes_of_week()
    out = np.zeros_like(t)
    for slot in arr.slots:
        for m in slot.minutes_of_week():
            first = ((m - start) % MINUTES_PER_WEEK) / mpu  # model time of the first occurrence
            period = MINUTES_PER_WEEK / mpu
            n = np.where(t > first, np.ceil((t - first) / period), 0.0)
            out = out + slot.count * n
    return out


def expected_arrivals_by_time(
    spec: FlowSpec, t: npt.ArrayLike, streams: Iterable[str] | None = None
) -> np.ndarray:
    """Expected number of entities arriving from time 0 up to each ``t`` (time_unit).

    Poisson streams count batches by their mean size; scheduled streams count their slots in
    ``[0, t)``. ``streams`` restricts the sum to some arrival streams (by name).
    """
    x = np.asarray(t, dtype=float)
    total = np.zeros_like(x)
    for arr in _streams(spec, streams):
        if isinstance(arr, PoissonArrivals):
            total = total + _batch_mean(arr) * _poisson_cumulative(arr, spec, x)
        else:
            total = total + _scheduled_cumulative(arr, spec, x)
    return total


def expected_arrivals(
    spec: FlowSpec,
    start: float = 0.0,
    end: float | None = None,
    streams: Iterable[str] | None = None,
) -> float:
    """Expected number of entities arriving in ``[start, end]`` (time_unit; ``end`` defaults
    to the spec's horizon): the integral of the rate tables, times mean batch sizes."""
    stop = spec.horizon if end is None else end
    vals = expected_arrivals_by_time(spec, np.array([start, stop]), streams)
    return float(vals[1] - vals[0])


def delay_occupancy(
    spec: FlowSpec,
    delay: float,
    edges: npt.ArrayLike,
    streams: Iterable[str] | None = None,
) -> np.ndarray:
    """Mean number present, averaged over each bin ``[edges[k], edges[k+1])``, at a pure-delay
    station where every entity stays exactly ``delay`` (time_unit) and that is fed by Poisson
    ``streams`` (all of them by default) from an empty start at time 0.

    The number present at ``t`` counts the arrivals in ``(t - delay, t]``, so its mean is
    ``Lambda(t) - Lambda(max(t - delay, 0))``: piecewise linear, integrated exactly with the
    trapezoid rule on a grid holding every break point.
    """
    chosen = _streams(spec, streams)
    if any(not isinstance(a, PoissonArrivals) for a in chosen):
        raise ValueError("delay_occupancy needs Poisson streams (scheduled ones are not smooth)")
    names = [a.name for a in chosen]
    e = np.asarray(edges, dtype=float)
    if e.ndim != 1 or e.size < 2 or np.any(np.diff(e) <= 0) or e[0] < 0:
        raise ValueError("edges must be increasing, non-negative, at least two")
    if delay < 0:
        raise ValueError("delay must be non-negative")
    hour = 60.0 / spec.time_unit.minutes_per_unit  # one clock hour in time_unit
    offset = (spec.start.minutes_of_week() % 60.0) / spec.time_unit.minutes_per_unit
    first = -offset
    knots = first + hour * np.arange(0, int(np.ceil((e[-1] - first) / hour)) + 2)
    grid = np.concatenate((e, knots, knots + delay, [delay]))
    grid = np.unique(grid[(grid >= e[0]) & (grid <= e[-1])])

    def present(t: np.ndarray) -> np.ndarray:
        cum = expected_arrivals_by_time(spec, t, names)
        cum_old = expected_arrivals_by_time(spec, np.maximum(t - delay, 0.0), names)
        return np.asarray(cum - cum_old)

    m = present(grid)
    area = np.concatenate(([0.0], np.cumsum(0.5 * (m[1:] + m[:-1]) * np.diff(grid))))
    at_edges = np.interp(e, grid, area)
    return np.asarray(np.diff(at_edges) / np.diff(e))
