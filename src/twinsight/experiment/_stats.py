"""Output analysis: t confidence intervals, MSER-5 warm-up, replications for a precision."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["Interval", "mser5", "replications_needed", "t_interval"]


@dataclass(frozen=True)
class Interval:
    """A t-based confidence interval of a mean over replications (NaN replications dropped)."""

    mean: float
    half_width: float
    sd: float
    n: int
    confidence: float

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the interval."""
        return self.low <= value <= self.high


def t_interval(values: np.ndarray | list[float], confidence: float = 0.95) -> Interval:
    """Student-t interval for the mean of independent replication values.

    With one usable value the half-width is infinite; with none the mean is NaN.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = int(x.size)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, confidence)
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, math.inf, math.nan, 1, confidence)
    sd = float(x.std(ddof=1))
    t = float(stats.t.ppf(0.5 + confidence / 2.0, n - 1))
    return Interval(mean, t * sd / math.sqrt(n), sd, n, confidence)


def mser5(series: np.ndarray | list[float]) -> int:
    """MSER-5 warm-up: how many leading observations of ``series`` to delete.

    The series is grouped into batch means of 5; for each truncation point ``d`` (in batches) over
    the first half, MSER(d) = var(remaining batch means) / (number remaining); the ``d`` minimising
    it is chosen (White, 1997; Hoad, Robinson & Davies, 2010). Returns ``5 * d`` observations.
    """
    x = np.asarray(series, dtype=float)
    k = x.size // 5
    if k < 2:
        return 0
    batches = x[: 5 * k].reshape(k, 5).mean(axis=1)
    best_d, best = 0, math.inf
    for d in range(k // 2 + 1):
        rest = batches[d:]
        stat = float(((rest - rest.mean()) ** 2).sum()) / rest.size**2
        if stat < best:
            best_d, best = d, stat
    return 5 * best_d


def replications_needed(
    values: np.ndarray | list[float],
    half_width: float,
    confidence: float = 0.95,
    relative: bool = False,
) -> int:
    """Replications needed for a t-interval of at most ``half_width`` (Law & Kelton, 2000).

    From a pilot sample ``values``: the least n >= len(values) with t_{n-1} s / sqrt(n) <= target,
    where s is the pilot standard deviation. With ``relative``, the target is
    ``half_width * |mean|``.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size < 2:
        raise ValueError("need at least two pilot replications to estimate the variance")
    if half_width <= 0:
        raise ValueError("half_width must be > 0")
    s = float(x.std(ddof=1))
    target = half_width * abs(float(x.mean())) if relative else half_width
    if target <= 0:
        raise ValueError("a relative half-width needs a non-zero pilot mean")
    # t_{n-1} > z, so the normal-theory size is a lower bound to start the search from
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    n = max(int(x.size), math.ceil((z * s / target) ** 2))
    while float(stats.t.ppf(0.5 + confidence / 2.0, n - 1)) * s / math.sqrt(n) > target:
        n += 1
    return n
