"""Case events into the store: CSV or Parquet files, one row per event of a case.

Columns (header names, case-insensitive; extra columns are ignored):

- ``case_id`` (required): the case's identifier; stored only as its keyed hash;
- ``type`` (required): ``referral``, ``triage``, ``assessment_start``, ``info_requested``,
  ``info_received``, ``decision`` or ``closed``;
- ``time`` (required): ISO 8601 with an offset (``2026-03-02T09:15:00Z``);
- ``team``, ``district``, ``group`` (client group), ``priority``: text, optional, except that a
  ``referral`` needs its ``district``, a ``triage`` its ``priority`` and an ``assessment_start``
  its ``team``;
- ``event_id`` (optional): the source's identifier of the event (makes replays idempotent even
  when a corrected time is sent again).

A row that cannot be used is quarantined with its reason (the case identifier replaced by its
hash in the stored text), never stored: a missing case id, an unknown type, a time without an
offset or that is not a time, a missing district, priority or team where one is needed. Rows
already stored (same event id, or same case, type and time) are counted as duplicates.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pandas as pd
from sqlalchemy import Engine, Table, select

from ..connect._records import RecordIngestReport, close_ingest, insert_new, open_ingest
from ..govern import Pseudonymiser
from ..store import CaseEventRow, QuarantineRow

__all__ = [
    "EVENT_TYPES",
    "CaseIngestError",
    "CaseIngestReport",
    "ingest_case_events",
    "load_case_events",
    "write_case_events",
]

#: The event types of a case, in the order they usually happen.
EVENT_TYPES = (
    "referral",
    "triage",
    "assessment_start",
    "info_requested",
    "info_received",
    "decision",
    "closed",
)
_NEEDS = {"referral": "district", "triage": "priority", "assessment_start": "team"}
_REQUIRED = ("case_id", "type", "time")
_EVENTS = cast(Table, CaseEventRow.__table__)
_QUARANTINE = cast(Table, QuarantineRow.__table__)


class CaseIngestError(ValueError):
    """The file cannot be read at all (missing, wrong format, required columns absent)."""


class CaseIngestReport(RecordIngestReport):
    """Counts of one file of case events (see ``RecordIngestReport``)."""


@dataclass
class _Row:
    line: int
    offset: int
    raw: str
    rec: dict[str, str]


def _csv_rows(data: bytes, source: str) -> list[_Row]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CaseIngestError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    lines = text.splitlines(keepends=True)
    if not lines:
        raise CaseIngestError(f"{source}: the file is empty; give a CSV with a header row")
    header = [h.strip().lower() for h in next(csv.reader([lines[0]]))]
    _check_header(header, source)
    offset = len(lines[0].encode("utf-8"))
    out = []
    for number, line in enumerate(lines[1:], start=2):
        here, raw = offset, line.rstrip("\r\n")
        offset += len(line.encode("utf-8"))
        if not raw.strip():
            continue
        try:
            cells = next(csv.reader([raw]))
        except csv.Error:
            cells = []
        if len(cells) != len(header):
            out.append(
                _Row(number, here, raw, {"_error": f"{len(cells)} cells, header has {len(header)}"})
            )
            continue
        out.append(_Row(number, here, raw, dict(zip(header, cells, strict=True))))
    return out


def _parquet_rows(path: Path) -> list[_Row]:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several kinds for a file that is not Parquet
        raise CaseIngestError(f"{path}: not a readable Parquet file ({exc})") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    _check_header(list(frame.columns), str(path))
    out = []
    for i, rec in enumerate(frame.to_dict("records")):
        clean = {str(k): "" if v is None or v != v else _text(v) for k, v in rec.items()}
        out.append(_Row(i + 1, i, ",".join(clean.values()), clean))
    return out


def _text(value: Any) -> str:
    if isinstance(value, pd.Timestamp | datetime):
        if value.tzinfo is None:
            return value.isoformat()  # naive: refused below, with its reason
        return value.isoformat()
    return str(value)


def _check_header(header: list[str], source: str) -> None:
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise CaseIngestError(
            f"{source}: no column {', '.join(missing)} (header: {', '.join(header)}); the "
            "columns are case_id,type,time,team,district,group,priority (docs/social-services.md)"
        )


#: No event is dated further ahead than this (a typo in the year, a sentinel like 9999).
_FUTURE = timedelta(days=3653)


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("no offset")
    return value.astimezone(UTC)


def _check(rec: dict[str, str]) -> tuple[dict[str, Any] | None, str | None]:
    if "_error" in rec:
        return None, f"malformed row: {rec['_error']}"
    case_id = rec.get("case_id", "").strip()
    if not case_id:
        return None, "case_id is empty: every event names its case"
    kind = rec.get("type", "").strip().lower()
    if kind not in EVENT_TYPES:
        return None, f"type '{kind}' is not one of {', '.join(EVENT_TYPES)}"
    text = rec.get("time", "")
    try:
        time = _parse_time(text)
    except ValueError:
        return None, f"time '{text.strip()}' is not an ISO 8601 instant with an offset (add Z)"
    if time > datetime.now(UTC) + _FUTURE:
        return None, f"time '{text.strip()}' is more than 10 years ahead: check the year"
    values: dict[str, Any] = {"case_id": case_id, "type": kind, "time": time}
    for col, key in (("team", "team"), ("district", "district"), ("group", "client_group")):
        values[key] = rec.get(col, "").strip() or None
    values["priority"] = rec.get("priority", "").strip().lower() or None
    need = _NEEDS.get(kind)
    if need is not None and values[need] is None:
        return None, f"a {kind} event needs its {need}"
    values["event_id"] = rec.get("event_id", "").strip() or None
    return values, None


def _event_key(values: dict[str, Any], case_key: str) -> str:
    if values["event_id"]:
        return f"id:{values['event_id']}"[:220]
    natural = f"{case_key}|{values['type']}|{values['time'].isoformat()}"
    return "nk:" + hashlib.sha256(natural.encode()).hexdigest()


def ingest_case_events(
    path: Path | str, engine: Engine, pseudonymise: Pseudonymiser
) -> CaseIngestReport:
    """Store the case events of a CSV or Parquet file (see the module docstring); idempotent:
    a replayed file adds nothing. Raises :class:`CaseIngestError` if it cannot be read."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CaseIngestError(f"{path}: cannot read ({exc.strerror})") from None
    parquet = data[:4] == b"PAR1"
    rows = _parquet_rows(path) if parquet else _csv_rows(data, str(path))
    fmt = "cases-parquet" if parquet else "cases-csv"
    fingerprint = hashlib.sha256(data[:65536]).hexdigest()
    now = datetime.now(UTC)
    report = CaseIngestReport(str(path), fmt)
    accepted: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    seen: set[str] = set()
    with engine.begin() as conn:
        ingest_id = open_ingest(conn, str(path), fingerprint, fmt, now)
        for row in rows:
            values, reason = _check(row.rec)
            if values is None:
                raw = row.raw
                case_id = row.rec.get("case_id", "").strip()
                if case_id:
                    raw = raw.replace(case_id, pseudonymise(case_id))
                record = f"{fingerprint}|{row.offset}|{row.raw}".encode()
                rejects.append(
                    {
                        "record_key": hashlib.sha256(record).hexdigest(),
                        "raw": raw,
                        "source": str(path),
                        "line": row.line,
                        "offset": row.offset,
                        "reason": str(reason),
                        "ingest_id": ingest_id,
                        "received_at": now,
                    }
                )
                report.reasons.append(f"line {row.line}: {reason}")
                continue
            case_key = pseudonymise(values["case_id"])
            key = _event_key(values, case_key)
            if key in seen:
                report.duplicate += 1
                continue
            seen.add(key)
            accepted.append(
                {
                    "event_key": key,
                    "case_key": case_key,
                    "type": values["type"],
                    "time": values["time"],
                    "team": values["team"],
                    "district": values["district"],
                    "client_group": values["client_group"],
                    "priority": values["priority"],
                    "ingest_id": ingest_id,
                    "received_at": now,
                }
            )
        inserted = insert_new(conn, _EVENTS, "event_key", accepted)
        insert_new(conn, _QUARANTINE, "record_key", rejects)
        report.ingest_id = int(ingest_id)
        report.accepted = inserted
        report.duplicate += len(accepted) - inserted
        report.quarantined = len(rejects)
        close_ingest(
            conn,
            ingest_id,
            accepted=report.accepted,
            duplicate=report.duplicate,
            quarantined=report.quarantined,
            position=len(data),
        )
    return report


def load_case_events(
    engine: Engine, until: datetime | None = None, *, ingest_id: int | None = None
) -> pd.DataFrame:
    """The stored case events (up to ``until`` when given; ``ingest_id``: only those stored by
    that ingest or earlier ones, the data a recorded run saw), ordered by case and time:
    columns case_key, type, time (UTC), team, district, client_group, priority."""
    cols = [
        CaseEventRow.case_key,
        CaseEventRow.type,
        CaseEventRow.time,
        CaseEventRow.team,
        CaseEventRow.district,
        CaseEventRow.client_group,
        CaseEventRow.priority,
    ]
    query = select(*cols).order_by(CaseEventRow.case_key, CaseEventRow.time, CaseEventRow.id)
    if until is not None:
        query = query.where(CaseEventRow.time <= until)
    if ingest_id is not None:
        query = query.where(CaseEventRow.ingest_id <= ingest_id)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    names = ["case_key", "type", "time", "team", "district", "client_group", "priority"]
    frame = pd.DataFrame(rows, columns=names)
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return frame


def write_case_events(rows: list[dict[str, Any]], out: Path) -> int:
    """Write event rows (dicts with the file columns) as CSV or Parquet by ``out``'s suffix."""
    names = ["event_id", "case_id", "type", "time", "team", "district", "group", "priority"]
    if out.suffix.lower() == ".parquet":
        pd.DataFrame(rows, columns=names).to_parquet(out, index=False)
        return len(rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=names, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow(r)
    out.write_text(buf.getvalue(), encoding="utf-8")
    return len(rows)
