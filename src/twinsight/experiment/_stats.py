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
    """MSER-5 truncation point: how many leading raw observations to delete as warm-up.

    The series (one output per period, e.g. occupancy per interval, averaged over pilot
    replications) is cut into batches of 5 (a trailing partial batch is dropped). For each
    candidate ``d`` batches deleted, ``MSER(d) = sum_{i > d} (Z_i - mean_{>d})^2 / (b - d)^2``
    over the remaining ``b - d`` batch means ``Z_i``; the ``d`` that minimises it over the first
    half (``d <= b / 2``; White, Cobb and Spratt 2000) is returned as ``5 d`` raw observations.
    A minimum at the half-way limit means the run is too short to clear the transient.
    """
    x = np.asarray(series, dtype=float)
    if x.ndim != 1:
        raise ValueError("mser5 needs a one-dimensional series")
    if np.isnan(x).any():
        raise ValueError("mser5 needs a series without NaN")
    b = x.size // 5
    if b < 2:
        raise ValueError(f"mser5 needs at least 10 observations, got {x.size}")
    z = x[: 5 * b].reshape(b, 5).mean(axis=1)
    # suffix sums: remaining after deleting d batches, for d = 0 .. b-1
    s1 = np.cumsum(z[::-1])[::-1]
    s2 = np.cumsum((z * z)[::-1])[::-1]
    m = b - np.arange(b)
    sse = np.maximum(s2 - s1 * s1 / m, 0.0)  # sum of squared deviations about the mean
    stat = sse / (m * m)
    d = int(np.argmin(stat[: b // 2 + 1]))
    return 5 * d


def replications_needed(
    values: np.ndarray | list[float],
    half_width: float,
    confidence: float = 0.95,
    relative: bool = False,
) -> int:
    """Replications needed for a t interval of the mean no wider than ``half_width``.

    ``values`` are the pilot replications (n0 >= 2, NaN dropped). The rule (Law & Kelton,
    *Simulation Modeling and Analysis*, sec. 9.4.1) keeps the pilot variance ``s^2`` and returns
    ``n* = min { n >= n0 : t_{n-1, (1+confidence)/2} s / sqrt(n) <= target }``. With
    ``relative=False`` the target is ``half_width`` (in the KPI's unit); with ``relative=True``
    it is ``half_width * |pilot mean|`` (0.05: a half-width of 5 % of the mean, as the interval
    is reported). Law & Kelton's bound on the realised relative error ``|mean - mu| / |mu| <=
    gamma`` corresponds to ``half_width = gamma / (1 + gamma)``.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n0 = int(x.size)
    if n0 < 2:
        raise ValueError("need at least two pilot replications to estimate the variance")
    if not 0 < confidence < 1:
        raise ValueError("confidence must lie in (0, 1)")
    if half_width <= 0:
        raise ValueError("half_width must be positive")
    s = float(x.std(ddof=1))
    if relative:
        mean = float(x.mean())
        if mean == 0:
            raise ValueError("a relative half-width needs a non-zero mean")
        target = half_width * abs(mean)
    else:
        target = half_width
    if s == 0:
        return n0
    q = 0.5 + confidence / 2.0

    def ok(n: int) -> bool:
        return float(stats.t.ppf(q, n - 1)) * s / math.sqrt(n) <= target

    if ok(n0):
        return n0
    # the half-width decreases in n: grow an upper bound, then bisect
    lo, hi = n0, 2 * n0
    while not ok(hi):
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi
