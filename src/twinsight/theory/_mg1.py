"""The M/G/1 queue (Pollaczek-Khinchine) and the moments of the spec's service distributions."""

from __future__ import annotations

import math

from scipy import stats

from ..spec import (
    Distribution,
    Empirical,
    Exponential,
    Fixed,
    Gamma,
    Lognormal,
    Normal,
    Triangular,
    Uniform,
    Weibull,
)
from ._metrics import QueueMetrics

__all__ = ["distribution_moments", "mg1"]


def distribution_moments(dist: Distribution) -> tuple[float, float]:
    """Mean and variance of a spec distribution (time_unit and time_unit squared).

    The normal is the spec's one, truncated below at ``min`` (redrawn until >= min).
    """
    if isinstance(dist, Exponential):
        return dist.mean, dist.mean**2
    if isinstance(dist, Lognormal | Gamma):
        return dist.mean, dist.sd**2
    if isinstance(dist, Weibull):
        g1 = math.gamma(1.0 + 1.0 / dist.shape)
        g2 = math.gamma(1.0 + 2.0 / dist.shape)
        return dist.scale * g1, dist.scale**2 * (g2 - g1 * g1)
    if isinstance(dist, Normal):
        a = (dist.min - dist.mean) / dist.sd
        m, v = stats.truncnorm.stats(a, math.inf, loc=dist.mean, scale=dist.sd, moments="mv")
        return float(m), float(v)
    if isinstance(dist, Triangular):
        lo, mo, hi = dist.min, dist.mode, dist.max
        var = (lo * lo + mo * mo + hi * hi - lo * mo - lo * hi - mo * hi) / 18.0
        return (lo + mo + hi) / 3.0, var
    if isinstance(dist, Uniform):
        return 0.5 * (dist.min + dist.max), (dist.max - dist.min) ** 2 / 12.0
    if isinstance(dist, Fixed):
        return dist.value, 0.0
    if isinstance(dist, Empirical):
        n = len(dist.values)
        mean = sum(dist.values) / n
        return mean, sum((x - mean) ** 2 for x in dist.values) / n
    raise TypeError(f"no moments known for {type(dist).__name__}")  # pragma: no cover


def mg1(arrival_rate: float, service_mean: float, service_sd: float) -> QueueMetrics:
    """Exact mean steady state of the M/G/1 FIFO queue (Pollaczek-Khinchine).

    ``arrival_rate`` lambda per time unit; ``service_mean`` E[S] and ``service_sd`` in the time
    unit; needs rho = lambda E[S] < 1. ``wait_mean`` Wq = lambda E[S^2] / (2 (1 - rho)) with
    E[S^2] = sd^2 + E[S]^2; W = Wq + E[S]; Lq = lambda Wq; L = lambda W; P(wait) = rho.
    """
    if arrival_rate <= 0 or service_mean <= 0 or service_sd < 0:
        raise ValueError("need arrival_rate > 0, service_mean > 0 and service_sd >= 0")
    rho = arrival_rate * service_mean
    if rho >= 1:
        raise ValueError(f"the M/G/1 queue is unstable: rho = {rho:g} >= 1")
    second = service_sd**2 + service_mean**2
    wq = arrival_rate * second / (2.0 * (1.0 - rho))
    w = wq + service_mean
    return QueueMetrics(
        arrival_rate=arrival_rate,
        service_rate=1.0 / service_mean,
        servers=1,
        utilisation=rho,
        p_wait=rho,
        wait_mean=wq,
        sojourn_mean=w,
        queue_mean=arrival_rate * wq,
        in_system_mean=arrival_rate * w,
    )
