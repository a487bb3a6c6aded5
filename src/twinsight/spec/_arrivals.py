"""Arrival streams: Poisson (constant, weekly rate profile, dated rates), scheduled, batches."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    NonNegativeFloat,
    Tag,
    field_validator,
    model_validator,
)

from ._clock import TimeUnit, parse_day, parse_time_of_day
from ._distributions import BatchSize

__all__ = [
    "Arrival",
    "ClassMix",
    "DatedRates",
    "PoissonArrivals",
    "RateProfile",
    "ScheduledArrivals",
    "ScheduledSlot",
]

#: A single class name, or a mix ``{class: probability}`` drawn independently per entity.
ClassMix = str | dict[str, Annotated[float, Field(ge=0.0)]]


class DatedRates(BaseModel):
    """Rates that do not repeat: ``rates[k]`` holds in ``[k * step, (k + 1) * step)`` of model
    time (``step`` in minutes, hours or days; default hours), counted from model time 0 (the
    run's start), whatever the wall clock. Rates are arrivals per the profile's ``per``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    step: TimeUnit = TimeUnit.hours
    rates: list[NonNegativeFloat] = Field(min_length=1)


class RateProfile(BaseModel):
    """Arrival rate varying by hour of day and day of week (a table of rates), and/or dated.

    Give ``hour_of_day`` (24 rates, one per clock hour, the same every day), optionally scaled by
    ``day_factor`` (7 multipliers, Monday first), or give ``hour_of_week`` (168 rates, Monday
    00:00-01:00 first). Rates are arrivals per ``per`` (default: per hour). The rate is constant
    within each clock hour. ``dated`` (see :class:`DatedRates`) replaces the weekly table while
    its rates last; after them the weekly table holds, or rate 0 when the profile has none.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    per: TimeUnit = TimeUnit.hours
    hour_of_day: list[NonNegativeFloat] | None = None
    day_factor: list[NonNegativeFloat] | None = None
    hour_of_week: list[NonNegativeFloat] | None = None
    dated: DatedRates | None = None

    @model_validator(mode="after")
    def _shape(self) -> RateProfile:
        if self.hour_of_day is not None and self.hour_of_week is not None:
            raise ValueError("give one of 'hour_of_day' (24 rates) or 'hour_of_week' (168)")
        if self.hour_of_day is None and self.hour_of_week is None and self.dated is None:
            raise ValueError(
                "give 'hour_of_day' (24 rates), 'hour_of_week' (168) or 'dated' "
                "(rates from model time 0, e.g. dated: {step: days, rates: [...]})"
            )
        if self.hour_of_day is not None and len(self.hour_of_day) != 24:
            raise ValueError(f"hour_of_day needs 24 rates, got {len(self.hour_of_day)}")
        if self.hour_of_week is not None and len(self.hour_of_week) != 168:
            raise ValueError(f"hour_of_week needs 168 rates, got {len(self.hour_of_week)}")
        if self.day_factor is not None:
            if self.hour_of_week is not None:
                raise ValueError("day_factor only goes with hour_of_day")
            if len(self.day_factor) != 7:
                raise ValueError(
                    f"day_factor needs 7 multipliers (mon..sun), got {len(self.day_factor)}"
                )
        if self.day_factor is not None and self.hour_of_day is None:
            raise ValueError("day_factor only goes with hour_of_day")
        dated = self.dated.rates if self.dated is not None else []
        if max(self.hourly_table() + dated) <= 0:
            raise ValueError("every rate in the profile is zero: nobody would ever arrive")
        return self

    def hourly_table(self) -> list[float]:
        """168 rates (arrivals per ``per``), hour of week 0 = Monday 00:00-01:00 (all 0 for a
        profile with only ``dated`` rates)."""
        if self.hour_of_week is not None:
            return list(self.hour_of_week)
        if self.hour_of_day is None:
            return [0.0] * 168
        factors = self.day_factor or [1.0] * 7
        return [self.hour_of_day[h] * factors[d] for d in range(7) for h in range(24)]


class PoissonArrivals(BaseModel):
    """A Poisson stream: constant ``rate`` (arrivals per time_unit) or a weekly ``profile``.

    Each arrival event brings ``batch`` entities (default one); the class of each entity is drawn
    from ``entity_class``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    name: str
    kind: Literal["poisson"] = "poisson"
    to: str
    rate: NonNegativeFloat | None = None
    profile: RateProfile | None = None
    entity_class: ClassMix = Field(default="default", alias="class")
    batch: BatchSize | None = None

    @model_validator(mode="after")
    def _rate_or_profile(self) -> PoissonArrivals:
        if (self.rate is None) == (self.profile is None):
            raise ValueError("give exactly one of 'rate' (per time_unit) or 'profile'")
        if self.rate is not None and self.rate <= 0:
            raise ValueError("rate must be > 0 arrivals per time_unit")
        return self


class ScheduledSlot(BaseModel):
    """``count`` arrivals every week on ``day`` at ``at`` (HH:MM); ``day: daily`` for every day."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    day: str
    at: str
    count: int = Field(default=1, ge=1)

    @field_validator("day")
    @classmethod
    def _day(cls, v: str) -> str:
        if v.strip().lower() != "daily":
            parse_day(v)
        return v

    @field_validator("at")
    @classmethod
    def _at(cls, v: str) -> str:
        parse_time_of_day(v)
        return v

    def minutes_of_week(self) -> list[float]:
        """The slot's instants as minutes after Monday 00:00."""
        tod = parse_time_of_day(self.at)
        days = range(7) if self.day.strip().lower() == "daily" else [parse_day(self.day)]
        return [d * 1440.0 + tod for d in days]


class ScheduledArrivals(BaseModel):
    """Arrivals at fixed weekly times (elective admissions by weekday), repeating every week."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    name: str
    kind: Literal["scheduled"]
    to: str
    entity_class: ClassMix = Field(default="default", alias="class")
    slots: list[ScheduledSlot] = Field(min_length=1)


def _arrival_kind(value: object) -> str:
    if isinstance(value, dict):
        return str(value.get("kind", "poisson"))
    return str(getattr(value, "kind", "poisson"))


#: An arrival stream; ``kind`` defaults to ``poisson``.
Arrival = Annotated[
    Annotated[PoissonArrivals, Tag("poisson")] | Annotated[ScheduledArrivals, Tag("scheduled")],
    Discriminator(_arrival_kind),
]
