"""Parametric duration families for lengths of stay (hours): likelihood pieces and conversions.

Each family is fitted on the log of its positive parameters (so the optimiser is unconstrained)
and knows how to write itself as a flow-spec distribution dict (``twinsight.spec``), with the
spec's own parameterisation (lognormal and gamma by mean and sd, Weibull by shape and scale).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special, stats

__all__ = ["FAMILIES", "Family"]

Array = np.ndarray


@dataclass(frozen=True)
class Family:
    """One parametric family: parameter names and the scipy distribution they make."""

    name: str
    names: tuple[str, ...]
    #: Parameters (in ``names`` order) -> a frozen scipy distribution.
    make: Callable[[tuple[float, ...]], Any]
    #: Log-parameters from (mean, sd) of positive data (a starting point).
    start: Callable[[float, float], tuple[float, ...]]
    #: Some parameters are real (lognormal mu): they are optimised as they are, not their log.
    real: tuple[bool, ...]
    #: Parameters -> flow-spec distribution dict (hours).
    spec: Callable[[dict[str, float]], dict[str, Any]]
    #: (parameters, elapsed e >= 0) -> E[T; T > e] (the partial expectation), hours.
    partial_mean: Callable[[dict[str, float], Array], Array]
    #: (parameters in ``names`` order, x > 0) -> (log density, log survival): the likelihood.
    logs: Callable[[tuple[float, ...], Array, Array], tuple[Array, Array]]

    def dist(self, params: dict[str, float]) -> Any:
        """The frozen scipy distribution with these parameters."""
        return self.make(tuple(params[n] for n in self.names))

    def to_params(self, theta: Array) -> dict[str, float]:
        """Optimiser coordinates (logs of positive parameters) -> named parameters."""
        return {
            n: float(v if real else math.exp(v))
            for n, v, real in zip(self.names, theta, self.real, strict=True)
        }

    def to_theta(self, params: dict[str, float]) -> Array:
        """Named parameters -> optimiser coordinates."""
        return np.array(
            [
                params[n] if real else math.log(params[n])
                for n, real in zip(self.names, self.real, strict=True)
            ]
        )


def _exp_start(mean: float, sd: float) -> tuple[float, ...]:
    return (math.log(mean),)


def _gamma_start(mean: float, sd: float) -> tuple[float, ...]:
    shape = (mean / sd) ** 2
    return (math.log(shape), math.log(mean / shape))


def _lognormal_start(mean: float, sd: float) -> tuple[float, ...]:
    sigma2 = math.log1p((sd / mean) ** 2)
    return (math.log(mean) - sigma2 / 2, 0.5 * math.log(sigma2))


def _weibull_start(mean: float, sd: float) -> tuple[float, ...]:
    shape = max(0.2, min(20.0, (sd / mean) ** -1.086))  # Justus' approximation
    return (math.log(shape), math.log(mean / math.gamma(1 + 1 / shape)))


def _lognormal_spec(p: dict[str, float]) -> dict[str, Any]:
    mean = math.exp(p["mu"] + p["sigma"] ** 2 / 2)
    return {"dist": "lognormal", "mean": mean, "sd": mean * math.sqrt(math.expm1(p["sigma"] ** 2))}


def _gamma_spec(p: dict[str, float]) -> dict[str, Any]:
    return {
        "dist": "gamma",
        "mean": p["shape"] * p["scale"],
        "sd": math.sqrt(p["shape"]) * p["scale"],
    }


def _exp_partial(p: dict[str, float], e: Array) -> Array:
    s = p["scale"]
    return np.asarray((e + s) * np.exp(-e / s))


def _gamma_partial(p: dict[str, float], e: Array) -> Array:
    k, s = p["shape"], p["scale"]
    return np.asarray(k * s * special.gammaincc(k + 1, e / s))


def _lognormal_partial(p: dict[str, float], e: Array) -> Array:
    mu, sg = p["mu"], p["sigma"]
    with np.errstate(divide="ignore"):
        z = (mu + sg**2 - np.log(e)) / sg
    return np.asarray(math.exp(mu + sg**2 / 2) * special.ndtr(z))


def _weibull_partial(p: dict[str, float], e: Array) -> Array:
    k, s = p["shape"], p["scale"]
    a = 1 + 1 / k
    return np.asarray(s * special.gamma(a) * special.gammaincc(a, (e / s) ** k))


_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _exp_logs(t: tuple[float, ...], x: Array, y: Array) -> tuple[Array, Array]:
    (s,) = t
    return -math.log(s) - x / s, -y / s


def _gamma_logs(t: tuple[float, ...], x: Array, y: Array) -> tuple[Array, Array]:
    k, s = t
    logpdf = (k - 1) * np.log(x) - x / s - special.gammaln(k) - k * math.log(s)
    return logpdf, np.log(special.gammaincc(k, y / s))


def _lognormal_logs(t: tuple[float, ...], x: Array, y: Array) -> tuple[Array, Array]:
    mu, sg = t
    zx = (np.log(x) - mu) / sg
    logpdf = -np.log(x) - math.log(sg) - _HALF_LOG_2PI - 0.5 * zx * zx
    return logpdf, special.log_ndtr((mu - np.log(y)) / sg)


def _weibull_logs(t: tuple[float, ...], x: Array, y: Array) -> tuple[Array, Array]:
    k, s = t
    rx = x / s
    logpdf = math.log(k / s) + (k - 1) * np.log(rx) - rx**k
    return logpdf, -((y / s) ** k)


FAMILIES: dict[str, Family] = {
    "exponential": Family(
        "exponential",
        ("scale",),
        lambda t: stats.expon(scale=t[0]),
        _exp_start,
        (False,),
        lambda p: {"dist": "exponential", "mean": p["scale"]},
        _exp_partial,
        _exp_logs,
    ),
    "gamma": Family(
        "gamma",
        ("shape", "scale"),
        lambda t: stats.gamma(t[0], scale=t[1]),
        _gamma_start,
        (False, False),
        _gamma_spec,
        _gamma_partial,
        _gamma_logs,
    ),
    "lognormal": Family(
        "lognormal",
        ("mu", "sigma"),
        lambda t: stats.lognorm(t[1], scale=math.exp(t[0])),
        _lognormal_start,
        (True, False),
        _lognormal_spec,
        _lognormal_partial,
        _lognormal_logs,
    ),
    "weibull": Family(
        "weibull",
        ("shape", "scale"),
        lambda t: stats.weibull_min(t[0], scale=t[1]),
        _weibull_start,
        (False, False),
        lambda p: {"dist": "weibull", "shape": p["shape"], "scale": p["scale"]},
        _weibull_partial,
        _weibull_logs,
    ),
}
