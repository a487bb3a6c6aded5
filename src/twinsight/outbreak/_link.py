"""Twins feeding twins: the outbreak twin's admissions as the hospital twin's arrivals.

``admissions_to_arrivals`` spreads daily admissions (a forecast's median or mean, or any
series of expected admissions per day) over the hours of each day by ``hour_shares`` (24
shares; default: even) and gives

- ``hourly``: the arrival rate per hour for every hour from the first day's 00:00 UTC;
- ``hour_of_week(start)``: the 168 rates of the week that starts at ``start`` (a flow spec's
  ``profile.hour_of_week``, Monday 00:00 first; a flow spec's profile repeats weekly, so this
  covers at most 7 days of the series);
- ``arrival(to=, name=, entity_class=)``: a flow-spec Poisson arrival stream (a dict) with that
  profile, and ``add_to(spec, to=)``: the hospital model's ``FlowSpec`` with the stream added:
  the patients of the outbreak admitted straight to a unit, beside its own arrivals.

A horizon beyond 7 days uses the spec's dated rates (``form="dated"``, the default beyond 168
hours; ``_dated.py``): one Poisson stream whose rate in every model hour is the series'
expected arrivals in that hour, 0 after the horizon.

Rates are arrivals per hour; days are UTC days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from ..spec import FlowSpec
from ._dated import HOURS_PER_UNIT, dated_arrivals

__all__ = ["AdmissionArrivals", "admissions_to_arrivals"]


@dataclass(frozen=True)
class AdmissionArrivals:
    """Hourly arrival rates from daily admissions, from ``first_day`` 00:00 UTC."""

    first_day: date
    hourly: np.ndarray

    @property
    def days(self) -> int:
        """Days covered."""
        return int(self.hourly.size // 24)

    def rate_at(self, at: datetime) -> float:
        """The arrival rate (per hour) in the clock hour of ``at`` (0 outside the series)."""
        start = datetime(self.first_day.year, self.first_day.month, self.first_day.day, tzinfo=UTC)
        hour = int((at.astimezone(UTC) - start).total_seconds() // 3600)
        return float(self.hourly[hour]) if 0 <= hour < self.hourly.size else 0.0

    def hour_of_week(self, start: datetime) -> list[float]:
        """The 168 hour-of-week rates (Monday 00:00 first) of the week from ``start``: each
        hour of the week takes the rate of its first occurrence at or after ``start``."""
        at = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        table = [0.0] * 168
        for h in range(168):
            moment = at + timedelta(hours=h)
            table[moment.weekday() * 24 + moment.hour] = self.rate_at(moment)
        return table

    def arrival(
        self,
        start: datetime,
        *,
        to: str,
        name: str = "outbreak",
        entity_class: str = "inpatient",
    ) -> dict[str, Any]:
        """A flow-spec Poisson arrival stream to station ``to`` for the week from ``start``."""
        return {
            "name": name,
            "to": to,
            "profile": {"hour_of_week": self.hour_of_week(start)},
            "class": entity_class,
        }

    def expected(self, start: datetime, hours: float) -> float:
        """Expected arrivals from ``start`` over the next ``hours`` hours (the integral of
        the hourly rates; 0 outside the series)."""
        first = datetime(self.first_day.year, self.first_day.month, self.first_day.day, tzinfo=UTC)
        a = (start.astimezone(UTC) - first).total_seconds() / 3600.0
        return self._cumulative(a + hours) - self._cumulative(a)

    def _cumulative(self, x: float) -> float:
        """Expected arrivals from ``first_day`` 00:00 to ``x`` hours after it."""
        x = min(max(x, 0.0), float(self.hourly.size))
        whole = int(x)
        done = float(self.hourly[:whole].sum())
        return done + (x - whole) * float(self.hourly[whole]) if whole < self.hourly.size else done

    def add_to(
        self,
        spec: FlowSpec,
        start: datetime,
        *,
        to: str,
        name: str = "outbreak",
        entity_class: str = "inpatient",
        form: str = "auto",
    ) -> FlowSpec:
        """``spec`` (model time 0 at ``start``) with the outbreak's admissions arriving at ``to``.

        ``form``: ``weekly`` (a Poisson stream with the hour-of-week profile of the week from
        ``start``: exact for a horizon of up to 7 days, repeats after), ``dated`` (a Poisson
        stream with dated hourly rates over the whole horizon, 0 after it; ``_dated.py``), or
        ``auto`` (weekly up to a 168-hour horizon, else dated)."""
        if form not in ("auto", "weekly", "dated"):
            raise ValueError("form must be 'auto', 'weekly' or 'dated'")
        at = start.astimezone(UTC)
        clock = at.weekday() * 1440.0 + at.hour * 60.0 + at.minute
        if abs(clock - spec.start.minutes_of_week()) > 1e-6:
            raise ValueError(
                f"start {at:%a %H:%M} UTC is not the spec's model time 0 "
                f"({spec.start.day} {spec.start.time}): give the instant of model time 0"
            )
        horizon_h = spec.horizon * HOURS_PER_UNIT[spec.time_unit.value]
        if form == "dated" or (form == "auto" and horizon_h > 168.0 + 1e-9):
            model_hours = int(np.ceil(horizon_h - 1e-9))
            hourly = [self.expected(start + timedelta(hours=h), 1.0) for h in range(model_hours)]
            return dated_arrivals(spec, hourly, to=to, name=name, entity_class=entity_class)
        data = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
        stream = self.arrival(start, to=to, name=name, entity_class=entity_class)
        if max(stream["profile"]["hour_of_week"]) <= 0:
            return spec
        data["arrivals"] = [*data.get("arrivals", []), stream]
        return FlowSpec.model_validate(data)


def admissions_to_arrivals(
    daily: Sequence[float] | np.ndarray,
    first_day: date,
    hour_shares: Sequence[float] | None = None,
) -> AdmissionArrivals:
    """Hourly arrival rates from expected admissions per day (see the module docstring)."""
    counts = np.asarray(daily, dtype=float)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError("give one expected admission count per day")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError("daily admissions must be finite and >= 0")
    shares = np.full(24, 1.0 / 24.0) if hour_shares is None else np.asarray(hour_shares, float)
    if shares.shape != (24,) or np.any(shares < 0) or shares.sum() <= 0:
        raise ValueError("hour_shares needs 24 non-negative shares (one per clock hour)")
    shares = shares / shares.sum()
    return AdmissionArrivals(first_day, (counts[:, None] * shares[None, :]).ravel())
