"""Confidence intervals for proportions (Wilson) and Poisson counts (Garwood, exact)."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = ["poisson_interval", "wilson"]


def wilson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion ``k / n`` at ``level`` ((0, 1) when ``n`` is 0)."""
    if n <= 0:
        return (0.0, 1.0)
    z = float(stats.norm.ppf(0.5 + level / 2))
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, centre - half), min(1.0, centre + half))


def poisson_interval(
    counts: np.ndarray, exposure: np.ndarray, level: float, dispersion: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval of a Poisson rate ``counts / exposure`` at ``level``.

    With ``dispersion`` phi > 1 (quasi-Poisson) the count is treated as ``counts / phi``
    observations over ``exposure / phi``: the same rate, an interval about sqrt(phi) wider.
    """
    n = np.asarray(counts, dtype=float) / dispersion
    t = np.asarray(exposure, dtype=float) / dispersion
    alpha = 1 - level
    lo = np.where(n > 0, stats.gamma.ppf(alpha / 2, np.maximum(n, 1e-12)), 0.0)
    hi = stats.gamma.ppf(1 - alpha / 2, n + 1)
    return np.asarray(lo / t, dtype=float), np.asarray(hi / t, dtype=float)
