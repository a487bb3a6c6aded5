"""Patient-unit segments ("episodes") from the stored ADT events, for calibration.

One streamed SQL query, ordered like ``twinsight.assimilate`` replays events (patient, time,
then arrival < admit < transfer < discharge), turns each patient's events into segments: a
stay in one unit from the event that put the patient there to the event that moved them on.
Only the patients being replayed are in memory, plus the output rows. Rules (also in
docs/calibration.md):

- a segment ends with the next movement: ``next_unit`` is the unit moved to, or ``"exit"`` for
  a discharge from the segment's unit;
- still there at ``until`` (and not stale): censored at ``until`` (``end`` NaT);
- **stale** (in the unit for longer than ``stale_factor`` times the longest segment that ended
  in that unit, at most ``stale_after_hours`` for inpatient units, ``ed_stale_after_hours`` for
  the ED; or no event for ``stale_after_hours``), or **broken** (the next event does
  not follow from this unit: a transfer or admit from another unit, a discharge naming another
  unit, a new arrival or elective admission while the stay is open, so a movement or discharge
  is missing): censored at the segment's last event (``stale`` True, ``end`` NaT,
  ``next_unit`` None). The time the patient was really there is unknown, only that it was at
  least that long, so the segment adds no bias (a ghost would otherwise add a huge stay).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select

from ..assimilate import ED, replay_rows
from ..store import AdtEventRow

__all__ = ["COLUMNS", "CalibrationError", "episodes", "latest_event"]

_SECONDS_PER_HOUR = 3600.0
COLUMNS = [
    "patient_key",
    "stay",
    "unit",
    "start",
    "end",
    "hours",
    "censored",
    "stale",
    "acuity",
    "specialty",
    "admission",
    "prev_unit",
    "next_unit",
]


class CalibrationError(ValueError):
    """The events cannot be calibrated on (none, none in the window, a naive instant)."""


@dataclass
class _Segment:
    stay: int
    unit: str
    start: datetime
    last: datetime
    prev_unit: str | None
    acuity: int | None
    specialty: str | None
    admission: str | None


def latest_event(engine: Engine) -> datetime:
    """The time of the latest stored event (UTC)."""
    with engine.connect() as conn:
        query = select(AdtEventRow.time).order_by(AdtEventRow.time.desc()).limit(1)
        latest = conn.execute(query).scalar_one_or_none()
    if latest is None:
        raise CalibrationError("the store holds no events: ingest an ADT event file first")
    return latest.astimezone(UTC)


def _aware(at: datetime, name: str) -> datetime:
    if at.tzinfo is None:
        raise CalibrationError(
            f"{name} '{at.isoformat()}' has no UTC offset: give an aware instant"
        )
    return at.astimezone(UTC)


def _hours(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / _SECONDS_PER_HOUR


def episodes(
    engine: Engine,
    *,
    until: datetime | None = None,
    since: datetime | None = None,
    stale_after_hours: float = 60 * 24.0,
    ed_stale_after_hours: float = 72.0,
    stale_factor: float = 2.0,
    batch: int = 10_000,
) -> pd.DataFrame:
    """One row per patient-unit segment, from the events at or before ``until``.

    ``until`` defaults to the latest event. With ``since``, only segments that reach into
    ``[since, until]`` are returned (ended at or after ``since``, still there, or stale with a
    last event at or after ``since``); events before ``since`` are still replayed so that each
    segment has its true start. Columns: ``COLUMNS`` (``start``/``end`` UTC, ``end`` NaT when
    censored; ``hours`` from start to end, to ``until`` or, when stale, to the last event).
    """
    until = latest_event(engine) if until is None else _aware(until, "until")
    lower = None if since is None else _aware(since, "since")
    out: list[tuple[Any, ...]] = []
    still_in: list[tuple[str, _Segment]] = []
    longest: dict[str, float] = {}  # unit -> longest ended segment (hours)

    def emit(
        key: str, seg: _Segment, end: datetime | None, nxt: str | None, stale: bool = False
    ) -> None:
        if end is not None:
            longest[seg.unit] = max(longest.get(seg.unit, 0.0), _hours(seg.start, end))
        if lower is not None:
            seen = end if end is not None else (seg.last if stale else until)
            if seen < lower:
                return
        stop = end if end is not None else (seg.last if stale else until)
        out.append(
            (
                key,
                seg.stay,
                seg.unit,
                seg.start,
                end,
                _hours(seg.start, stop),
                end is None,
                stale,
                seg.acuity,
                seg.specialty,
                seg.admission,
                seg.prev_unit,
                nxt,
            )
        )

    def close(key: str | None, seg: _Segment | None) -> None:
        """The patient's last open segment at ``until``: judged at the end (present or stale)."""
        if key is not None and seg is not None:
            still_in.append((key, seg))

    key: str | None = None
    seg: _Segment | None = None
    stay = -1
    for row in replay_rows(engine, until, batch):
        if row.patient_key != key:
            close(key, seg)
            key, seg, stay = row.patient_key, None, -1
        pkey: str = row.patient_key
        t: datetime = row.time
        kind: str = row.type
        new_stay = kind == "arrival" or (
            kind == "admit" and row.admission == "elective" and row.from_unit is None
        )
        if seg is not None and new_stay:
            emit(pkey, seg, None, None, stale=True)  # the previous stay's discharge is missing
            seg = None
        if kind == "discharge":
            if seg is not None:
                if row.unit == seg.unit:
                    emit(pkey, seg, t, "exit")
                else:
                    emit(pkey, seg, None, None, stale=True)
            seg = None
            continue
        if seg is None:
            stay += 1
            prev = None if kind == "arrival" else row.from_unit
            seg = _Segment(stay, row.unit, t, t, prev, row.acuity, row.specialty, row.admission)
            continue
        if row.unit == seg.unit:  # nothing moved: update what is known
            seg.last = t
            seg.acuity = row.acuity if row.acuity is not None else seg.acuity
            seg.specialty = row.specialty or seg.specialty
            seg.admission = row.admission or seg.admission
            continue
        if row.from_unit is None or row.from_unit == seg.unit:
            emit(pkey, seg, t, row.unit)
            prev = seg.unit
        else:  # the move out of seg.unit is missing
            emit(pkey, seg, None, None, stale=True)
            prev = row.from_unit
        seg = _Segment(
            seg.stay,
            row.unit,
            t,
            t,
            prev,
            row.acuity if row.acuity is not None else seg.acuity,
            row.specialty or seg.specialty,
            row.admission or seg.admission,
        )
    close(key, seg)
    for k, s in still_in:
        cap = ed_stale_after_hours if s.unit == ED else stale_after_hours
        limit = min(cap, stale_factor * longest[s.unit]) if s.unit in longest else cap
        stale = _hours(s.start, until) > limit or _hours(s.last, until) > stale_after_hours
        emit(k, s, None, None, stale=stale)
    return _frame(out)


def _frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("start", "end"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    frame["hours"] = frame["hours"].astype(float)
    frame["censored"] = frame["censored"].astype(bool)
    frame["stale"] = frame["stale"].astype(bool)
    frame["stay"] = frame["stay"].astype(int)
    frame["acuity"] = frame["acuity"].astype("Int64")
    for col in ("patient_key", "unit", "specialty", "admission", "prev_unit", "next_unit"):
        values = frame[col].astype(object)
        frame[col] = values.where(values.notna(), None)  # None, not NaN, for absent
    frame = frame.sort_values(["patient_key", "stay", "start"], kind="stable")
    return frame.reset_index(drop=True)
