"""Interaction records into the store: CSV or Parquet files of calls (one row per contact).

Columns (header names, case-insensitive; aliases in brackets):

- ``arrived_at`` [time, arrival_time]: ISO 8601 with an offset or ``Z`` (required);
- ``queue`` [skill]: the queue or skill the contact was routed to (required);
- ``wait_seconds`` [wait]: seconds from arrival to answer, or to hanging up (required, >= 0);
- ``answered``: ``true``/``false`` (also 1/0, yes/no, answered/abandoned) (required);
- ``handle_seconds`` [handle, aht]: talk plus after-call work, > 0, required when answered;
- ``outcome`` (free text), ``satisfaction`` [csat] (a number 0-10), ``interaction_id`` [id],
  ``customer_id`` (pseudonymised by the twin's key before it is stored).

A row that cannot be used is quarantined with its reason (``quarantine`` table), never stored.
``interaction_id`` (else a hash of the natural key: time, queue, customer, wait) makes a
replayed file add nothing. Each file is one ``ingests`` row and one transaction.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pandas as pd
from sqlalchemy import Engine, Table, select

from ..connect._records import RecordIngestReport, close_ingest, insert_new, open_ingest
from ..govern import Pseudonymiser
from ..store import InteractionRow, QuarantineRow

__all__ = [
    "COLUMNS",
    "ContactIngestError",
    "ContactIngestReport",
    "ingest_interactions",
    "load_interactions",
    "parse_interaction",
    "write_interactions",
]

#: Canonical column -> accepted header names.
COLUMNS: dict[str, tuple[str, ...]] = {
    "arrived_at": ("arrived_at", "time", "arrival_time"),
    "queue": ("queue", "skill"),
    "wait_seconds": ("wait_seconds", "wait"),
    "answered": ("answered",),
    "handle_seconds": ("handle_seconds", "handle", "aht"),
    "outcome": ("outcome",),
    "satisfaction": ("satisfaction", "csat"),
    "interaction_id": ("interaction_id", "id"),
    "customer_id": ("customer_id",),
}
_REQUIRED = ("arrived_at", "queue", "wait_seconds", "answered")
_TRUE = frozenset(["true", "1", "yes", "y", "answered", "t"])
_FALSE = frozenset(["false", "0", "no", "n", "abandoned", "f"])
_TABLE = cast(Table, InteractionRow.__table__)
_QUARANTINE = cast(Table, QuarantineRow.__table__)


class ContactIngestError(ValueError):
    """The file cannot be read at all (missing, unknown format, required columns missing)."""


class ContactIngestReport(RecordIngestReport):
    """Counts of one file of interactions (see ``RecordIngestReport``)."""


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} '{text}' is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} {text} is not a finite number")
    return value


#: No record is dated further ahead than this (a typo in the year, a sentinel like 9999).
_FUTURE = timedelta(days=3653)


def _instant(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"arrived_at '{text}' is not an ISO 8601 time (write 2026-01-05T09:30:00Z)"
        ) from None
    if when.tzinfo is None:
        raise ValueError(f"arrived_at '{text}' has no UTC offset (add Z or +01:00)")
    if when > datetime.now(UTC) + _FUTURE:
        raise ValueError(
            f"arrived_at '{text}' is more than 10 years ahead: check the year or the clock"
        )
    return when.astimezone(UTC)


def parse_interaction(row: dict[str, str], pseudonymise: Pseudonymiser) -> dict[str, Any]:
    """One record (canonical column -> text, blanks as '') -> the stored values, or a
    ``ValueError`` naming the field and the fix. The customer identifier is pseudonymised."""
    for name in _REQUIRED:
        if not row.get(name, "").strip():
            raise ValueError(f"{name} is blank: every interaction needs it")
    when = _instant(row["arrived_at"].strip())
    queue = row["queue"].strip().lower()
    if len(queue) > 100:
        raise ValueError("queue is longer than 100 characters")
    wait = _number(row["wait_seconds"].strip(), "wait_seconds")
    if wait < 0:
        raise ValueError(f"wait_seconds {wait:g} is negative: a wait is >= 0 seconds")
    flag = row["answered"].strip().lower()
    if flag not in _TRUE | _FALSE:
        raise ValueError(f"answered '{row['answered'].strip()}' is not true or false")
    answered = flag in _TRUE
    text = row.get("handle_seconds", "").strip()
    handle = _number(text, "handle_seconds") if text else None
    if answered and (handle is None or handle <= 0):
        raise ValueError("handle_seconds must be > 0 for an answered interaction")
    if not answered:
        handle = None
    sat_text = row.get("satisfaction", "").strip()
    sat = _number(sat_text, "satisfaction") if sat_text else None
    if sat is not None and not 0 <= sat <= 10:
        raise ValueError(f"satisfaction {sat:g} is outside 0-10")
    outcome = row.get("outcome", "").strip().lower()[:32] or None
    customer = row.get("customer_id", "").strip()
    key_of = pseudonymise(customer) if customer else None
    ident = row.get("interaction_id", "").strip()
    if ident:
        record_key = f"id:{ident}"[:220]
    else:
        natural = f"{when.isoformat()}|{queue}|{key_of}|{wait:.3f}"
        record_key = "nk:" + hashlib.sha256(natural.encode()).hexdigest()
    return {
        "record_key": record_key,
        "customer_key": key_of,
        "arrived_at": when,
        "queue": queue,
        "wait": wait,
        "answered": answered,
        "handle": handle,
        "outcome": outcome,
        "satisfaction": sat,
    }


def _header_map(names: Iterable[str]) -> dict[str, str]:
    """File column -> canonical column; raises when a required one is missing."""
    lower = {n.strip().lower(): n for n in names}
    out: dict[str, str] = {}
    for canon, aliases in COLUMNS.items():
        for a in aliases:
            if a in lower:
                out[lower[a]] = canon
                break
    missing = [c for c in _REQUIRED if c not in out.values()]
    if missing:
        raise ContactIngestError(
            f"the file has no column {', '.join(missing)} (it has {', '.join(lower)}): see "
            "examples/contact/interactions.csv for the layout"
        )
    return out


def _csv_rows(data: bytes) -> Iterator[tuple[int, int, str, dict[str, str]]]:
    text = data.decode("utf-8-sig")
    lines = text.splitlines(keepends=True)
    if not lines:
        raise ContactIngestError("the file is empty: give a CSV with a header row")
    header = next(csv.reader([lines[0]]))
    mapping = _header_map(header)
    offset = len(lines[0].encode("utf-8"))
    for number, line in enumerate(lines[1:], start=2):
        raw = line.rstrip("\r\n")
        here = offset
        offset += len(line.encode("utf-8"))
        if not raw.strip():
            continue
        cells = next(csv.reader([raw]), [])
        if len(cells) != len(header):
            yield number, here, raw, {"_error": f"{len(cells)} cells, the header {len(header)}"}
            continue
        yield (
            number,
            here,
            raw,
            {mapping[h]: c for h, c in zip(header, cells, strict=True) if h in mapping},
        )


def _parquet_rows(path: Path) -> Iterator[tuple[int, int, str, dict[str, str]]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises many kinds
        raise ContactIngestError(f"{path}: not a readable Parquet file ({exc})") from None
    mapping = _header_map(table.column_names)
    for i, rec in enumerate(table.to_pylist()):
        row: dict[str, str] = {}
        for h, canon in mapping.items():
            v = rec.get(h)
            if v is None:
                row[canon] = ""
            elif isinstance(v, datetime):
                row[canon] = (v if v.tzinfo else v.replace(tzinfo=UTC)).isoformat()
            elif isinstance(v, bool):
                row[canon] = "true" if v else "false"
            else:
                row[canon] = str(v)
        yield i + 1, i, json.dumps(rec, default=str), row


def ingest_interactions(
    path: Path | str, engine: Engine, pseudonymise: Pseudonymiser
) -> ContactIngestReport:
    """Store the interactions of a CSV or Parquet file (see the module docstring);
    idempotent: a replayed file adds nothing."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ContactIngestError(f"{path}: cannot read ({exc.strerror})") from None
    fmt = "contact-parquet" if data[:4] == b"PAR1" else "contact-csv"
    try:
        rows = list(_parquet_rows(path) if fmt == "contact-parquet" else _csv_rows(data))
    except UnicodeDecodeError as exc:
        raise ContactIngestError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    fingerprint = hashlib.sha256(data[:65536]).hexdigest()
    now = datetime.now(UTC)
    report = ContactIngestReport(str(path), fmt)
    good: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    seen: set[str] = set()
    for line, offset, raw, row in rows:
        try:
            if "_error" in row:
                raise ValueError(row["_error"])
            rec = parse_interaction(row, pseudonymise)
        except ValueError as exc:
            record = f"{fingerprint}|{offset}|{raw}".encode()
            bad.append(
                {
                    "record_key": hashlib.sha256(record).hexdigest(),
                    "raw": raw,
                    "source": str(path),
                    "line": line,
                    "offset": offset,
                    "reason": str(exc),
                    "received_at": now,
                }
            )
            report.reasons.append(f"{'row' if fmt == 'contact-parquet' else 'line'} {line}: {exc}")
            continue
        if rec["record_key"] in seen:
            report.duplicate += 1
            continue
        seen.add(rec["record_key"])
        good.append({**rec, "received_at": now})
    with engine.begin() as conn:
        ingest_id = open_ingest(conn, str(path), fingerprint, fmt, now)
        report.ingest_id = int(ingest_id)
        inserted = insert_new(
            conn, _TABLE, "record_key", [{**r, "ingest_id": ingest_id} for r in good]
        )
        insert_new(conn, _QUARANTINE, "record_key", [{**r, "ingest_id": ingest_id} for r in bad])
        report.accepted = inserted
        report.duplicate += len(good) - inserted
        report.quarantined = len(bad)
        close_ingest(
            conn,
            ingest_id,
            accepted=report.accepted,
            duplicate=report.duplicate,
            quarantined=report.quarantined,
            position=len(data),
        )
    return report


def load_interactions(
    engine: Engine, since: datetime | None = None, until: datetime | None = None
) -> pd.DataFrame:
    """The stored interactions in ``[since, until)``: columns arrived_at (UTC), queue, wait,
    answered, handle, outcome, satisfaction (seconds), sorted by arrival."""
    cols = [
        InteractionRow.arrived_at,
        InteractionRow.queue,
        InteractionRow.wait,
        InteractionRow.answered,
        InteractionRow.handle,
        InteractionRow.outcome,
        InteractionRow.satisfaction,
    ]
    query = select(*cols)
    if since is not None:
        query = query.where(InteractionRow.arrived_at >= since)
    if until is not None:
        query = query.where(InteractionRow.arrived_at < until)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(InteractionRow.arrived_at)).all()
    names = ["arrived_at", "queue", "wait", "answered", "handle", "outcome", "satisfaction"]
    frame = pd.DataFrame(rows, columns=names)
    frame["arrived_at"] = pd.to_datetime(frame["arrived_at"], utc=True)
    for c in ("wait", "handle", "satisfaction"):
        frame[c] = frame[c].astype(float)
    frame["answered"] = frame["answered"].astype(bool)
    return frame


def write_interactions(rows: list[dict[str, str]], out: Path) -> int:
    """Write emulated rows as CSV (``.csv``) or Parquet (``.parquet``); the count written."""
    if not rows:
        raise ValueError("nothing to write")
    if out.suffix.lower() == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), out)
        return len(rows)
    if out.suffix.lower() != ".csv":
        raise ValueError(f"{out}: write .csv or .parquet")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    out.write_text(buf.getvalue(), encoding="utf-8")
    return len(rows)
