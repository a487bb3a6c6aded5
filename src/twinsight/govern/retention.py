"""Retention: delete raw events older than N days, keeping daily aggregates and open stays.

``apply_retention(engine, days)`` (``twinsight retention NAME --days N``) first stores, for every
whole UTC day before the cutoff (midnight UTC, ``days`` days before today) not aggregated yet,
each unit's admissions (events entering it: arrival, admit, transfer in), discharges (discharge
events from it) and mean census (``assimilate.census_series`` over the day) in
``daily_aggregates``; then, in the same transaction, deletes the events of **stays that ended
before the cutoff**: an event older than the cutoff goes only when the same patient has a
discharge at or after it and before the cutoff. Stays still open at the cutoff (patients present
then, or present now) keep every event, however old: the present state needs each present
patient's whole stay (elapsed time in hospital and in the unit). Quarantined records (raw text)
received before the cutoff are deleted too. The run is audited (counts, cutoff; no identifiers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, and_, delete, exists, func, insert, select
from sqlalchemy.orm import aliased

from ..assimilate import census_series
from ..store import AdtEventRow, DailyAggregateRow, QuarantineRow
from . import _audit as audit

__all__ = ["RetentionReport", "apply_retention"]

_ENTERING = ("arrival", "admit", "transfer")


@dataclass(frozen=True)
class RetentionReport:
    """What a retention run did: the cutoff, days aggregated, rows deleted."""

    cutoff: datetime
    days_aggregated: int
    events_deleted: int
    quarantine_deleted: int

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (the cutoff as ISO 8601 UTC)."""
        return {
            "cutoff": self.cutoff.isoformat(),
            "days_aggregated": self.days_aggregated,
            "events_deleted": self.events_deleted,
            "quarantine_deleted": self.quarantine_deleted,
        }


def _cutoff(days: int, now: datetime | None) -> datetime:
    today = (now or datetime.now(UTC)).astimezone(UTC)
    midnight = today.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=days)


def _aggregates(engine: Engine, cutoff: datetime) -> list[dict[str, object]]:
    """Rows for ``daily_aggregates``: every whole day before ``cutoff`` not aggregated yet."""
    with engine.connect() as conn:
        last_day = conn.execute(select(func.max(DailyAggregateRow.day))).scalar()
        first = conn.execute(select(func.min(AdtEventRow.time))).scalar()
        if first is None:
            return []
        start = datetime.combine(first.astimezone(UTC).date(), datetime.min.time(), UTC)
        if last_day is not None:
            start = max(
                start, datetime.combine(last_day + timedelta(days=1), datetime.min.time(), UTC)
            )
        if start >= cutoff:
            return []
        rows = conn.execute(
            select(AdtEventRow.time, AdtEventRow.type, AdtEventRow.unit).where(
                AdtEventRow.time >= start, AdtEventRow.time < cutoff
            )
        ).all()
    events = pd.DataFrame(rows, columns=["time", "type", "unit"])
    census = census_series(engine, start, cutoff, interval=24.0)
    counts: dict[tuple[date, str], list[int]] = {}
    for time, kind, unit in events.itertuples(index=False):
        cell = counts.setdefault((time.astimezone(UTC).date(), unit), [0, 0])
        if kind in _ENTERING:
            cell[0] += 1
        elif kind == "discharge":
            cell[1] += 1
    out: list[dict[str, object]] = []
    for bin_start, row in census.iterrows():
        day = pd.Timestamp(str(bin_start)).to_pydatetime().astimezone(UTC).date()
        units = {u for (d, u) in counts if d == day} | {
            str(u) for u, v in row.items() if pd.notna(v) and v > 0
        }
        for unit in sorted(units):
            admissions, discharges = counts.get((day, unit), [0, 0])
            mean = row.get(unit, 0.0)
            out.append(
                {
                    "day": day,
                    "unit": unit,
                    "admissions": admissions,
                    "discharges": discharges,
                    "mean_census": float(mean) if pd.notna(mean) else 0.0,
                }
            )
    return out


def apply_retention(
    engine: Engine, days: int, *, now: datetime | None = None, actor: str | None = None
) -> RetentionReport:
    """Aggregate, then delete events of stays that ended more than ``days`` days ago (see the
    module docstring); ``now`` defaults to the wall clock. Audited as ``retention``."""
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    cutoff = _cutoff(days, now)
    aggregates = _aggregates(engine, cutoff)
    closing = aliased(AdtEventRow)
    ended = exists().where(
        and_(
            closing.patient_key == AdtEventRow.patient_key,
            closing.type == "discharge",
            closing.time >= AdtEventRow.time,
            closing.time < cutoff,
        )
    )
    with engine.begin() as conn:
        if aggregates:
            conn.execute(insert(DailyAggregateRow), aggregates)
        events = conn.execute(delete(AdtEventRow).where(AdtEventRow.time < cutoff, ended)).rowcount
        quarantine = conn.execute(
            delete(QuarantineRow).where(QuarantineRow.received_at < cutoff)
        ).rowcount
        report = RetentionReport(cutoff, len({a["day"] for a in aggregates}), events, quarantine)
        audit.append_on(
            conn,
            actor=actor or audit.cli_actor(),
            action="retention",
            target=f"older than {days} days",
            detail={"days": days, **report.to_json()},
        )
    return report
