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
