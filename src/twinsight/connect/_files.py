"""File ingest: ADT events from CSV or JSON Lines files into the twin's store.

Streaming (one batch in memory), idempotent (``ON CONFLICT DO NOTHING`` on the event key: a
replayed file is all ``duplicate``), never silent (every rejected record goes to ``quarantine``
with its reason), durable (each batch, its quarantine rows and the new resume position commit in
one transaction before they are counted) and resumable (a crashed ingest of the same file goes on
from the byte offset of its last committed batch). See ``docs/store.md``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal, cast

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, Insert, Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..store import IngestRow, QuarantineRow
from ._adt import ADT_FIELDS, AdtEvent, parse_adt

__all__ = ["IngestError", "IngestReport", "detect_format", "ingest_file", "ingest_files"]

FileFormat = Literal["csv", "jsonl"]
Pseudonymise = Callable[[str], str]

_FINGERPRINT_BYTES = 64 * 1024
_EXTENSIONS: dict[str, FileFormat] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
_EVENT_COLUMNS = (
    "event_key",
    "patient_key",
    "type",
    "time",
    "unit",
    "from_unit",
    "acuity",
    "specialty",
    "admission",
    "ingest_id",
    "received_at",
)
_PSEUDONYM_CACHE = 100_000
#: Records per transaction by default (larger batches amortise each commit's sync).
_BATCH = 25_000
#: Physical lines one CSV record may span (quoted line breaks) before a quote counts as stray.
_MAX_CONTINUATION = 50
_QUARANTINE = cast(Table, QuarantineRow.__table__)
_VALIDATOR = AdtEvent.__pydantic_validator__
_VOCABULARY = frozenset(
    ["1", "2", "3", "4", "5", "arrival", "admit", "transfer", "discharge", "emergency", "elective"]
)
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_JSON_PATIENT = re.compile(r'("patient_id"\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,}\s]+)')


class IngestError(ValueError):
    """A whole file cannot be ingested (missing, unreadable, a CSV header that is not ADT)."""


@dataclass(frozen=True)
class IngestReport:
    """What one ingest of one file did in this run (a resumed run counts only its own part)."""

    source: str
    format: FileFormat
    accepted: int
    duplicate: int
    quarantined: int
    ingest_id: int
    #: Byte offset an interrupted ingest of this file resumed from (0: from the start).
    resumed_from: int = 0

    @property
    def records(self) -> int:
        """Records read: accepted + duplicate + quarantined."""
        return self.accepted + self.duplicate + self.quarantined


@dataclass(slots=True)
class _Record:
    line: int
    offset: int
    end: int
    data: bytes


@dataclass
class _Batch:
    events: list[tuple[Any, ...]]
    rejects: list[dict[str, Any]]
    end: int = 0


def detect_format(path: Path) -> FileFormat:
    """CSV or JSON Lines: by extension, else by the first non-blank character (``{``: JSONL)."""
    known = _EXTENSIONS.get(path.suffix.lower())
    if known is not None:
        return known
    with path.open("rb") as handle:
        head = handle.read(4096).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    return "jsonl" if head.startswith("{") else "csv"


def ingest_files(
    paths: Sequence[Path], engine: Engine, pseudonymise: Pseudonymise, *, batch_size: int = _BATCH
) -> list[IngestReport]:
    """Ingest several files in order; one report each."""
    return [ingest_file(p, engine, pseudonymise, batch_size=batch_size) for p in paths]


def ingest_file(
    path: Path, engine: Engine, pseudonymise: Pseudonymise, *, batch_size: int = _BATCH
) -> IngestReport:
    """Ingest one file of ADT events; resume an interrupted ingest of the same file.

    ``pseudonymise`` maps a raw patient identifier to its keyed hash (see ``twinsight.govern``).
    Raises ``IngestError`` when the file as a whole cannot be read as ADT events.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    path = Path(path)
    _check_readable(path)
    fmt = detect_format(path)
    source = str(path.resolve())
    with path.open("rb") as handle:
        fingerprint = hashlib.sha256(handle.read(_FINGERPRINT_BYTES)).hexdigest()
        handle.seek(0)
        header: list[str] | None = None
        body_start = 0
        if fmt == "csv":
            header, body_start = _read_header(handle, path)
        ingest_id, position = _start(engine, source, fingerprint, fmt, path.stat().st_size)
        start = max(position, body_start)
        resumed_from = position if position > body_start else 0
        line = _lines_before(handle, start)
        handle.seek(start)
        is_sqlite = engine.dialect.name == "sqlite"
        ctx = _Context(source, fingerprint, ingest_id, header, pseudonymise, is_sqlite)
        totals = [0, 0, 0]
        batch = _Batch([], [])
        for record in _records(handle, start, line, fmt):
            ctx.add(record, batch)
            if len(batch.events) + len(batch.rejects) >= batch_size:
                _commit(engine, ctx, batch, totals)
                batch = _Batch([], [])
        _commit(engine, ctx, batch, totals, final=True)
    return IngestReport(source, fmt, totals[0], totals[1], totals[2], ingest_id, resumed_from)


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise IngestError(f"{path}: no such file")
    if not path.is_file():
        raise IngestError(f"{path}: not a regular file")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise IngestError(f"{path}: cannot read it ({exc.strerror or exc})") from None


def _read_header(handle: IO[bytes], path: Path) -> tuple[list[str] | None, int]:
    raw = handle.readline()
    if not raw.strip():
        return None, len(raw)
    try:
        text = raw.decode("utf-8-sig")
        header = [h.strip() for h in next(csv.reader([text]))]
    except (UnicodeDecodeError, csv.Error, StopIteration):
        raise IngestError(f"{path}: the first line is not a CSV header") from None
    unknown = [h for h in header if h not in ADT_FIELDS]
    missing = [f for f in ("type", "time", "unit", "patient_id") if f not in header]
    if unknown or missing:
        problems = []
        if unknown:
            problems.append(f"unknown columns {', '.join(unknown)}")
        if missing:
            problems.append(f"missing columns {', '.join(missing)}")
        raise IngestError(
            f"{path}: the CSV header is not ADT v1 ({'; '.join(problems)}); "
            f"the columns are {', '.join(ADT_FIELDS)} (docs/adt-events.md)"
        )
    return header, len(raw)


def _lines_before(handle: IO[bytes], offset: int) -> int:
    """1-based line number of the line starting at ``offset``."""
    handle.seek(0)
    count, done = 0, 0
    while done < offset:
        chunk = handle.read(min(1 << 20, offset - done))
        if not chunk:
            break
        count += chunk.count(b"\n")
        done += len(chunk)
    return count + 1


def _lines(handle: IO[bytes], offset: int, line: int) -> Iterator[tuple[int, int, bytes]]:
    """(line number, byte offset, bytes) of each physical line from ``offset``."""
    for raw in handle:
        yield line, offset, raw
        offset += len(raw)
        line += 1


def _records(handle: IO[bytes], start: int, line: int, fmt: FileFormat) -> Iterator[_Record]:
    """Records: physical lines, joined for CSV quoted fields that span lines; blanks skipped.

    A CSV quote left open for more than ``_MAX_CONTINUATION`` lines is taken as a stray quote:
    that first line becomes a record of its own (to be quarantined) and the lines after it are
    read again, so one bad quote cannot swallow the rest of the file.
    """
    source = _lines(handle, start, line)
    pushed: list[tuple[int, int, bytes]] = []
    pending: list[tuple[int, int, bytes]] = []
    quotes = 0
    while True:
        item = pushed.pop() if pushed else next(source, None)
        if item is None:
            if len(pending) > 1:  # the file ended inside a quote: the first quote was stray
                pushed.extend(reversed(pending[1:]))
                pending = pending[:1]
                quotes = 0
                yield _join(pending)
                pending = []
                continue
            break
        raw = item[2]
        if not pending and (fmt != "csv" or b'"' not in raw):
            # the common case: a record of one physical line (no quote to carry over)
            if raw.strip():
                yield _Record(item[0], item[1], item[1] + len(raw), raw)
            continue
        pending.append(item)
        if fmt == "csv":
            quotes += raw.count(b'"')
            if quotes % 2 == 1 and raw.endswith(b"\n"):
                if len(pending) <= _MAX_CONTINUATION:
                    continue  # a quoted field goes on on the next line
                pushed.extend(reversed(pending[1:]))
                pending = pending[:1]
        quotes = 0
        record = _join(pending)
        pending = []
        if record.data.strip():
            yield record
    if pending:
        record = _join(pending)
        if record.data.strip():
            yield record


def _join(lines: list[tuple[int, int, bytes]]) -> _Record:
    data = b"".join(raw for _, _, raw in lines)
    first_line, first_offset, _ = lines[0]
    return _Record(first_line, first_offset, first_offset + len(data), data)


class _Context:
    """Turns records into event rows or quarantine rows for one ingest."""

    def __init__(
        self,
        source: str,
        fingerprint: str,
        ingest_id: int,
        header: list[str] | None,
        pseudonymise: Pseudonymise,
        sqlite: bool,
    ) -> None:
        self.source = source
        self.fingerprint = fingerprint
        self.ingest_id = ingest_id
        self.header = header
        #: CSV rows come out of ``_fields`` already without blank cells (see ``_validate``);
        #: not when a column name repeats (the last cell of that name must win, even blank).
        self._clean = header is not None and len(set(header)) == len(header)
        self._pseudonymise = pseudonymise
        self._pseudonyms: dict[str, str] = {}
        self.sqlite = sqlite
        self.received_at_datetime = datetime.now(UTC)
        self.received_at = self._instant(self.received_at_datetime)

    def pseudonymise(self, raw_id: str) -> str:
        """The keyed hash of ``raw_id`` (remembered: patients come back)."""
        key = self._pseudonyms.get(raw_id)
        if key is None:
            if len(self._pseudonyms) >= _PSEUDONYM_CACHE:
                self._pseudonyms.clear()
            key = self._pseudonyms[raw_id] = self._pseudonymise(raw_id)
        return key

    def _instant(self, value: datetime) -> Any:
        """A bind value for an instant: SQLite's UTC text (as ``UtcDateTime`` writes it)."""
        utc = value.astimezone(UTC)
        if not self.sqlite:
            return utc
        if utc.year >= 1000:  # the same text as strftime, several times faster
            return utc.replace(tzinfo=None).isoformat(" ", "microseconds")
        return utc.strftime("%Y-%m-%d %H:%M:%S.%f")

    def add(self, record: _Record, batch: _Batch) -> None:
        batch.end = record.end
        try:
            text = record.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            text = record.data.decode("utf-8", errors="replace")
            self._reject(record, text, None, f"not UTF-8 text (byte {exc.start})", batch)
            return
        row, problem = self._fields(text)
        if row is None:
            self._reject(record, text, None, problem or "unreadable record", batch)
            return
        try:
            event = _validate(row, self._clean)
        except ValueError as exc:
            self._reject(record, text, row, str(exc), batch)
            return
        batch.events.append(self._event_row(event))

    def _fields(self, text: str) -> tuple[dict[str, Any] | None, str | None]:
        if self.header is None:
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                return None, f"malformed JSON: {exc.msg} at column {exc.colno}"
            if not isinstance(value, dict):
                return None, f"a JSON line must be an object, not {type(value).__name__}"
            return value, None
        try:
            cells = next(csv.reader([text]))
        except (csv.Error, StopIteration) as exc:
            return None, f"malformed CSV: {exc}"
        if len(cells) != len(self.header):
            return None, f"the row has {len(cells)} cells, the header {len(self.header)}"
        if self._clean:  # CSV cells are all text: drop the blank ones as parse_adt would
            return {h: c for h, c in zip(self.header, cells, strict=True) if c.strip()}, None
        return dict(zip(self.header, cells, strict=True)), None

    def _event_row(self, event: AdtEvent) -> tuple[Any, ...]:
        """The row for ``adt_events``, in ``_EVENT_COLUMNS`` order."""
        patient_key = self.pseudonymise(event.patient_id)
        if event.event_id is not None:
            event_key = f"id:{event.event_id}"
        else:
            _, kind, time, unit = event.natural_key()
            natural = f"{patient_key}|{kind}|{time.astimezone(UTC).isoformat()}|{unit}"
            event_key = "nk:" + hashlib.sha256(natural.encode("utf-8")).hexdigest()
        return (
            event_key,
            patient_key,
            event.type.value,
            self._instant(event.time),
            event.unit,
            event.from_unit,
            event.acuity,
            event.specialty,
            event.admission,
            self.ingest_id,
            self.received_at,
        )

    def _reject(
        self,
        record: _Record,
        text: str,
        row: dict[str, Any] | None,
        reason: str,
        batch: _Batch,
    ) -> None:
        if not record.data.endswith(b"\n"):
            reason += "; the last line has no line end (a truncated file?)"
        raw = self._redact(text.rstrip("\r\n"), row)
        key = hashlib.sha256(
            f"{self.fingerprint}|{record.offset}|".encode() + record.data
        ).hexdigest()
        batch.rejects.append(
            {
                "record_key": key,
                "raw": raw,
                "source": self.source,
                "line": record.line,
                "offset": record.offset,
                "reason": reason,
                "ingest_id": self.ingest_id,
                "received_at": self.received_at_datetime,
            }
        )

    def _redact(self, text: str, row: dict[str, Any] | None) -> str:
        """The record with its patient identifier replaced by the pseudonym (never stored raw)."""
        if self.header is None:
            if row is not None:
                if "patient_id" in row:
                    row = {**row, "patient_id": self._alias(row["patient_id"])}
                return json.dumps(row, ensure_ascii=False, default=str)
            return _JSON_PATIENT.sub(
                lambda m: m.group(1) + json.dumps(self._alias(m.group(2))), text
            )
        try:
            cells = next(csv.reader([text]))
        except (csv.Error, StopIteration):
            cells = text.split(",")
        if len(cells) == len(self.header):
            index = self.header.index("patient_id")
            cells[index] = self._alias(cells[index])
        else:  # misaligned: any cell might be the identifier, keep only harmless ones
            cells = [c if _harmless(c) else self._alias(c) for c in cells]
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(cells)
        return out.getvalue()

    def _alias(self, raw: object) -> str:
        value = raw if isinstance(raw, str) else json.dumps(raw)
        return f"pseudonym:{self.pseudonymise(value)}" if value else ""


def _validate(row: dict[str, Any], clean: bool) -> AdtEvent:
    """``parse_adt(row)``, with its pydantic call made directly on the hot path.

    The record is cleaned as ``parse_adt`` cleans it (blank strings dropped, unless ``clean``
    says the row has none; a text ``v`` of digits made a number) and validated by
    ``AdtEvent``'s own validator (what ``AdtEvent.model_validate`` calls). A record it rejects
    goes through ``parse_adt`` itself, which rejects it again and words the reason: the same
    decisions and reasons as ``parse_adt``, without its cost on the records it accepts.
    """
    data = row
    if not clean:
        for value in row.values():
            if isinstance(value, str) and value.strip() == "":  # rare: copy without the blanks
                data = {
                    k: v for k, v in row.items() if not (isinstance(v, str) and v.strip() == "")
                }
                break
    version = data.get("v")
    if isinstance(version, str) and version.strip().isdigit():
        data = {**data, "v": int(version)}
    try:
        return cast(AdtEvent, _VALIDATOR.validate_python(data))
    except ValidationError:
        return parse_adt(row)


def _harmless(cell: str) -> bool:
    """A cell that cannot be a patient identifier: empty, a vocabulary word, a time, a digit."""
    value = cell.strip()
    return not value or value in _VOCABULARY or bool(_TIMESTAMP.match(value))


def _start(
    engine: Engine, source: str, fingerprint: str, fmt: FileFormat, size: int
) -> tuple[int, int]:
    """The ingest to continue (same file, not finished) or a new one: (id, resume position).

    An unfinished ingest whose position lies beyond the file's end (the file was cut since) is
    not resumed: a new ingest reads the file from the start (what was committed is duplicate).
    """
    with engine.begin() as conn:
        found = conn.execute(
            select(IngestRow.id, IngestRow.position)
            .where(
                IngestRow.source == source,
                IngestRow.fingerprint == fingerprint,
                IngestRow.status == "running",
                IngestRow.position <= size,
            )
            .order_by(IngestRow.id.desc())
            .limit(1)
        ).first()
        if found is not None:
            return int(found[0]), int(found[1])
        row = {
            "source": source,
            "fingerprint": fingerprint,
            "format": fmt,
            "started_at": datetime.now(UTC),
            "accepted": 0,
            "duplicate": 0,
            "quarantined": 0,
            "status": "running",
            "position": 0,
        }
        new_id = conn.execute(insert(IngestRow).values(row).returning(IngestRow.id)).scalar_one()
        return int(new_id), 0


def _insert_events(conn: Connection, rows: list[tuple[Any, ...]]) -> int:
    """Insert event rows, skipping known ``event_key``s; the number inserted.

    Driver-level ``executemany`` (the hot path): the database sums the rows it inserted.
    """
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    columns = ", ".join(f'"{c}"' for c in _EVENT_COLUMNS)
    marks = ", ".join([mark] * len(_EVENT_COLUMNS))
    sql = (
        f'INSERT INTO adt_events ({columns}) VALUES ({marks}) ON CONFLICT ("event_key") DO NOTHING'
    )
    result = conn.exec_driver_sql(sql, rows)
    inserted = result.rowcount
    if inserted < 0:  # pragma: no cover - both supported drivers report it
        raise RuntimeError("the database driver did not report how many rows it inserted")
    return int(inserted)


def _insert(conn: Connection, table: Table, key: str) -> Insert:
    """``INSERT ... ON CONFLICT (key) DO NOTHING RETURNING key`` for the connection's dialect."""
    if conn.dialect.name == "sqlite":
        lite = sqlite.insert(table).on_conflict_do_nothing(index_elements=[key])
        return lite.returning(table.c[key])
    pg = postgresql.insert(table).on_conflict_do_nothing(index_elements=[key])
    return pg.returning(table.c[key])


def _commit(
    engine: Engine, ctx: _Context, batch: _Batch, totals: list[int], *, final: bool = False
) -> None:
    """One transaction: the batch's events and quarantine rows, the ingest's counts and position."""
    if not batch.events and not batch.rejects and not final:
        return
    with engine.begin() as conn:
        accepted = 0
        if batch.events:
            accepted = _insert_events(conn, batch.events)
        if batch.rejects:
            conn.execute(_insert(conn, _QUARANTINE, "record_key"), batch.rejects).all()
        duplicate = len(batch.events) - accepted
        quarantined = len(batch.rejects)
        values: dict[str, Any] = {
            "accepted": IngestRow.accepted + accepted,
            "duplicate": IngestRow.duplicate + duplicate,
            "quarantined": IngestRow.quarantined + quarantined,
        }
        if batch.end:
            values["position"] = batch.end
        if final:
            values["status"] = "done"
            values["finished_at"] = datetime.now(UTC)
        conn.execute(update(IngestRow).where(IngestRow.id == ctx.ingest_id).values(values))
    totals[0] += accepted
    totals[1] += duplicate
    totals[2] += quarantined
