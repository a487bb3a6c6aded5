"""Random draws for the reference engine: durations, batch sizes, class mixes, routing rows.

Every draw takes the NumPy generator of its source explicitly (see docs/semantics.md, "Random
numbers"), so which stream feeds which decision is visible at each call site.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...experiment.streams import stream_seed
from ...spec import (
    BatchSize,
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
    gamma_params,
    lognormal_params,
)

__all__ = ["draw_batch", "draw_duration", "draw_index", "make_stream"]


def make_stream(seed: int, rep: int, source: str) -> np.random.Generator:
    """The PCG64 generator of ``source`` (``service:triage``...) in replication ``rep``."""
    return np.random.Generator(np.random.PCG64(stream_seed(seed, rep, source)))


def draw_duration(dist: Distribution, rng: np.random.Generator) -> float:
    """One duration (time_unit) from ``dist``.

    Lognormal and gamma are given by mean and sd and converted to their native parameters;
    the normal is truncated below at ``min`` by redrawing; fixed draws no random number.
    """
    if isinstance(dist, Exponential):
        return float(rng.exponential(dist.mean))
    if isinstance(dist, Lognormal):
        mu, sigma = lognormal_params(dist.mean, dist.sd)
        return float(rng.lognormal(mu, sigma))
    if isinstance(dist, Gamma):
        shape, scale = gamma_params(dist.mean, dist.sd)
        return float(rng.gamma(shape, scale))
    if isinstance(dist, Weibull):
        return float(dist.scale * rng.weibull(dist.shape))
    if isinstance(dist, Normal):
        while True:
            x = float(rng.normal(dist.mean, dist.sd))
            if x >= dist.min:
                return x
    if isinstance(dist, Triangular):
        return float(rng.triangular(dist.min, dist.mode, dist.max))
    if isinstance(dist, Uniform):
        return float(rng.uniform(dist.min, dist.max))
    if isinstance(dist, Fixed):
        return float(dist.value)
    if isinstance(dist, Empirical):
        return float(dist.values[int(rng.integers(len(dist.values)))])
    raise TypeError(f"unknown distribution {dist!r}")  # pragma: no cover - the spec forbids it


def draw_index(probabilities: Sequence[float], rng: np.random.Generator) -> int:
    """Index ``i`` drawn with probability ``probabilities[i]`` (one uniform, inverse CDF).

    A single option draws no random number. Rounding slack at the top goes to the last option
    with a positive probability.
    """
    if len(probabilities) == 1:
        return 0
    u = float(rng.random())
    cumulative = 0.0
    for i, p in enumerate(probabilities):
        cumulative += p
        if u < cumulative:
            return i
    return max(i for i, p in enumerate(probabilities) if p > 0)


def draw_batch(batch: BatchSize | None, rng: np.random.Generator) -> int:
    """Number of entities in one arrival event (1 without a batch distribution)."""
    if batch is None:
        return 1
    return batch.values[draw_index(batch.probabilities(), rng)]
