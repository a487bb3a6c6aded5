"""Daily counts into the store: a CSV file of admissions, census, ICU and ventilated counts.

Two layouts, recognised by the header:

- wide: ``date`` and one column per metric (``admissions``, ``census``, ``icu``,
  ``ventilated``), a blank cell for a count not reported that day;
- long: ``date, metric, value`` and optionally ``unit``.

Each count becomes a row of ``observations`` (``subject_key`` NULL, ``time`` the day at 00:00
UTC, ``obs_key`` ``outbreak:<metric>:<day>``, so a replayed file adds nothing). A count that
cannot be used is quarantined with its reason, never stored: a date that is not a day, an
unknown metric or unit, a value that is not a whole number of people >= 0, two different
values for one metric and day (in the file, or against the stored one), ICU above census or
ventilated above ICU on one day. Missing days (gaps) are reported, never filled in.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pandas as pd
from sqlalchemy import Engine, Table, select

from ..connect._records import RecordIngestReport, close_ingest, insert_new, open_ingest
from ..store import ObservationRow, QuarantineRow, observations_watermark

__all__ = [
    "FORMAT",
    "UNITS",
    "OutbreakIngestError",
    "OutbreakIngestReport",
    "counts_watermark",
    "ingest_counts",
    "load_counts",
]

#: The ``ingests.format`` of these files.
FORMAT = "counts-csv"
METRIC_NAMES = ("admissions", "census", "icu", "ventilated")
#: Units accepted for counts of people (case-insensitive); a blank unit means people.
UNITS = frozenset(["", "people", "persons", "patients", "count", "counts", "beds", "n"])
_PREFIX = "outbreak:"
_OBS = cast(Table, ObservationRow.__table__)
_QUARANTINE = cast(Table, QuarantineRow.__table__)


class OutbreakIngestError(ValueError):
    """The file cannot be read at all (missing, not CSV, no date column); says what to fix."""


@dataclass
class OutbreakIngestReport(RecordIngestReport):
    """Counts of one file of daily counts (see ``RecordIngestReport``) and its gaps per metric
    (days missing between a metric's first and last day)."""

    gaps: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counts, gaps and the first reasons."""
        return {**super().to_dict(), "gaps": self.gaps}


@dataclass
class _Cell:
    line: int
    offset: int
    raw: str
    metric: str
    day: date | None = None
    value: float | None = None
    reason: str | None = None


def _parse_day(text: str) -> date:
    value = text.strip()
    if len(value) != 10:
        raise ValueError
    return date.fromisoformat(value)


def _check_value(text: str) -> tuple[float | None, str | None]:
    try:
        value = float(text.strip())
    except ValueError:
        return None, f"'{text.strip()}' is not a number"
    if not math.isfinite(value):
        return None, f"{text.strip()} is not a finite number"
    if value < 0:
        return None, f"{value:g} is negative: a count of people is >= 0"
    if value != int(value):
        return None, f"{value:g} is not a whole number of people"
    return value, None


def _cells(text: str) -> list[_Cell]:
    """Every count of the file as a cell (parsed, or with the reason it cannot be used)."""
    lines = text.splitlines(keepends=True)
    if not lines:
        raise OutbreakIngestError("the file is empty: give a CSV with a header row")
    header = [h.strip().lower() for h in next(csv.reader([lines[0]]))]
    if "date" not in header:
        raise OutbreakIngestError(
            f"the header has no 'date' column ({', '.join(header)}): write "
            "'date,admissions,census' (wide) or 'date,metric,value' (long)"
        )
    long = "metric" in header and "value" in header
    offset = len(lines[0].encode("utf-8"))
    out: list[_Cell] = []
    for number, line in enumerate(lines[1:], start=2):
        raw = line.rstrip("\r\n")
        here = offset
        offset += len(line.encode("utf-8"))
        if not raw.strip():
            continue
        try:
            row = next(csv.reader([raw]))
        except csv.Error as exc:
            out.append(_Cell(number, here, raw, "?", reason=f"malformed CSV: {exc}"))
            continue
        if len(row) != len(header):
            out.append(
                _Cell(
                    number,
                    here,
                    raw,
                    "?",
                    reason=f"the row has {len(row)} cells, the header {len(header)}",
                )
            )
            continue
        rec = dict(zip(header, row, strict=True))
        if long:
            pairs = [(rec["metric"].strip().lower(), rec["value"], rec.get("unit", ""))]
        else:
            pairs = [(h, rec[h], "") for h in header if h != "date" and rec[h].strip()]
        for metric, value, unit in pairs:
            cell = _Cell(number, here, raw, metric)
            out.append(cell)
            try:
                cell.day = _parse_day(rec["date"])
            except ValueError:
                cell.reason = f"date '{rec['date'].strip()}' is not a day (write YYYY-MM-DD)"
                continue
            if metric not in METRIC_NAMES:
                cell.reason = f"unknown metric '{metric}' (use {', '.join(METRIC_NAMES)})"
                continue
            if unit.strip().lower() not in UNITS:
                cell.reason = f"unknown unit '{unit.strip()}' for {metric} (counts of people)"
                continue
            cell.value, cell.reason = _check_value(value)
    return out


def _cross_checks(cells: list[_Cell]) -> None:
    """Quarantine conflicting duplicates and impossible combinations (ICU > census, ...)."""
    by_key: dict[tuple[str, date], list[_Cell]] = defaultdict(list)
    for c in cells:
        if c.reason is None and c.day is not None:
            by_key[(c.metric, c.day)].append(c)
    for (metric, day), group in by_key.items():
        values = {c.value for c in group}
        if len(values) > 1:
            shown = ", ".join(f"{v:g}" for v in sorted(v for v in values if v is not None))
            for c in group:
                c.reason = (
                    f"{len(group)} different values for {metric} on {day} in this file "
                    f"({shown}): keep the right one"
                )
    ok = {k: g[0].value for k, g in by_key.items() if g[0].reason is None}
    for c in cells:
        if c.reason is not None or c.day is None or c.value is None:
            continue
        above = {"icu": "census", "ventilated": "icu"}.get(c.metric)
        bound = ok.get((above, c.day)) if above else None
        if above and bound is not None and c.value > bound:
            c.reason = f"{c.metric} {c.value:g} > {above} {bound:g} on {c.day}: impossible"


def _gaps(cells: list[_Cell]) -> dict[str, list[str]]:
    days: dict[str, set[date]] = defaultdict(set)
    for c in cells:
        if c.reason is None and c.day is not None:
            days[c.metric].add(c.day)
    out: dict[str, list[str]] = {}
    for metric, seen in days.items():
        first, last = min(seen), max(seen)
        missing = [
            (first + timedelta(days=d)).isoformat()
            for d in range((last - first).days + 1)
            if first + timedelta(days=d) not in seen
        ]
        if missing:
            out[metric] = missing
    return out


def _key(metric: str, day: date) -> str:
    return f"{_PREFIX}{metric}:{day.isoformat()}"


def _instant(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def ingest_counts(path: Path | str, engine: Engine) -> OutbreakIngestReport:
    """Store the daily counts of a CSV file (see the module docstring); idempotent."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise OutbreakIngestError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OutbreakIngestError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    cells = _cells(text)
    _cross_checks(cells)
    fingerprint = hashlib.sha256(data[:65536]).hexdigest()
    now = datetime.now(UTC)
    report = OutbreakIngestReport(str(path), FORMAT)
    with engine.begin() as conn:
        stored = {
            row.obs_key: row.value
            for row in conn.execute(
                select(ObservationRow.obs_key, ObservationRow.value).where(
                    ObservationRow.obs_key.in_(
                        [_key(c.metric, c.day) for c in cells if c.reason is None and c.day]
                    )
                )
            )
        }
        for c in cells:
            old = stored.get(_key(c.metric, c.day)) if c.reason is None and c.day else None
            if old is not None and c.value is not None and old != c.value:
                c.reason = (
                    f"{c.metric} on {c.day} is {c.value:g} here but {old:g} in the "
                    "store: correct the file (stored counts are never overwritten)"
                )
        ingest_id = open_ingest(conn, str(path), fingerprint, FORMAT, now)
        rows, seen = [], set()
        rejects = []
        for c in cells:
            if c.reason is None and c.day is not None and c.value is not None:
                key = _key(c.metric, c.day)
                if key in seen:
                    report.duplicate += 1
                    continue
                seen.add(key)
                rows.append(
                    {
                        "obs_key": key,
                        "subject_key": None,
                        "metric": c.metric,
                        "time": _instant(c.day),
                        "value": c.value,
                        "unit": None,
                        "ingest_id": ingest_id,
                        "received_at": now,
                    }
                )
            else:
                reason = f"{c.metric}: {c.reason}" if c.metric != "?" else str(c.reason)
                record = f"{fingerprint}|{c.offset}|{c.metric}|{c.raw}".encode()
                rejects.append(
                    {
                        "record_key": hashlib.sha256(record).hexdigest(),
                        "raw": c.raw,
                        "source": str(path),
                        "line": c.line,
                        "offset": c.offset,
                        "reason": reason,
                        "ingest_id": ingest_id,
                        "received_at": now,
                    }
                )
                report.reasons.append(f"line {c.line}: {reason}")
        inserted = insert_new(conn, _OBS, "obs_key", rows)
        insert_new(conn, _QUARANTINE, "record_key", rejects)
        report.accepted = inserted
        report.duplicate += len(rows) - inserted
        report.quarantined = len(rejects)
        close_ingest(
            conn,
            ingest_id,
            accepted=report.accepted,
            duplicate=report.duplicate,
            quarantined=report.quarantined,
            position=len(data),
        )
    report.gaps = _gaps(cells)
    return report


def _counts_only() -> Any:
    return (ObservationRow.subject_key.is_(None), ObservationRow.obs_key.like(f"{_PREFIX}%"))


def counts_watermark(engine: Engine) -> tuple[int | None, datetime | None]:
    """The data watermark of the stored counts: the latest ingest that stored one (its id)
    and the latest ``received_at`` (None, None: no counts)."""
    return observations_watermark(engine, *_counts_only())


def load_counts(engine: Engine, *, ingest_id: int | None = None) -> pd.DataFrame:
    """The stored daily counts: one row per day (a DatetimeIndex, UTC days as naive dates),
    one column per metric observed; days without a count are absent or NaN. ``ingest_id``:
    only the counts stored by that ingest or earlier ones (the data a run saw)."""
    query = select(ObservationRow.metric, ObservationRow.time, ObservationRow.value).where(
        *_counts_only()
    )
    if ingest_id is not None:
        query = query.where(ObservationRow.ingest_id <= ingest_id)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    if not rows:
        return pd.DataFrame(columns=list(METRIC_NAMES), dtype=float)
    frame = pd.DataFrame(rows, columns=["metric", "time", "value"])
    frame["day"] = pd.to_datetime(frame["time"], utc=True).dt.tz_localize(None).dt.normalize()
    wide = frame.pivot_table(index="day", columns="metric", values="value", aggfunc="first")
    wide.columns.name = None
    wide.index.name = None
    return wide.astype(float)
