"""Count-noise models: the log-likelihood of observed daily counts given the model's means.

``poisson``: ``y ~ Poisson(mu)``. ``negbin``: ``y ~ NegBin(mean mu, dispersion k)`` with
variance ``mu + mu^2 / k`` (Poisson as ``k -> inf``): the usual choice for admissions, whose
day-to-day spread exceeds Poisson's. Missing days are NaN and contribute nothing (a gap is
never filled in). Means are floored at ``1e-9`` so a zero mean with a positive count gives a
very low, finite log-likelihood rather than ``-inf``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.special import gammaln

__all__ = ["Noise", "loglik", "negbin_loglik", "poisson_loglik", "sample_counts"]

Noise = Literal["poisson", "negbin"]
_FLOOR = 1e-9


def poisson_loglik(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Sum over the last axis of ``log P(y | Poisson(mu))``, NaN days skipped."""
    y = np.asarray(y, dtype=float)
    ok = ~np.isnan(y)
    yy = np.where(ok, y, 0.0)
    m = np.maximum(np.asarray(mu, dtype=float), _FLOOR)
    terms = yy * np.log(m) - m - gammaln(yy + 1.0)
    return np.asarray(np.where(ok, terms, 0.0).sum(axis=-1))


def negbin_loglik(y: np.ndarray, mu: np.ndarray, k: np.ndarray | float) -> np.ndarray:
    """Sum over the last axis of ``log P(y | NegBin(mean mu, dispersion k))``, NaN skipped.

    ``k`` broadcasts against ``mu`` without its last axis (one dispersion per batch row).
    """
    y = np.asarray(y, dtype=float)
    ok = ~np.isnan(y)
    yy = np.where(ok, y, 0.0)
    m = np.maximum(np.asarray(mu, dtype=float), _FLOOR)
    kk = np.asarray(k, dtype=float)
    if kk.ndim:
        kk = kk[..., None]
    terms = (
        gammaln(yy + kk)
        - gammaln(kk)
        - gammaln(yy + 1.0)
        + kk * np.log(kk / (kk + m))
        + yy * np.log(m / (kk + m))
    )
    return np.asarray(np.where(ok, terms, 0.0).sum(axis=-1))


def loglik(
    noise: Noise, y: np.ndarray, mu: np.ndarray, k: np.ndarray | float | None = None
) -> np.ndarray:
    """``poisson_loglik`` or ``negbin_loglik`` (which needs ``k``)."""
    if noise == "poisson":
        return poisson_loglik(y, mu)
    if k is None:
        raise ValueError("the negative binomial needs a dispersion k")
    return negbin_loglik(y, mu, k)


def sample_counts(
    noise: Noise, mu: np.ndarray, rng: np.random.Generator, k: np.ndarray | float | None = None
) -> np.ndarray:
    """Counts drawn around ``mu`` by the noise model (what an observer would have recorded)."""
    m = np.maximum(np.asarray(mu, dtype=float), 0.0)
    if noise == "poisson":
        return np.asarray(rng.poisson(m), dtype=float)
    if k is None:
        raise ValueError("the negative binomial needs a dispersion k")
    kk = np.asarray(k, dtype=float)
    if kk.ndim and m.ndim > kk.ndim:
        kk = kk.reshape(kk.shape + (1,) * (m.ndim - kk.ndim))
    # NegBin(mean m, size k) = Poisson(Gamma(shape k, scale m / k))
    return np.asarray(rng.poisson(rng.gamma(np.broadcast_to(kk, m.shape), m / kk)), dtype=float)
