"""Parquet ingest: ADT events from a Parquet file into the twin's store.

The columns are the ADT v1 field names (``docs/adt-events.md``); ``time`` is a timestamp column
with a time zone or text (ISO 8601 with an offset). The file is read in record batches (one
batch of rows in memory, never the whole file), each row validated exactly as a CSV or JSON Lines
record is (``_batch.Context``), bad rows quarantined with their reason and 1-based row number.
Idempotent (event keys) and resumable: the ingest's ``position`` is the index of the next row
after the last committed batch, and a crashed ingest of the same file (same path and SHA-256 of
its first 64 KiB, as for text files) goes on from there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine

from ._adt import ADT_FIELDS
from ._batch import Batch, Context, Pseudonymise, Record, _validate, commit_batch
from ._fast import PlainValues, plain_event
from ._files import _BATCH, _FINGERPRINT_BYTES, IngestError, IngestReport, _check_readable, _start

__all__ = ["ParquetReader", "ingest_parquet"]

#: Rows decoded from Parquet at a time (a slice of a row group; bounded memory).
_READ_ROWS = 8_192
_REQUIRED = ("type", "time", "unit", "patient_id")


class _RowContext(Context):
    """A ``Context`` that takes decoded rows (mappings of Python values) instead of bytes."""

    #: The fast path for rows as value tuples in the file's column order (set by the reader).
    _plain_values: PlainValues

    def add_row(self, index: int, row: dict[str, Any], batch: Batch) -> None:
        """Validate row ``index`` (0-based; no null values in ``row``) into ``batch``."""
        batch.end = index + 1
        plain = plain_event(row)
        if plain is not None:
            batch.events.append(self._event_row(plain))
            return
        try:
            event = _validate(row, False)
        except ValueError as exc:
            data = (json.dumps(row, default=str, ensure_ascii=False) + "\n").encode("utf-8")
            record = Record(index + 1, index, index + 1, data)
            self._reject(record, data.decode("utf-8"), row, str(exc), batch)
            return
        batch.events.append(self._event_row(event))

    def add_values(
        self, index: int, values: tuple[Any, ...], names: list[str], batch: Batch
    ) -> None:
        """``add_row`` of row ``index`` given as values in the order of ``names`` (None: null);
        a plain row takes the fast path without a dict (``PlainValues``)."""
        fields = self._plain_values.fields(values)
        if fields is not None:
            batch.end = index + 1
            batch.events.append(self._row(*fields))
            return
        row = {k: v for k, v in zip(names, values, strict=True) if v is not None}
        self.add_row(index, row, batch)


class ParquetReader:
    """One Parquet file opened for ingest: schema checked, the ingest row found or made.

    ``rows()`` yields ``(row index, row)`` from the resume position on; ``add`` validates a row
    into a ``Batch`` for ``commit_batch``. Raises ``IngestError`` when the file is not Parquet
    (a truncated file has no footer) or its columns are not ADT v1.
    """

    def __init__(self, path: Path, engine: Engine, pseudonymise: Pseudonymise) -> None:
        path = Path(path)
        _check_readable(path)
        self.path = path
        try:
            self._file = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as exc:
            raise IngestError(
                f"{path}: not a readable Parquet file ({_first_line(exc)}); a file cut short "
                "(copied or written while incomplete) has no footer: copy it again whole"
            ) from None
        schema = self._file.schema_arrow
        self.columns = list(schema.names)
        _check_columns(path, self.columns, schema)
        self.num_rows = int(self._file.metadata.num_rows)
        with path.open("rb") as handle:
            fingerprint = hashlib.sha256(handle.read(_FINGERPRINT_BYTES)).hexdigest()
        self.source = str(path.resolve())
        self.ingest_id, self.position = _start(
            engine, self.source, fingerprint, "parquet", self.num_rows
        )
        self.ctx = _RowContext(
            self.source,
            fingerprint,
            self.ingest_id,
            None,
            pseudonymise,
            engine.dialect.name == "sqlite",
        )
        self.ctx._plain_values = PlainValues(self.columns)

    def rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(0-based row index, {column: value})`` from ``position`` on; nulls left out."""
        names = self.columns
        for base, columns in self.chunks():
            for i, values in enumerate(zip(*columns, strict=True)):
                yield base + i, {k: v for k, v in zip(names, values, strict=True) if v is not None}

    def chunks(self) -> Iterator[tuple[int, list[list[Any]]]]:
        """``(0-based index of the first row, [values of each column])`` from ``position`` on,
        a slice of a row group at a time; a null is None."""
        start = self.position
        groups: list[int] = []
        first = 0  # index of the first row of the first group read
        offset = 0
        meta = self._file.metadata
        for g in range(meta.num_row_groups):
            size = meta.row_group(g).num_rows
            if offset + size > start:
                if not groups:
                    first = offset
                groups.append(g)
            offset += size
        if not groups:
            return
        index = first
        try:
            for chunk in self._file.iter_batches(batch_size=_READ_ROWS, row_groups=groups):
                skip = start - index
                index += chunk.num_rows
                if skip >= chunk.num_rows:
                    continue
                if skip > 0:
                    chunk = chunk.slice(skip)
                yield index - chunk.num_rows, [c.to_pylist() for c in chunk.columns]
        except (pa.ArrowException, OSError) as exc:
            raise IngestError(
                f"{self.path}: cannot read the Parquet data after row {index} "
                f"({_first_line(exc)}); what was read before is stored: repair or re-export "
                "the file and ingest it again"
            ) from None

    def add(self, index: int, row: dict[str, Any], batch: Batch) -> None:
        """Validate row ``index`` into ``batch`` (an event or a quarantine row)."""
        self.ctx.add_row(index, row, batch)

    def close(self) -> None:
        """Release the file."""
        self._file.close()


def ingest_parquet(
    path: Path, engine: Engine, pseudonymise: Pseudonymise, *, batch_size: int = _BATCH
) -> IngestReport:
    """Ingest one Parquet file of ADT events; resume an interrupted ingest of the same file.

    The report's ``resumed_from`` is the row index it went on from (0: from the start).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    reader = ParquetReader(path, engine, pseudonymise)
    totals = [0, 0, 0]
    batch = Batch([], [])
    names = reader.columns
    add = reader.ctx.add_values
    try:
        for base, columns in reader.chunks():
            for index, values in enumerate(zip(*columns, strict=True), base):
                add(index, values, names, batch)
                if len(batch.events) + len(batch.rejects) >= batch_size:
                    commit_batch(engine, reader.ctx, batch, totals)
                    batch = Batch([], [])
        commit_batch(engine, reader.ctx, batch, totals, final=True)
    finally:
        reader.close()
    return IngestReport(
        reader.source, "parquet", totals[0], totals[1], totals[2], reader.ingest_id, reader.position
    )


def _check_columns(path: Path, columns: list[str], schema: pa.Schema) -> None:
    unknown = [c for c in columns if c not in ADT_FIELDS]
    missing = [f for f in _REQUIRED if f not in columns]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if unknown or missing or repeated:
        problems = []
        if unknown:
            problems.append(f"unknown columns {', '.join(unknown)}")
        if missing:
            problems.append(f"missing columns {', '.join(missing)}")
        if repeated:
            problems.append(f"repeated columns {', '.join(repeated)}")
        raise IngestError(
            f"{path}: the Parquet columns are not ADT v1 ({'; '.join(problems)}); "
            f"the columns are {', '.join(ADT_FIELDS)} (docs/adt-events.md)"
        )
    kind = schema.field("time").type
    if pa.types.is_timestamp(kind) and kind.tz is None:
        raise IngestError(
            f"{path}: column 'time' is a timestamp without a time zone, so its instants are "
            "ambiguous; write it with a zone (e.g. pyarrow timestamp('us', tz='UTC')) or as "
            "ISO 8601 text with an offset"
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
