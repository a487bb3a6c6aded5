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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Literal

from sqlalchemy import Engine, insert, select

from ..store import IngestRow
from ._adt import ADT_FIELDS
from ._batch import Batch, Context, Pseudonymise, Record, commit_batch
from ._fhir_sniff import looks_like_fhir

__all__ = ["IngestError", "IngestReport", "detect_format", "ingest_file", "ingest_files"]

FileFormat = Literal["csv", "jsonl", "parquet", "fhir"]

_FINGERPRINT_BYTES = 64 * 1024
_EXTENSIONS: dict[str, FileFormat] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
#: Records per transaction by default. Larger batches amortise each commit's sync and write each
#: page of the randomly keyed patient index once per batch instead of once per smaller batch
#: (204k events: 17% fewer bytes written than at 25,000); one batch's rows are about 25 MB.
_BATCH = 50_000
#: Physical lines one CSV record may span (quoted line breaks) before a quote counts as stray.
_MAX_CONTINUATION = 50


class IngestError(ValueError):
    """A whole file cannot be ingested (missing, unreadable, a CSV header that is not ADT)."""


@dataclass(frozen=True)
class IngestReport:
    """What one ingest of one file did in this run (a resumed run counts only its own part)."""

    source: str
    format: str
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


def detect_format(path: Path) -> FileFormat:
    """By extension, else by content: ``PAR1`` magic: Parquet; first non-blank ``{``: JSONL.

    A ``.json`` / ``.jsonl`` / ``.ndjson`` file (or one without a known extension) whose first
    JSON object has a ``resourceType`` key is FHIR (``fhir``: a Bundle or NDJSON resources).
    """
    known = _EXTENSIONS.get(path.suffix.lower())
    if known is not None and known != "jsonl":
        return known
    with path.open("rb") as handle:
        raw = handle.read(65536)
        if raw.startswith(b"PAR1"):
            return "parquet"
        head = raw.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if looks_like_fhir(head):  # FHIR JSON (Bundle or NDJSON), whatever the extension
        return "fhir"
    if known is not None:
        return known
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
    if fmt == "parquet":
        raise IngestError(f"{path}: a Parquet file: ingest it with ingest_path or ingest_parquet")
    if fmt == "fhir":
        raise IngestError(f"{path}: a FHIR file: ingest it with ingest_path or ingest_fhir")
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
        ctx = Context(source, fingerprint, ingest_id, header, pseudonymise, is_sqlite)
        totals = [0, 0, 0]
        batch = Batch([], [])
        for record in _records(handle, start, line, fmt):
            ctx.add(record, batch)
            if len(batch.events) + len(batch.rejects) >= batch_size:
                commit_batch(engine, ctx, batch, totals)
                batch = Batch([], [])
        commit_batch(engine, ctx, batch, totals, final=True)
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


def _records(handle: IO[bytes], start: int, line: int, fmt: FileFormat) -> Iterator[Record]:
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
                yield Record(item[0], item[1], item[1] + len(raw), raw)
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


def _join(lines: list[tuple[int, int, bytes]]) -> Record:
    data = b"".join(raw for _, _, raw in lines)
    first_line, first_offset, _ = lines[0]
    return Record(first_line, first_offset, first_offset + len(data), data)


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
