"""Random numbers of the fast engine: xoshiro256** streams and the spec's distributions.

Every source of randomness (``arrival:<name>``, ``service:<station>``, ...) owns one row of a
``(n_sources, 4)`` uint64 state array, seeded in Python from
:func:`twinsight.experiment.streams.xoshiro_state`. Distributions are coded by an integer kind
and four float parameters (see :data:`KIND` and ``_compile.py``); durations are in the spec's
``time_unit``.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import hot

__all__ = [
    "EMPIRICAL",
    "EXPONENTIAL",
    "FIXED",
    "GAMMA",
    "KIND",
    "LOGNORMAL",
    "NORMAL",
    "TRIANGULAR",
    "UNIFORM",
    "WEIBULL",
    "draw",
    "exponential",
    "next_u64",
    "std_normal",
    "uniform",
]

EXPONENTIAL, LOGNORMAL, GAMMA, WEIBULL, NORMAL, TRIANGULAR, UNIFORM, FIXED, EMPIRICAL = range(9)
#: Spec ``dist`` name -> kind code.
KIND = {
    "exponential": EXPONENTIAL,
    "lognormal": LOGNORMAL,
    "gamma": GAMMA,
    "weibull": WEIBULL,
    "normal": NORMAL,
    "triangular": TRIANGULAR,
    "uniform": UNIFORM,
    "fixed": FIXED,
    "empirical": EMPIRICAL,
}

_TWO_M53 = 1.0 / 9007199254740992.0  # 2**-53
_TWO_PI = 2.0 * math.pi


@hot
def _rotl(x: np.uint64, k: int) -> np.uint64:
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@hot
def next_u64(rng: np.ndarray, k: int) -> np.uint64:
    """Next 64-bit output of xoshiro256** stream ``k`` (row ``k`` of ``rng``), advancing it."""
    s0 = rng[k, 0]
    s1 = rng[k, 1]
    s2 = rng[k, 2]
    s3 = rng[k, 3]
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    rng[k, 0] = s0
    rng[k, 1] = s1
    rng[k, 2] = s2
    rng[k, 3] = s3
    return result


@hot
def uniform(rng: np.ndarray, k: int) -> float:
    """A uniform double in [0, 1) from stream ``k`` (the top 53 bits of one output)."""
    return float(next_u64(rng, k) >> np.uint64(11)) * _TWO_M53


@hot
def exponential(rng: np.ndarray, k: int, mean: float) -> float:
    """Exponential draw with the given mean, by inversion."""
    return -mean * math.log(1.0 - uniform(rng, k))


@hot
def std_normal(rng: np.ndarray, k: int) -> float:
    """Standard normal draw (Box-Muller, one value per two uniforms)."""
    u1 = 1.0 - uniform(rng, k)
    u2 = uniform(rng, k)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(_TWO_PI * u2)


@hot
def _gamma(rng: np.ndarray, k: int, shape: float, scale: float) -> float:
    """Marsaglia-Tsang gamma; shape < 1 is boosted: G(shape+1) * U**(1/shape)."""
    boost = 1.0
    a = shape
    if a < 1.0:
        boost = (1.0 - uniform(rng, k)) ** (1.0 / a)
        a += 1.0
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x = std_normal(rng, k)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = 1.0 - uniform(rng, k)
        x2 = x * x
        if u < 1.0 - 0.0331 * x2 * x2 or math.log(u) < 0.5 * x2 + d * (1.0 - v + math.log(v)):
            return d * v * scale * boost


@hot
def draw(rng: np.ndarray, k: int, kind: int, mf: np.ndarray, po: int) -> float:
    """One draw from stream ``k`` of the distribution ``kind`` with parameters ``mf[po:po+4]``
    (time_unit).

    Parameters by kind: exponential (mean), lognormal (mu, sigma), gamma (shape, scale),
    weibull (shape, scale), normal (mean, sd, min), triangular (min, mode, max),
    uniform (min, max), fixed (value), empirical (offset of the values in ``mf``, count).
    """
    if kind == EXPONENTIAL:
        return float(-mf[po] * math.log(1.0 - uniform(rng, k)))
    if kind == LOGNORMAL:
        return float(math.exp(mf[po] + mf[po + 1] * std_normal(rng, k)))
    if kind == GAMMA:
        return float(_gamma(rng, k, mf[po], mf[po + 1]))
    if kind == WEIBULL:
        return float(mf[po + 1] * (-math.log(1.0 - uniform(rng, k))) ** (1.0 / mf[po]))
    if kind == NORMAL:
        while True:
            x = mf[po] + mf[po + 1] * std_normal(rng, k)
            if x >= mf[po + 2]:
                return float(x)
    if kind == TRIANGULAR:
        a = mf[po]
        c = mf[po + 1]
        b = mf[po + 2]
        u = uniform(rng, k)
        if u < (c - a) / (b - a):
            return float(a + math.sqrt(u * (b - a) * (c - a)))
        return float(b - math.sqrt((1.0 - u) * (b - a) * (b - c)))
    if kind == UNIFORM:
        return float(mf[po] + (mf[po + 1] - mf[po]) * uniform(rng, k))
    if kind == FIXED:
        return float(mf[po])
    # empirical: resample the values with equal weight
    n = int(mf[po + 1])
    i = int(uniform(rng, k) * n)
    if i >= n:
        i = n - 1
    return float(mf[int(mf[po]) + i])
