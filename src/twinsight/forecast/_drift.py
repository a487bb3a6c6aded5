"""Drift: the twin checks itself against what happens, and raises alarms it records.

Three checks, each a test with a stated false-alarm rate:

- ``outside_bands``: the observed census of a unit lies outside the last forecast's 90% band for
  ``run`` consecutive hourly bins (default 6). Under a calibrated forecast a bin is outside with
  probability 0.10; neighbouring bins are strongly correlated, so the run length, not a
  binomial count, is the guard (a single excursion is normal, six hours outside is not).
- ``length_of_stay``: the one-sample log-rank test of recent stays (right-censored at the check
  instant) against the calibrated distribution: ``O`` stays ended, ``E = Σ H(t_i)`` expected
  from the cumulative hazard ``H = -log S`` over each stay's observed time; ``Z = (O - E) /
  √E`` is standard normal under the calibrated distribution; an alarm when ``|Z| > z`` (default
  3: two-sided false-alarm rate 0.27% per unit and check). ``Z < 0``: fewer discharges than
  expected (stays got longer).
- ``arrivals``: ED arrivals over a recent window against the calibrated hour-of-week rates: the
  count is over-dispersed Poisson with variance ``dispersion × expected``; alarm when ``|Z| > z``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from ..store import AlarmRow
from ._model import survival_curve

__all__ = [
    "Alarm",
    "arrival_alarm",
    "band_alarms",
    "list_alarms",
    "los_alarm",
    "record_alarms",
]


@dataclass(frozen=True)
class Alarm:
    """One drift alarm: ``kind`` (outside_bands, length_of_stay, arrivals), the unit (``ED``
    for arrivals), since when it holds, the test statistic and a sentence for people."""

    kind: str
    unit: str
    since: datetime
    statistic: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "kind": self.kind,
            "unit": self.unit,
            "since": self.since.isoformat(),
            "statistic": round(self.statistic, 3),
            "message": self.message,
        }


def band_alarms(forecast: pd.DataFrame, observed: pd.DataFrame, *, run: int = 6) -> list[Alarm]:
    """Alarms for units whose observed census stayed outside the 90% band for ``run`` bins.

    ``forecast``: rows with time, unit, p5, p95 (``Forecast.frame()``); ``observed``: census
    per unit indexed by the same bin times (``census_series``). Bins not yet observed are
    ignored; the latest qualifying run of each unit raises one alarm.
    """
    alarms = []
    for unit, part in forecast.groupby("unit", sort=False):
        if unit not in observed:
            continue
        part = part.set_index("time").sort_index()
        obs = observed[unit].reindex(part.index)
        seen = obs.notna().to_numpy()
        values = obs.to_numpy(float)
        low, high = part["p5"].to_numpy(float), part["p95"].to_numpy(float)
        outside = seen & ((values < low) | (values > high))
        best: tuple[int, int] | None = None
        start = None
        for i, out in enumerate(outside):
            if out and start is None:
                start = i
            if (not out or i == len(outside) - 1) and start is not None:
                stop = i + 1 if out else i
                if stop - start >= run:
                    best = (start, stop)
                start = None
        if best is None:
            continue
        a, b = best
        above = bool(np.mean(values[a:b] > high[a:b]) >= 0.5)
        since = pd.Timestamp(part.index[a]).to_pydatetime()
        alarms.append(
            Alarm(
                "outside_bands",
                str(unit),
                since,
                float(b - a),
                f"{unit}: census {'above' if above else 'below'} the forecast's 90% band for "
                f"{b - a} consecutive bins since {since:%Y-%m-%d %H:%M} UTC",
            )
        )
    return alarms


def los_alarm(
    unit: str,
    dist: Mapping[str, Any],
    hours: Sequence[float] | np.ndarray,
    ended: Sequence[bool] | np.ndarray,
    since: datetime,
    *,
    z: float = 3.0,
    min_expected: float = 10.0,
) -> Alarm | None:
    """The one-sample log-rank check of recent stays against ``dist`` (a flow-spec
    distribution dict, hours). ``hours``: each stay's observed time; ``ended``: whether it
    ended (False: still in at the check, censored). None when it fits, or too few to tell."""
    t = np.asarray(hours, dtype=float)
    d = np.asarray(ended, dtype=bool)
    if len(t) == 0:
        return None
    sf = np.maximum(survival_curve(dist, t), 1e-300)
    expected = float(-np.log(sf).sum())
    if expected < min_expected:
        return None
    observed = float(d.sum())
    stat = (observed - expected) / np.sqrt(expected)
    if abs(stat) <= z:
        return None
    trend = "shorter" if stat > 0 else "longer"
    return Alarm(
        "length_of_stay",
        unit,
        since,
        float(stat),
        f"{unit}: stays since {since:%Y-%m-%d} are {trend} than calibrated "
        f"({observed:.0f} ended, {expected:.1f} expected; log-rank Z = {stat:+.1f}); "
        "recalibrate",
    )


def arrival_alarm(
    rate_per_hour: Sequence[float] | np.ndarray,
    dispersion: float,
    arrivals: Iterable[datetime],
    start: datetime,
    end: datetime,
    *,
    z: float = 3.0,
) -> Alarm | None:
    """ED arrivals in ``[start, end)`` against the calibrated 168 hour-of-week rates (per hour)
    with over-dispersion ``dispersion`` (variance / mean of counts; 1 = Poisson)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    hours = pd.date_range(start, end, freq="h", inclusive="left")
    if len(hours) == 0:
        return None
    table = np.asarray(rate_per_hour, dtype=float)
    expected = float(table[(hours.day_of_week * 24 + hours.hour).to_numpy()].sum())
    count = sum(1 for t in arrivals if start <= t < end)
    if expected <= 0:
        return None
    stat = (count - expected) / np.sqrt(max(dispersion, 1.0) * expected)
    if abs(stat) <= z:
        return None
    more = "more" if stat > 0 else "fewer"
    return Alarm(
        "arrivals",
        "ED",
        start,
        float(stat),
        f"ED: {count} arrivals since {start:%Y-%m-%d %H:%M} UTC, {more} than the calibrated "
        f"{expected:.0f} (Z = {stat:+.1f}); recalibrate or check the feed",
    )


def _key(alarm: Alarm) -> str:
    text = f"{alarm.kind}|{alarm.unit}|{alarm.since.astimezone(UTC).isoformat()}"
    return hashlib.sha256(text.encode()).hexdigest()


def record_alarms(engine: Engine, alarms: Sequence[Alarm], checked_at: datetime) -> int:
    """Store alarms not stored before (same kind, unit and start); how many were new."""
    if not alarms:
        return 0
    rows = [
        {
            "alarm_key": _key(a),
            "kind": a.kind,
            "unit": a.unit,
            "since": a.since,
            "checked_at": checked_at,
            "statistic": a.statistic,
            "message": a.message,
        }
        for a in alarms
    ]
    table = AlarmRow.__table__
    with engine.begin() as conn:
        dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
        stmt = dialect.insert(table).on_conflict_do_nothing(index_elements=["alarm_key"])
        return len(conn.execute(stmt.returning(table.c.alarm_key), rows).all())


def list_alarms(engine: Engine, *, days: float | None = None) -> list[Alarm]:
    """Recorded alarms, newest first (those checked in the last ``days`` days, if given)."""
    query = select(AlarmRow).order_by(AlarmRow.checked_at.desc(), AlarmRow.id.desc())
    if days is not None:
        query = query.where(AlarmRow.checked_at >= datetime.now(UTC) - timedelta(days=days))
    with engine.connect() as conn:
        return [
            Alarm(r.kind, r.unit, r.since, r.statistic, r.message)
            for r in conn.execute(query).all()
        ]
