"""Statistics of one replication: time averages and every observation, kept in plain lists.

Event-based figures count events at ``t >= warmup``; time averages integrate over
``[warmup, horizon]``; occupancy series integrate over ``[0, horizon)`` in bins of
``kpis.interval`` (docs/semantics.md, "Statistics"). All times are in the spec's time_unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ...spec import FlowSpec
from .._kpi import percentile_label

__all__ = ["Collector", "StationTally", "TimeWeighted"]

NAN = math.nan


class TimeWeighted:
    """A piecewise-constant level (a count, an amount in use) integrated over model time.

    ``area`` integrates the level over ``[warmup, now]``; ``bins`` (when ``interval`` is set)
    integrate it over consecutive bins of width ``interval`` covering ``[0, horizon)``.
    """

    def __init__(self, warmup: float, horizon: float, interval: float | None = None) -> None:
        self.warmup = warmup
        self.horizon = horizon
        self.interval = interval
        self.level = 0.0
        self.last = 0.0
        self.area = 0.0
        n_bins = 0 if interval is None else math.ceil(horizon / interval)
        self.bins = [0.0] * n_bins

    def set(self, t: float, level: float) -> None:
        """The level becomes ``level`` at time ``t`` (t never decreases)."""
        self._advance(t)
        self.level = level

    def add(self, t: float, delta: float) -> None:
        """The level changes by ``delta`` at time ``t``."""
        self.set(t, self.level + delta)

    def close(self) -> None:
        """Integrate up to the horizon (end of the run)."""
        self._advance(self.horizon)

    def mean(self) -> float:
        """Time average over ``[warmup, horizon]`` (call :meth:`close` first)."""
        return self.area / (self.horizon - self.warmup)

    def series(self) -> np.ndarray:
        """Time average in each bin (the last bin may be shorter: averaged over its length)."""
        assert self.interval is not None
        width = self.interval
        lengths = [min((k + 1) * width, self.horizon) - k * width for k in range(len(self.bins))]
        return np.array([a / n for a, n in zip(self.bins, lengths, strict=True)])

    def _advance(self, t: float) -> None:
        t = min(t, self.horizon)
        if t <= self.last:
            return
        if self.level != 0.0:
            start = max(self.last, self.warmup)
            if t > start:
                self.area += self.level * (t - start)
            if self.interval is not None:
                self._fill_bins(self.last, t)
        self.last = t

    def _fill_bins(self, a: float, b: float) -> None:
        assert self.interval is not None
        k = int(a // self.interval)
        while a < b and k < len(self.bins):
            end = max(a, min((k + 1) * self.interval, b))
            self.bins[k] += self.level * (end - a)
            a = end
            k += 1


@dataclass
class StationTally:
    """Event-based observations at one station (events at ``t >= warmup`` only)."""

    waits: list[float] = field(default_factory=list)
    held: list[float] = field(default_factory=list)
    served: int = 0
    abandoned: int = 0
    balked: int = 0
    diverted: int = 0


@dataclass
class ClassTally:
    """Event-based observations of one entity class (class at departure or reneging)."""

    times_in_system: list[float] = field(default_factory=list)
    departures: int = 0
    abandoned: int = 0


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else NAN


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else NAN


def _share_within(values: list[float], target: float) -> float:
    return sum(1 for v in values if v <= target) / len(values) if values else NAN


class Collector:
    """Every statistic of one replication; :meth:`kpis` turns them into the KPI dict."""

    def __init__(self, spec: FlowSpec, warmup: float, horizon: float) -> None:
        self.spec = spec
        self.warmup = warmup
        self.horizon = horizon
        interval = spec.kpis.interval
        self.stations = {s: StationTally() for s in spec.station_names()}
        self.classes = {c: ClassTally() for c in spec.class_names()}
        self.arrivals = 0
        #: duration of every journey that ended at t >= warmup, by journey name
        self.journeys: dict[str, list[float]] = {j: [] for j in spec.kpis.journeys}
        #: number waiting at each station (queue_mean, and the queue series)
        self.waiting = {s: TimeWeighted(warmup, horizon, interval) for s in spec.station_names()}
        #: number at each station: waiting, in service, held after service (also the series)
        self.present = {s: TimeWeighted(warmup, horizon, interval) for s in spec.station_names()}
        self.in_use = {r: TimeWeighted(warmup, horizon) for r in spec.resource_names()}
        self.capacity = {r: TimeWeighted(warmup, horizon) for r in spec.resource_names()}

    def counts(self, t: float) -> bool:
        """Whether an event at ``t`` falls in the statistics window ``[warmup, horizon]``."""
        return t >= self.warmup

    # ----- event-based observations ------------------------------------------------------------
    def arrival(self, t: float) -> None:
        """An external arrival (whether it joins or balks)."""
        if self.counts(t):
            self.arrivals += 1

    def service_start(self, t: float, station: str, wait: float) -> None:
        """Service starts at ``station`` after waiting ``wait``."""
        if self.counts(t):
            self.stations[station].waits.append(wait)

    def service_end(self, t: float, station: str) -> None:
        """A service completion at ``station``."""
        if self.counts(t):
            self.stations[station].served += 1

    def left_after_service(self, t: float, station: str, held: float) -> None:
        """An entity leaves ``station`` ``held`` after its service ended."""
        if self.counts(t):
            self.stations[station].held.append(held)

    def departure(self, t: float, cls: str, time_in_system: float) -> None:
        """An entity of class ``cls`` leaves the system by ``exit``."""
        if self.counts(t):
            self.classes[cls].departures += 1
            self.classes[cls].times_in_system.append(time_in_system)

    def reneged(self, t: float, station: str, cls: str) -> None:
        """An entity of class ``cls`` abandons the queue of ``station``."""
        if self.counts(t):
            self.stations[station].abandoned += 1
            self.classes[cls].abandoned += 1

    def diverted(self, t: float, station: str) -> None:
        """A waiting entity accepts the ``on_wait`` offer of ``station`` and leaves its queue."""
        if self.counts(t):
            self.stations[station].diverted += 1

    def journey(self, t: float, name: str, duration: float) -> None:
        """Journey ``name`` ends at ``t`` (departure from its ``to`` station) after ``duration``."""
        if self.counts(t):
            self.journeys[name].append(duration)

    def balked(self, t: float, station: str) -> None:
        """An entity is lost at full ``station`` (external balk or non-blocking routing)."""
        if self.counts(t):
            self.stations[station].balked += 1

    # ----- results -----------------------------------------------------------------------------
    def close(self) -> None:
        """Integrate every level up to the horizon."""
        for levels in (self.waiting, self.present, self.in_use, self.capacity):
            for level in levels.values():
                level.close()

    def kpis(self) -> dict[str, float]:
        """The scalar KPIs, same keys as :func:`twinsight.engines.kpi_names` (NaN if undefined)."""
        spec = self.spec
        qs = spec.kpis.percentiles
        out: dict[str, float] = {}
        all_waits: list[float] = []
        target_hits: list[bool] = []
        for s, tally in self.stations.items():
            out[f"wait_mean[{s}]"] = _mean(tally.waits)
            for q in qs:
                out[f"wait_{percentile_label(q)}[{s}]"] = _percentile(tally.waits, q)
            target = spec.wait_target_for(s)
            if target is not None:
                out[f"wait_within_target[{s}]"] = _share_within(tally.waits, target)
                target_hits += [w <= target for w in tally.waits]
            out[f"queue_mean[{s}]"] = self.waiting[s].mean()
            out[f"in_station_mean[{s}]"] = self.present[s].mean()
            out[f"held_mean[{s}]"] = _mean(tally.held)
            out[f"served[{s}]"] = float(tally.served)
            out[f"abandoned[{s}]"] = float(tally.abandoned)
            out[f"balked[{s}]"] = float(tally.balked)
            if spec.stations[s].on_wait is not None:
                out[f"diverted[{s}]"] = float(tally.diverted)
            all_waits += tally.waits
        for r in spec.resource_names():
            used, offered = self.in_use[r].area, self.capacity[r].area
            out[f"utilisation[{r}]"] = used / offered if offered > 0 else NAN
            out[f"in_use_mean[{r}]"] = self.in_use[r].mean()
        all_times: list[float] = []
        for c, ctally in self.classes.items():
            out[f"time_in_system_mean[{c}]"] = _mean(ctally.times_in_system)
            for q in qs:
                out[f"time_in_system_{percentile_label(q)}[{c}]"] = _percentile(
                    ctally.times_in_system, q
                )
            out[f"departures[{c}]"] = float(ctally.departures)
            out[f"abandoned[{c}]"] = float(ctally.abandoned)
            all_times += ctally.times_in_system
        out["wait_mean"] = _mean(all_waits)
        if any(spec.wait_target_for(s) is not None for s in spec.station_names()):
            out["wait_within_target"] = sum(target_hits) / len(target_hits) if target_hits else NAN
        out["time_in_system_mean"] = _mean(all_times)
        for q in qs:
            out[f"time_in_system_{percentile_label(q)}"] = _percentile(all_times, q)
        departures = sum(t.departures for t in self.classes.values())
        abandoned = sum(t.abandoned for t in self.stations.values())
        balked = sum(t.balked for t in self.stations.values())
        out["arrivals"] = float(self.arrivals)
        out["departures"] = float(departures)
        out["abandoned"] = float(abandoned)
        out["balked"] = float(balked)
        out["throughput"] = departures / (self.horizon - self.warmup)
        leaving = departures + abandoned + balked
        out["abandon_share"] = abandoned / leaving if leaving > 0 else NAN
        for name, jr in spec.kpis.journeys.items():
            times = self.journeys[name]
            out[f"journey_mean[{name}]"] = _mean(times)
            for q in qs:
                out[f"journey_{percentile_label(q)}[{name}]"] = _percentile(times, q)
            if jr.target is not None:
                out[f"journey_within_target[{name}]"] = _share_within(times, jr.target)
            out[f"journey_count[{name}]"] = float(len(times))
        return out

    def series(self) -> dict[str, np.ndarray]:
        """``occupancy[<station>]`` and ``queue[<station>]`` per bin when ``kpis.interval`` is
        set, else nothing."""
        if self.spec.kpis.interval is None:
            return {}
        out = {f"occupancy[{s}]": level.series() for s, level in self.present.items()}
        out.update({f"queue[{s}]": level.series() for s, level in self.waiting.items()})
        return out
