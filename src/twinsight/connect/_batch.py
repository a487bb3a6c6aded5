"""One batch of ADT records into the store: validate, pseudonymise, insert, quarantine.

Shared by every connector (files, MQTT, HTTP, FHIR, Parquet): a connector turns its input into
``Record``s (raw bytes: a JSON object or a CSV line, with where it came from) and hands them to a
``Context``, which fills a ``Batch`` of event rows and quarantine rows; ``commit_batch`` stores a
batch, its quarantine rows and the ingest's counts in one transaction (``docs/store.md``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from pydantic import ValidationError
from sqlalchemy import Connection, Engine, Insert, Table, update
from sqlalchemy.dialects import postgresql, sqlite

from ..store import IngestRow, QuarantineRow
from ._adt import AdtEvent, parse_adt
from ._fast import Fields, PlainCsv, PlainEvent, plain_fields, utc_text

__all__ = ["Batch", "Context", "Pseudonymise", "Record", "commit_batch"]

Pseudonymise = Callable[[str], str]

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
_CSV_REQUIRED = frozenset(("type", "time", "unit", "patient_id"))
_QUARANTINE = cast(Table, QuarantineRow.__table__)
_VALIDATOR = AdtEvent.__pydantic_validator__
_VOCABULARY = frozenset(
    ["1", "2", "3", "4", "5", "arrival", "admit", "transfer", "discharge", "emergency", "elective"]
)
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_JSON_PATIENT = re.compile(r'("patient_id"\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,}\s]+)')


@dataclass(slots=True)
class Record:
    line: int
    offset: int
    end: int
    data: bytes


@dataclass
class Batch:
    events: list[tuple[Any, ...]]
    rejects: list[dict[str, Any]]
    end: int = 0


class Context:
    """Turns records into event rows or quarantine rows for one ingest."""

    def __init__(
        self,
        source: str,
        fingerprint: str,
        ingest_id: int,
        header: list[str] | None,
        pseudonymise: Pseudonymise,
        sqlite: bool,
        *,
        stream: bool = False,
    ) -> None:
        self.source = source
        self.fingerprint = fingerprint
        self.ingest_id = ingest_id
        self.header = header
        #: CSV rows come out of ``_fields`` already without blank cells (see ``_validate``);
        #: not when a column name repeats (the last cell of that name must win, even blank).
        self._clean = header is not None and len(set(header)) == len(header)
        #: The fast path for the CSV records of this header (plain records, same decisions).
        self._plain_csv = (
            PlainCsv(header)
            if header is not None and self._clean and set(header) >= _CSV_REQUIRED
            else None
        )
        self._pseudonymise = pseudonymise
        self._pseudonyms: dict[str, str] = {}
        self.sqlite = sqlite
        #: Records from a stream (MQTT, HTTP): a rejected record is keyed by its source and
        #: bytes alone (a redelivered bad message is quarantined once), not by a file offset.
        self.stream = stream
        self.stamp()

    def stamp(self) -> None:
        """Set the receipt instant recorded on the rows added from now on (UTC, now)."""
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
        # the year zero-padded to 4 digits, as SQLAlchemy writes and reads it (strftime's %Y
        # is not padded on glibc: a year before 1000 could not be read back)
        return utc.replace(tzinfo=None).isoformat(" ", "microseconds")

    def add(self, record: Record, batch: Batch) -> None:
        batch.end = record.end
        try:
            text = record.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            text = record.data.decode("utf-8", errors="replace")
            self._reject(record, text, None, f"not UTF-8 text (byte {exc.start})", batch)
            return
        if self._plain_csv is not None:
            fields = self._plain_csv.fields(text)
            if fields is not None:
                batch.events.append(self._row(*fields))
                return
        elif self.header is None:
            fields = _plain_json(record.data)
            if fields is not None:
                batch.events.append(self._row(*fields))
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

    def _event_row(self, event: AdtEvent | PlainEvent) -> tuple[Any, ...]:
        """The row for ``adt_events``, in ``_EVENT_COLUMNS`` order."""
        if isinstance(event, PlainEvent):
            return self._row(*event)
        return self._row(
            event.event_id,
            event.type.value,
            event.time,
            event.unit,
            event.from_unit,
            event.patient_id,
            event.acuity,
            event.specialty,
            event.admission,
        )

    def _row(
        self,
        event_id: str | None,
        kind: str,
        time: datetime | str,
        unit: str,
        from_unit: str | None,
        patient_id: str,
        acuity: int | None,
        specialty: str | None,
        admission: str | None,
    ) -> tuple[Any, ...]:
        """The row of one event's values (the hot path): ``time`` a ``datetime`` or the text of
        a whole-second UTC timestamp (see ``_fast.Fields``)."""
        patient_key = self._pseudonyms.get(patient_id)
        if patient_key is None:
            patient_key = self.pseudonymise(patient_id)
        if type(time) is str:
            instant: Any = utc_text(time) if self.sqlite else datetime.fromisoformat(time)
            if event_id is not None:
                event_key = "id:" + event_id
            else:
                natural = f"{patient_key}|{kind}|{time[:19]}+00:00|{unit}"
                event_key = _natural_key(instant, natural)
        else:
            assert isinstance(time, datetime)
            if self.sqlite and time.tzinfo is UTC:
                instant = time.isoformat(" ", "microseconds")[:26]  # what _instant gives
            else:
                instant = self._instant(time)
            if event_id is not None:
                event_key = "id:" + event_id
            else:
                natural = f"{patient_key}|{kind}|{time.astimezone(UTC).isoformat()}|{unit}"
                event_key = _natural_key(instant, natural)
        return (
            event_key,
            patient_key,
            kind,
            instant,
            unit,
            from_unit,
            acuity,
            specialty,
            admission,
            self.ingest_id,
            self.received_at,
        )

    def _reject(
        self,
        record: Record,
        text: str,
        row: dict[str, Any] | None,
        reason: str,
        batch: Batch,
    ) -> None:
        if self.stream:
            key = hashlib.sha256(f"{self.source}|".encode() + record.data).hexdigest()
        else:
            if not record.data.endswith(b"\n"):
                reason += "; the last line has no line end (a truncated file?)"
            key = hashlib.sha256(
                f"{self.fingerprint}|{record.offset}|".encode() + record.data
            ).hexdigest()
        raw = self._redact(text.rstrip("\r\n"), row)
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


def _natural_key(instant: str | datetime, natural: str) -> str:
    """``nk:<UTC time as digits>:<sha256 of natural>``: the key of an event without an id.

    ``instant`` is the stored time (SQLite's UTC text, or the UTC ``datetime`` bound on
    PostgreSQL); its digits lead the key so that keys of events close in time sit together in
    the unique index (an ingest's inserts land on a few pages, not all over it). Migration
    0008 gave stored keys the same prefix, from the stored time, by the same rule.
    """
    if isinstance(instant, str):
        digits = instant.replace("-", "").replace(" ", "").replace(":", "").replace(".", "")
    else:
        t = instant
        digits = (
            f"{t.year:04d}{t.month:02d}{t.day:02d}{t.hour:02d}{t.minute:02d}{t.second:02d}"
            f"{t.microsecond:06d}"
        )
    return f"nk:{digits}:{hashlib.sha256(natural.encode('utf-8')).hexdigest()}"


def _plain_json(data: bytes) -> Fields | None:
    """The plain ``Fields`` of a JSON line decoded by orjson, else None (``json`` decides).

    orjson refuses what ``json`` takes but JSON does not (NaN, lone surrogates, a BOM) and
    reads an integer beyond 64 bits as a float: neither can make a record plain, so a record
    plain by orjson's reading reads the same by ``json.loads`` (``tests/test_ingest_fast.py``).
    """
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return plain_fields(value) if type(value) is dict else None


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


def commit_batch(
    engine: Engine,
    ctx: Context,
    batch: Batch,
    totals: list[int],
    *,
    final: bool = False,
    hook: Callable[[Connection, int], None] | None = None,
) -> None:
    """One transaction: the batch's events and quarantine rows, the ingest's counts and position.

    ``hook(conn, accepted)``, when given, runs last inside the transaction (``accepted``: event
    rows inserted), so what it writes (an audit entry) commits with the batch or not at all.
    """
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
        if hook is not None:
            hook(conn, accepted)
    totals[0] += accepted
    totals[1] += duplicate
    totals[2] += quarantined
