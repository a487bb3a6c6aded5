"""Clock: model time, time units and the wall-clock calendar (weekday, time of day).

Model time is a float measured in the spec's ``time_unit`` from the start of a run.
Time 0 is a wall-clock instant given by the spec's ``start`` (a weekday and a time of day),
so that hour-of-day rate profiles, shift schedules and discharge windows line up.
"""

from __future__ import annotations

import re
from enum import StrEnum

__all__ = [
    "DAYS",
    "MINUTES_PER_DAY",
    "MINUTES_PER_WEEK",
    "TimeUnit",
    "parse_day",
    "parse_time_of_day",
]

MINUTES_PER_DAY = 1440.0
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class TimeUnit(StrEnum):
    """The unit every duration in a spec is measured in."""

    minutes = "minutes"
    hours = "hours"
    days = "days"

    @property
    def minutes_per_unit(self) -> float:
        """How many minutes one unit lasts."""
        return {"minutes": 1.0, "hours": 60.0, "days": 1440.0}[self.value]

    def from_minutes(self, minutes: float) -> float:
        """Convert a duration in minutes into this unit."""
        return minutes / self.minutes_per_unit

    def per_unit(self, rate: float, per: TimeUnit) -> float:
        """Convert a rate given per ``per`` into a rate per this unit."""
        return rate * self.minutes_per_unit / per.minutes_per_unit


def parse_time_of_day(text: str) -> float:
    """Parse ``"HH:MM"`` into minutes after midnight; raise ``ValueError`` with a hint."""
    m = _HHMM.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a time of day; write it as HH:MM, e.g. '08:30'")
    return int(m.group(1)) * 60.0 + int(m.group(2))


def parse_day(text: str) -> int:
    """Parse a weekday name (``mon``..``sun``, any case, full names allowed) into 0..6."""
    key = text.strip().lower()[:3]
    if key not in DAYS:
        raise ValueError(f"{text!r} is not a weekday; use one of {', '.join(DAYS)}")
    return DAYS.index(key)
