"""Shared pieces of the flow benchmark: per-replication results, intervals, the wall clock of a
spec, samplers built from spec distributions, and Erlang C.

The hand-written SimPy and Ciw models use these helpers (and nothing from Twinsight's engines),
so that they are independent implementations of the same model.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from scipy import stats

from twinsight.spec import (
    MINUTES_PER_DAY,
    MINUTES_PER_WEEK,
    Distribution,
    Exponential,
    FlowSpec,
    Gamma,
    Lognormal,
    PoissonArrivals,
    Resource,
    ScheduledArrivals,
    TimeWindow,
    Triangular,
    Uniform,
    gamma_params,
    lognormal_params,
)

__all__ = [
    "Block",
    "Interval",
    "RepStats",
    "ToolRun",
    "WallClock",
    "erlang_c",
    "interval",
    "sampler",
]


@dataclass
class RepStats:
    """What one replication of a hand-written model measured (over ``[warmup, horizon]``).

    ``entities``: entities that left the system in the window (by exit, reneging or balking),
    the same count as Twinsight's ``departures + abandoned + balked``.
    ``stats``: key statistics by name (``wait_mean[counter]`` and so on).
    """

    entities: int
    stats: dict[str, float]


@dataclass(frozen=True)
class Interval:
    """A Student-t confidence interval of a mean over replications."""

    mean: float
    half_width: float
    n: int

    @property
    def se(self) -> float:
        """Standard error implied by the half-width (95% two-sided t)."""
        if self.n < 2 or not math.isfinite(self.half_width):
            return math.inf
        return self.half_width / float(stats.t.ppf(0.975, self.n - 1))

    def text(self, digits: int = 4) -> str:
        """``mean ± half-width``."""
        if not math.isfinite(self.mean):
            return "n/a"
        return f"{self.mean:.{digits}f} ± {self.half_width:.{digits}f}"


def interval(values: list[float], confidence: float = 0.95) -> Interval:
    """The t interval of the mean of independent replication values (NaNs dropped)."""
    xs = [v for v in values if math.isfinite(v)]
    n = len(xs)
    if n == 0:
        return Interval(math.nan, math.nan, 0)
    mean = sum(xs) / n
    if n == 1:
        return Interval(mean, math.inf, 1)
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    t = float(stats.t.ppf(0.5 + confidence / 2.0, n - 1))
    return Interval(mean, t * sd / math.sqrt(n), n)


@dataclass
class Block:
    """One timed block of replications of one tool: wall and CPU seconds, entities that left
    the system, and each key statistic per replication."""

    wall_s: float
    cpu_s: float
    entities: int
    stats: dict[str, list[float]]


@dataclass
class ToolRun:
    """One tool on one model: wall time, entities, the key statistics' intervals, notes.

    ``block_rates``: entities per wall second of each timed block (the tools' blocks run
    interleaved); :attr:`entities_per_s` is the best of them.
    """

    tool: str
    wall_s: float
    entities: int
    reps: int
    intervals: dict[str, Interval] = field(default_factory=dict)
    note: str = ""
    ok: bool = True
    cpu_s: float = math.nan
    block_rates: list[float] = field(default_factory=list)

    @classmethod
    def from_blocks(cls, tool: str, blocks: list[Block], stats: list[str]) -> ToolRun:
        """Pool the blocks of one tool: totals, block rates, intervals over all replications."""
        per_rep = {k: [v for b in blocks for v in b.stats[k]] for k in stats}
        return cls(
            tool,
            wall_s=sum(b.wall_s for b in blocks),
            entities=sum(b.entities for b in blocks),
            reps=len(per_rep[stats[0]]) if stats else 0,
            intervals={k: interval(v) for k, v in per_rep.items()},
            cpu_s=sum(b.cpu_s for b in blocks),
            block_rates=[b.entities / b.wall_s for b in blocks if b.wall_s > 0],
        )

    @property
    def entities_per_s(self) -> float:
        """Entities completed per second of wall time: the best block (the one least disturbed
        by other processes), or the whole run when there are no blocks."""
        if self.block_rates:
            return max(self.block_rates)
        return self.entities / self.wall_s if self.wall_s > 0 else math.nan

    @property
    def entities_per_cpu_s(self) -> float:
        """Entities completed per CPU second of this process (all its threads): robust to
        other processes competing for the core, unlike the wall-clock rate."""
        return self.entities / self.cpu_s if self.cpu_s > 0 else math.nan

    @property
    def busy_share(self) -> float:
        """CPU seconds of this process per wall second (about 1 for one core on an idle
        machine; well below 1 when other processes took the core)."""
        return self.cpu_s / self.wall_s if self.wall_s > 0 else math.nan


def sampler(dist: Distribution, rng: random.Random) -> Callable[[], float]:
    """A no-argument function drawing from a spec distribution with Python's ``random``.

    This is how a SimPy user samples: ``rng.expovariate``, ``rng.lognormvariate`` and friends.
    """
    if isinstance(dist, Exponential):
        rate = 1.0 / dist.mean
        return lambda: rng.expovariate(rate)
    if isinstance(dist, Lognormal):
        mu, sigma = lognormal_params(dist.mean, dist.sd)
        return lambda: rng.lognormvariate(mu, sigma)
    if isinstance(dist, Gamma):
        k, theta = gamma_params(dist.mean, dist.sd)
        return lambda: rng.gammavariate(k, theta)
    if isinstance(dist, Triangular):
        lo, mode, hi = dist.min, dist.mode, dist.max
        return lambda: rng.triangular(lo, hi, mode)
    if isinstance(dist, Uniform):
        a, b = dist.min, dist.max
        return lambda: rng.uniform(a, b)
    raise ValueError(f"the hand-written benchmark models do not sample {type(dist).__name__}")


class WallClock:
    """The wall clock of a spec in model time (weekday and time of day), written independently
    of Twinsight's engines (see docs/semantics.md, "Time")."""

    def __init__(self, spec: FlowSpec) -> None:
        self.mpu = spec.time_unit.minutes_per_unit
        self.start = spec.start.minutes_of_week()
        self.spec = spec

    def next_at(self, t: float, minute: float, period: float) -> float:
        """First model time >= ``t`` whose wall clock reads ``minute`` in a ``period`` cycle."""
        now = (self.start + t * self.mpu) % period
        return t + ((minute - now) % period) / self.mpu

    def rate_table(self, arr: PoissonArrivals) -> list[float]:
        """168 arrival rates per time_unit, hour of week 0 = Monday 00:00-01:00."""
        if arr.profile is None:
            assert arr.rate is not None
            return [float(arr.rate)] * 168
        scale = self.mpu / arr.profile.per.minutes_per_unit
        return [r * scale for r in arr.profile.hourly_table()]

    def hour_of_week(self, t: float) -> int:
        """Index (0..167) of the wall-clock hour of week at model time ``t``."""
        return int(((self.start + t * self.mpu) % MINUTES_PER_WEEK) // 60.0) % 168

    def scheduled(self, arr: ScheduledArrivals, horizon: float) -> list[tuple[float, int]]:
        """(time, count) of every scheduled arrival in ``[0, horizon)``, in time order."""
        week = MINUTES_PER_WEEK / self.mpu
        out: list[tuple[float, int]] = []
        for slot in arr.slots:
            for mow in slot.minutes_of_week():
                t = self.next_at(0.0, mow, MINUTES_PER_WEEK)
                while t < horizon:
                    out.append((t, slot.count))
                    t += week
        return sorted(out, key=lambda x: x[0])

    def capacity_steps(self, res: Resource, horizon: float) -> list[tuple[float, int]]:
        """(time, capacity) changes in ``[0, horizon)``, starting with the capacity at 0."""
        if res.schedule is None:
            assert res.capacity is not None
            return [(0.0, res.capacity)]
        period = MINUTES_PER_DAY if res.schedule.repeat == "day" else MINUTES_PER_WEEK
        marks = res.schedule.step_minutes()
        caps = [s.capacity for s in res.schedule.steps]
        now = self.start % period
        first = max((i for i, m in enumerate(marks) if m <= now), default=len(marks) - 1)
        steps: list[tuple[float, int]] = []
        for m, c in zip(marks, caps, strict=True):
            t = self.next_at(0.0, m, period)
            if t == 0.0:
                t += period / self.mpu
            while t < horizon:
                steps.append((t, c))
                t += period / self.mpu
        return [(0.0, caps[first]), *sorted(steps, key=lambda x: x[0])]

    def until_open(self, t: float, window: TimeWindow) -> float:
        """Time from ``t`` until the daily window is open (0 when it is open now)."""
        a, b = window.minutes()
        m = (self.start + t * self.mpu) % MINUTES_PER_DAY
        inside = a <= m < b if a < b else (m >= a or m < b)
        return 0.0 if inside else ((a - m) % MINUTES_PER_DAY) / self.mpu


def erlang_c(lam: float, mu: float, c: int) -> tuple[float, float]:
    """(P(wait), mean wait in queue) of an M/M/c queue with arrival rate ``lam``, service rate
    ``mu`` per server and ``c`` servers."""
    a = lam / mu
    rho = a / c
    if rho >= 1:
        return 1.0, math.inf
    head = sum(a**k / math.factorial(k) for k in range(c))
    tail = a**c / (math.factorial(c) * (1 - rho))
    p_wait = tail / (head + tail)
    return p_wait, p_wait / (c * mu - lam)
