"""The parts of a flow network: classes, resources, stations, routing, initial state, KPIs."""

from __future__ import annotations

import itertools
import math
from typing import Annotated, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    field_validator,
    model_validator,
)

from ._clock import parse_day, parse_time_of_day
from ._distributions import Distribution
from ._journeys import Journey

__all__ = [
    "EXIT",
    "CapacityStep",
    "EntityClass",
    "InitialGroup",
    "KpiOptions",
    "OnWait",
    "ReleaseHours",
    "Resource",
    "Route",
    "Schedule",
    "Station",
    "TimeWindow",
]

#: Routing target that means "leave the system".
EXIT = "exit"


class EntityClass(BaseModel):
    """A class of entity (patients of an acuity, calls of a type).

    ``priority``: lower is served first at stations with ``discipline: priority``.
    ``attributes``: free-form labels describing the class (acuity, specialty, skill). The
    engines act on the class itself (its priority, and the per-class service, patience and
    routing tables); the labels document it and are kept in the spec and its JSON Schema.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    priority: int = 0
    attributes: dict[str, str | int | float | bool] = Field(default_factory=dict)


class CapacityStep(BaseModel):
    """From ``at`` on, the capacity is ``capacity``.

    ``at`` is ``HH:MM`` for a daily schedule, ``day HH:MM`` (e.g. ``mon 08:00``) for a weekly one.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    at: str
    capacity: int = Field(ge=0)


class Schedule(BaseModel):
    """Capacity that follows a repeating table: shifts, beds opened and closed."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    repeat: Literal["day", "week"] = "day"
    steps: list[CapacityStep] = Field(min_length=1)

    @model_validator(mode="after")
    def _increasing(self) -> Schedule:
        marks = self.step_minutes()
        for a, b in itertools.pairwise(marks):
            if b <= a:
                raise ValueError(
                    "schedule steps must be in increasing time order within the "
                    f"{self.repeat}; sort them and remove duplicates"
                )
        return self

    def step_minutes(self) -> list[float]:
        """Each step's start as minutes after the start of the day (or of Monday)."""
        out = []
        for step in self.steps:
            parts = step.at.split()
            if self.repeat == "day":
                if len(parts) != 1:
                    raise ValueError(f"daily schedule step {step.at!r}: write only HH:MM")
                out.append(parse_time_of_day(parts[0]))
            else:
                if len(parts) != 2:
                    raise ValueError(f"weekly schedule step {step.at!r}: write 'day HH:MM'")
                out.append(parse_day(parts[0]) * 1440.0 + parse_time_of_day(parts[1]))
        return out

    def max_capacity(self) -> int:
        """The largest capacity the schedule ever reaches."""
        return max(s.capacity for s in self.steps)


class Resource(BaseModel):
    """Servers, beds, cubicles or staff: a fixed ``capacity`` or a ``schedule``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    capacity: int | None = Field(default=None, ge=0)
    schedule: Schedule | None = None

    @model_validator(mode="after")
    def _one(self) -> Resource:
        if (self.capacity is None) == (self.schedule is None):
            raise ValueError("give exactly one of 'capacity' or 'schedule'")
        return self

    def max_capacity(self) -> int:
        """The largest capacity this resource ever has."""
        if self.schedule is not None:
            return self.schedule.max_capacity()
        assert self.capacity is not None
        return self.capacity


class Route(BaseModel):
    """One row of a routing table: go ``to`` a station (or ``exit``) with probability ``p``,
    optionally becoming class ``becomes``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    to: str
    p: float = Field(ge=0.0, le=1.0)
    becomes: str | None = None


class TimeWindow(BaseModel):
    """A daily window ``from``-``to`` (HH:MM); may wrap past midnight (``22:00``-``06:00``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    start: str = Field(alias="from")
    end: str = Field(alias="to")

    @model_validator(mode="after")
    def _valid(self) -> TimeWindow:
        if parse_time_of_day(self.start) == parse_time_of_day(self.end):
            raise ValueError("window 'from' and 'to' are equal; the window would be empty")
        return self

    def minutes(self) -> tuple[float, float]:
        """(start, end) in minutes after midnight."""
        return parse_time_of_day(self.start), parse_time_of_day(self.end)


class ReleaseHours(BaseModel):
    """Leave at the times of day of a daily pattern: discharges that bunch in the daytime.

    ``shares``: 24 non-negative weights of the wall-clock hours 00-01 .. 23-24 (normalised;
    their sum must be positive). ``to``: only entities routed to these targets (station names
    or ``exit``) are re-timed; empty (the default): every route. ``anchor``: the clock hour
    (0-24) that the day of a stay's natural end is centred on; default: the shares' own mean
    clock time (``anchor_hours``), which keeps the mean time at the station.

    The rule (docs/semantics.md, "Release hours"): when an entity starts service at ``s`` and
    draws service time ``S``, its natural end is ``t = s + S``. A clock time ``x`` is drawn from
    the shares (an hour with probability its share, uniform within it; stream
    ``release:<station>``), and the service ends at clock time ``x`` on the same *anchored
    day* as ``t``: the 24 hours from ``anchor - 12 h`` to ``anchor + 12 h`` that contain ``t``
    (a day later if that is before ``s``). Natural ends spread evenly over the clock (stays
    spread wider than a day, or arrivals at a steady rate) then move by ``E[x] - anchor`` on
    average: nothing with the default anchor. With a fixed anchor, moving shares to earlier
    hours moves the same stays earlier on the same day, shorter by the hours moved (a
    "discharge before noon"). A stay under 12 h may only move later (it cannot end before it
    started). The route is drawn at the start of service (the same table and stream as
    without release hours).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    shares: list[NonNegativeFloat] = Field(min_length=24, max_length=24)
    to: list[str] = Field(default_factory=list)
    anchor: float | None = Field(default=None, ge=0.0, lt=24.0)

    @field_validator("shares")
    @classmethod
    def _positive(cls, shares: list[float]) -> list[float]:
        if not sum(shares) > 0:
            raise ValueError("release hours: the 24 shares sum to 0; give at least one hour")
        return shares

    def normalised(self) -> list[float]:
        """The 24 shares divided by their sum."""
        total = sum(self.shares)
        return [x / total for x in self.shares]

    def applies_to(self, target: str) -> bool:
        """Whether an entity routed to ``target`` is re-timed."""
        return not self.to or target in self.to

    def anchor_hours(self) -> float:
        """``anchor``, or by default the anchor ``a`` (hours, [0, 24)) at which the shares'
        clock times, measured within the 24 hours centred on ``a``, average ``a``: their mean
        clock time (fixed-point iteration on a one-minute grid from the circular mean, so that
        a pattern across midnight is centred near midnight)."""
        if self.anchor is not None:
            return self.anchor
        weights = np.repeat(np.asarray(self.normalised()) / 60.0, 60)
        minutes = np.arange(1440) + 0.5
        angle = minutes * (2.0 * math.pi / 1440.0)
        a = math.atan2(float(weights @ np.sin(angle)), float(weights @ np.cos(angle)))
        a = (a * 1440.0 / (2.0 * math.pi)) % 1440.0
        for _ in range(100):
            step = float(weights @ ((minutes - a + 720.0) % 1440.0)) - 720.0
            a = (a + step) % 1440.0
            if abs(step) < 1e-9:
                break
        return a / 60.0


class OnWait(BaseModel):
    """A timed offer to a waiting entity (a sibling of patience): when its wait at the station
    reaches ``after`` (time_unit), it accepts with probability ``p``; if it accepts it leaves the
    queue (counted as ``diverted``, not abandoned) and joins station ``to`` (becoming class
    ``becomes`` if given). A callback offered after T minutes is ``{after: T, p: ..., to:
    <callback station>}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    after: PositiveFloat
    p: float = Field(ge=0.0, le=1.0)
    to: str
    becomes: str | None = None


class Station(BaseModel):
    """An activity with its queue: entities wait, seize ``resources``, are served, move on.

    - ``resources``: amount of each resource held during service, all seized at once. Empty means
      a pure delay (infinite servers).
    - ``alternatives``: further resource sets that can serve the station, in order of preference
      (overflow). A head starts with the first set (``resources``, then each alternative) whose
      resources are all free; a multi-skilled agent group is one resource listed by several
      stations. Not combined with ``blocking``.
    - ``dispatch_priority``: rank of the station's queue head when the dispatcher chooses whom
      to start (lower first; before class priority and waiting time). Default 0.
    - ``on_wait``: a timed offer to waiting entities (e.g. a callback), see :class:`OnWait`.
    - ``service`` / ``service_by_class``: service-time distribution (time_unit).
    - ``queue_capacity``: waiting places (``null`` = unlimited). Arrivals to a full queue balk,
      or stay blocked upstream if the upstream station has ``blocking: true``.
    - ``discipline``: ``priority`` (class priority, then first come) or ``fifo``.
    - ``patience`` / ``patience_by_class``: time an entity waits before it abandons (reneging).
    - ``blocking``: after service, if the next station has no room, wait here until it has:
      ``true`` keeps all of this station's resources meanwhile; a list keeps only those resources
      (a boarding patient keeps the cubicle, the doctor moves on). ``false``: the entity is lost.
    - ``release_window``: after service, leave only inside this daily window (discharges).
    - ``release_hours``: service ends at times of day drawn from 24 hourly shares, the mean
      time at the station kept (see :class:`ReleaseHours`). Not with ``release_window``.
    - ``routing`` / ``routing_by_class``: where to go next; rows sum to 1. Default: exit.
    - ``wait_target``: target wait (time_unit) for the "share waiting within target" KPI.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    resources: dict[str, Annotated[int, Field(ge=1)]] = Field(default_factory=dict)
    alternatives: list[dict[str, Annotated[int, Field(ge=1)]]] = Field(default_factory=list)
    dispatch_priority: int = 0
    service: Distribution
    service_by_class: dict[str, Distribution] = Field(default_factory=dict)
    queue_capacity: int | None = Field(default=None, ge=0)
    discipline: Literal["priority", "fifo"] = "priority"
    patience: Distribution | None = None
    patience_by_class: dict[str, Distribution] = Field(default_factory=dict)
    blocking: bool | list[str] = False
    release_window: TimeWindow | None = None
    release_hours: ReleaseHours | None = None
    routing: list[Route] = Field(default_factory=list)
    routing_by_class: dict[str, list[Route]] = Field(default_factory=dict)
    wait_target: PositiveFloat | None = None
    on_wait: OnWait | None = None

    @field_validator("routing")
    @classmethod
    def _sums_to_one(cls, rows: list[Route]) -> list[Route]:
        _check_rows(rows)
        return rows

    @field_validator("routing_by_class")
    @classmethod
    def _class_rows(cls, table: dict[str, list[Route]]) -> dict[str, list[Route]]:
        for rows in table.values():
            _check_rows(rows)
        return table

    @model_validator(mode="after")
    def _blocking_resources(self) -> Station:
        if isinstance(self.blocking, list):
            for res in self.blocking:
                if res not in self.resources:
                    raise ValueError(
                        f"blocking keeps '{res}', which this station does not use; "
                        f"list some of {sorted(self.resources)}"
                    )
        if self.release_hours is not None and self.release_window is not None:
            raise ValueError(
                "give 'release_window' or 'release_hours', not both: the hours already say "
                "when in the day entities leave (give the hours outside the window share 0)"
            )
        if self.alternatives:
            if self.blocking:
                raise ValueError(
                    "a station with 'alternatives' cannot block; set blocking: false "
                    "or remove the alternatives"
                )
            if not self.resources or any(not alt for alt in self.alternatives):
                raise ValueError(
                    "'alternatives' need 'resources' and each alternative at least one resource"
                )
        return self

    def resource_options(self) -> list[dict[str, int]]:
        """The resource sets that can serve this station, in order of preference."""
        return [dict(self.resources), *(dict(a) for a in self.alternatives)]

    def held_when_blocked(self) -> dict[str, int]:
        """Resources (and amounts) kept while blocked after service; {} when not blocking."""
        if self.blocking is True:
            return dict(self.resources)
        if isinstance(self.blocking, list):
            return {r: self.resources[r] for r in self.blocking}
        return {}

    def routes_for(self, cls: str) -> list[Route]:
        """The routing rows that apply to class ``cls`` (exit with p=1 when none are given)."""
        rows = self.routing_by_class.get(cls, self.routing)
        return rows or [Route(to=EXIT, p=1.0)]

    def service_for(self, cls: str) -> Distribution:
        """The service-time distribution for class ``cls``."""
        return self.service_by_class.get(cls, self.service)

    def patience_for(self, cls: str) -> Distribution | None:
        """The patience distribution for class ``cls`` (None: waits for ever)."""
        return self.patience_by_class.get(cls, self.patience)


def _check_rows(rows: list[Route]) -> None:
    if not rows:
        return
    total = sum(r.p for r in rows)
    if abs(total - 1.0) > 1e-6:
        raise ValueError(
            f"routing probabilities sum to {total:g}, not 1; adjust the 'p' values "
            "(add a row 'to: exit' for the remainder)"
        )


class InitialGroup(BaseModel):
    """Entities present when a run starts (a warm start from the present state).

    ``status``: ``in_service`` (holding the station's resources) or ``waiting`` (in its queue).
    ``elapsed``: time already spent in that status (time_unit). ``remaining``: time left in service
    if known; otherwise it is drawn from the service distribution given ``elapsed`` has passed.
    ``in_system``: time since the entity entered the system (default: ``elapsed``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    station: str
    entity_class: str = Field(default="default", alias="class")
    status: Literal["in_service", "waiting"] = "in_service"
    count: int = Field(default=1, ge=1)
    elapsed: NonNegativeFloat = 0.0
    remaining: NonNegativeFloat | None = None
    in_system: NonNegativeFloat | None = None

    @model_validator(mode="after")
    def _consistent(self) -> InitialGroup:
        if self.remaining is not None and self.status != "in_service":
            raise ValueError("'remaining' only applies to status in_service")
        if self.in_system is not None and self.in_system < self.elapsed:
            raise ValueError("'in_system' cannot be shorter than 'elapsed'")
        return self


class KpiOptions(BaseModel):
    """What to measure beyond the standard KPIs.

    ``interval``: width (time_unit) of the bins of the occupancy-over-time series (null: none).
    ``percentiles``: which percentiles of waits, times in system and journeys to report.
    ``wait_target``: default target wait (time_unit) for stations that set none.
    ``journeys``: named journey KPIs (time from one station to the departure from another; see
    :class:`~twinsight.spec._journeys.Journey` and docs/semantics.md, "Journeys").
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    interval: PositiveFloat | None = None
    percentiles: list[Annotated[float, Field(gt=0.0, lt=100.0)]] = Field(
        default_factory=lambda: [50.0, 90.0, 95.0]
    )
    wait_target: PositiveFloat | None = None
    journeys: dict[str, Journey] = Field(default_factory=dict)
