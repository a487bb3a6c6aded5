"""Record sink: ADT records that do not come from a file (MQTT, HTTP, Parquet rows, FHIR).

A connector ``add``s records (a JSON object as bytes or text, or a mapping) and ``commit``s: one
transaction stores the pending events, their quarantine rows and the ingest's counts, and only
then does the connector acknowledge them to its source (an MQTT PUBACK, an HTTP 200). Nothing is
acknowledged that is not committed; a record delivered twice is a ``duplicate`` (event key), and
a bad record delivered twice is quarantined once (keyed by source and bytes).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, insert

from ..store import IngestRow
from ._batch import Batch, Context, Pseudonymise, Record, commit_batch
from ._files import IngestReport

__all__ = ["BatchCounts", "RecordSink"]


@dataclass(frozen=True)
class BatchCounts:
    """What one commit of a sink stored: events new to the store, known ones, quarantined."""

    accepted: int
    duplicate: int
    quarantined: int


def _json_default(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


class RecordSink:
    """Validate, pseudonymise and store ADT records from a stream, in explicit commits.

    ``source`` names where the records come from (``mqtt://host:1883/topic``, ``http``, a file
    path); ``fmt`` is recorded on the ingest (``mqtt``, ``http``, ``parquet``, ``fhir``). Use it
    as a context manager, or call ``close()``: the ingest is then marked done with its totals.
    """

    def __init__(
        self, engine: Engine, pseudonymise: Pseudonymise, source: str, fmt: str = "jsonl"
    ) -> None:
        self.engine = engine
        self.source = source
        self.format = fmt
        started = datetime.now(UTC)
        fingerprint = hashlib.sha256(f"{source}|{started.isoformat()}".encode()).hexdigest()
        with engine.begin() as conn:
            row = {
                "source": source,
                "fingerprint": fingerprint,
                "format": fmt,
                "started_at": started,
                "accepted": 0,
                "duplicate": 0,
                "quarantined": 0,
                "status": "running",
                "position": 0,
            }
            self.ingest_id = int(
                conn.execute(insert(IngestRow).values(row).returning(IngestRow.id)).scalar_one()
            )
        self._ctx = Context(
            source,
            fingerprint,
            self.ingest_id,
            None,
            pseudonymise,
            engine.dialect.name == "sqlite",
            stream=True,
        )
        self._batch = Batch([], [])
        self._seq = 0
        self._totals = [0, 0, 0]
        self._closed = False

    @property
    def pending(self) -> int:
        """Records added since the last commit."""
        return len(self._batch.events) + len(self._batch.rejects)

    @property
    def totals(self) -> BatchCounts:
        """Everything this sink has committed so far."""
        return BatchCounts(*self._totals)

    def add(self, data: bytes | str | Mapping[str, Any]) -> str | None:
        """Take one record (a JSON object); it is stored at the next ``commit``.

        Returns the event's key in the store (``id:<event_id>`` or
        ``nk:<time digits>:<hash>``), or None when the record goes to quarantine.
        """
        if self._closed:
            raise RuntimeError("the sink is closed")
        if isinstance(data, Mapping):
            raw = json.dumps(dict(data), default=_json_default, ensure_ascii=False).encode()
        elif isinstance(data, str):
            raw = data.encode("utf-8")
        else:
            raw = bytes(data)
        self._seq += 1
        if not self.pending:  # a long-lived sink: each batch carries its own receipt time
            self._ctx.stamp()
        events = len(self._batch.events)
        self._ctx.add(Record(self._seq, self._seq, self._seq, raw), self._batch)
        # a stream has no byte position to resume from: keep the ingest's position at 0
        self._batch.end = 0
        return str(self._batch.events[-1][0]) if len(self._batch.events) > events else None

    def commit(self, hook: Callable[[Connection, int], None] | None = None) -> BatchCounts:
        """Store the pending records in one transaction; what this commit stored.

        ``hook(conn, accepted)`` runs inside that transaction (see ``commit_batch``).
        """
        before = list(self._totals)
        commit_batch(self.engine, self._ctx, self._batch, self._totals, hook=hook)
        self._batch = Batch([], [])
        return BatchCounts(*(after - b for after, b in zip(self._totals, before, strict=True)))

    def close(self) -> IngestReport:
        """Commit what is pending, mark the ingest done; the report of the whole sink."""
        if not self._closed:
            commit_batch(self.engine, self._ctx, self._batch, self._totals, final=True)
            self._batch = Batch([], [])
            self._closed = True
        accepted, duplicate, quarantined = self._totals
        return IngestReport(
            self.source, self.format, accepted, duplicate, quarantined, self.ingest_id
        )

    def __enter__(self) -> RecordSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
