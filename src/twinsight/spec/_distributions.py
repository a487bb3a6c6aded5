"""Distributions of durations (service times, patience) and of batch sizes.

Every continuous distribution is measured in the spec's ``time_unit``. Lognormal and gamma
are given by their mean and standard deviation, as users think of them; the engines convert
to the native parameters with :func:`lognormal_params` and :func:`gamma_params`.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, model_validator

__all__ = [
    "BatchSize",
    "Distribution",
    "Empirical",
    "Exponential",
    "Fixed",
    "Gamma",
    "Lognormal",
    "Normal",
    "Triangular",
    "Uniform",
    "Weibull",
    "gamma_params",
    "lognormal_params",
]


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @abstractmethod
    def mean_value(self) -> float:
        """The distribution's mean (time_unit)."""


class Exponential(_Dist):
    """Exponential with the given mean (time_unit)."""

    dist: Literal["exponential"]
    mean: PositiveFloat

    def mean_value(self) -> float:
        return self.mean


class Lognormal(_Dist):
    """Lognormal given by its own mean and standard deviation (time_unit), not log-scale ones."""

    dist: Literal["lognormal"]
    mean: PositiveFloat
    sd: PositiveFloat

    def mean_value(self) -> float:
        return self.mean


class Gamma(_Dist):
    """Gamma given by mean and standard deviation (time_unit)."""

    dist: Literal["gamma"]
    mean: PositiveFloat
    sd: PositiveFloat

    def mean_value(self) -> float:
        return self.mean


class Weibull(_Dist):
    """Weibull with ``shape`` k > 0 and ``scale`` lambda (time_unit)."""

    dist: Literal["weibull"]
    shape: PositiveFloat
    scale: PositiveFloat

    def mean_value(self) -> float:
        return self.scale * math.gamma(1.0 + 1.0 / self.shape)


class Normal(_Dist):
    """Normal(mean, sd) truncated below at ``min`` (time_unit, default 0): redrawn until >= min."""

    dist: Literal["normal"]
    mean: float
    sd: PositiveFloat
    min: float = Field(default=0.0, ge=0.0)

    @model_validator(mode="after")
    def _reachable(self) -> Normal:
        if (self.mean - self.min) / self.sd < -5:
            raise ValueError(
                f"min={self.min} lies more than 5 sd above mean={self.mean}: almost no draw "
                "would be kept; raise the mean or lower min"
            )
        return self

    def mean_value(self) -> float:
        a = (self.min - self.mean) / self.sd
        pdf = math.exp(-0.5 * a * a) / math.sqrt(2 * math.pi)
        tail = 0.5 * math.erfc(a / math.sqrt(2))
        return self.mean + self.sd * pdf / tail


class Triangular(_Dist):
    """Triangular on [min, max] with the given mode (time_unit)."""

    dist: Literal["triangular"]
    min: float = Field(ge=0.0)
    mode: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not (self.min <= self.mode <= self.max) or self.min == self.max:
            raise ValueError("need min <= mode <= max with min < max")
        return self

    def mean_value(self) -> float:
        return (self.min + self.mode + self.max) / 3.0


class Uniform(_Dist):
    """Uniform on [min, max] (time_unit)."""

    dist: Literal["uniform"]
    min: float = Field(ge=0.0)
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if not self.min < self.max:
            raise ValueError("need min < max")
        return self

    def mean_value(self) -> float:
        return 0.5 * (self.min + self.max)


class Fixed(_Dist):
    """Always the same duration ``value`` (time_unit)."""

    dist: Literal["fixed"]
    value: float = Field(ge=0.0)

    def mean_value(self) -> float:
        return self.value


class Empirical(_Dist):
    """Resample observed durations (time_unit) with equal weight: the empirical distribution.

    Give the data inline as ``values`` or as ``file`` (a CSV next to the spec) and ``column``;
    the loader reads the file into ``values``.
    """

    dist: Literal["empirical"]
    values: list[Annotated[float, Field(ge=0.0)]] = Field(default_factory=list)
    file: str | None = None
    column: str | None = None

    @model_validator(mode="after")
    def _has_data(self) -> Empirical:
        if not self.values:
            raise ValueError("empirical needs at least one value: give 'values' or 'file'")
        return self

    def mean_value(self) -> float:
        return sum(self.values) / len(self.values)


Distribution = Annotated[
    Exponential | Lognormal | Gamma | Weibull | Normal | Triangular | Uniform | Fixed | Empirical,
    Field(discriminator="dist"),
]


class BatchSize(BaseModel):
    """Number of entities per arrival event: ``values`` drawn with ``weights``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    values: list[Annotated[int, Field(ge=1)]] = Field(min_length=1)
    weights: list[Annotated[float, Field(ge=0.0)]] | None = None

    @model_validator(mode="after")
    def _weights(self) -> BatchSize:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError("weights must have one entry per value")
            if sum(self.weights) <= 0:
                raise ValueError("weights must not all be zero")
        return self

    def probabilities(self) -> list[float]:
        """Normalised probabilities of ``values``."""
        w = self.weights or [1.0] * len(self.values)
        total = sum(w)
        return [x / total for x in w]


def lognormal_params(mean: float, sd: float) -> tuple[float, float]:
    """Return (mu, sigma) of the underlying normal for a lognormal of this mean and sd."""
    sigma2 = math.log1p((sd / mean) ** 2)
    return math.log(mean) - 0.5 * sigma2, math.sqrt(sigma2)


def gamma_params(mean: float, sd: float) -> tuple[float, float]:
    """Return (shape, scale) of a gamma of this mean and sd."""
    shape = (mean / sd) ** 2
    return shape, mean / shape
