"""The store bookkeeping every record ingest shares: its ``ingests`` row and idempotent inserts.

ADT files go through ``_batch`` (batched, resumable); the other twins' records (outbreak counts,
blood-pressure readings, contact-centre interactions, case events) are read whole and stored in
one transaction with these three steps: ``open_ingest`` (a ``running`` row), ``insert_new``
(``INSERT ... ON CONFLICT DO NOTHING RETURNING``: a replayed record adds nothing, and the rows
returned are the ones inserted) for the records and for the quarantine, and ``close_ingest``
(the counts, ``done``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, insert, update

from ..store import IngestRow
from ._batch import _insert

__all__ = ["RecordIngestReport", "close_ingest", "insert_new", "open_ingest"]

#: Rows per INSERT statement (bounded statement size on either database).
_CHUNK = 5_000


@dataclass
class RecordIngestReport:
    """Counts of one file: accepted, duplicate (already stored or twice in the file),
    quarantined, and the first quarantine reasons."""

    source: str
    format: str
    accepted: int = 0
    duplicate: int = 0
    quarantined: int = 0
    reasons: list[str] = field(default_factory=list)
    ingest_id: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counts (at most 20 reasons)."""
        return {
            "source": self.source,
            "format": self.format,
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "quarantined": self.quarantined,
            "reasons": self.reasons[:20],
        }


def open_ingest(
    conn: Connection, source: str, fingerprint: str, fmt: str, started_at: datetime | None = None
) -> int:
    """A new ``running`` ingest of ``source``; its id."""
    new_id = conn.execute(
        insert(IngestRow)
        .values(
            source=source,
            fingerprint=fingerprint,
            format=fmt,
            started_at=started_at or datetime.now(UTC),
            status="running",
            position=0,
            accepted=0,
            duplicate=0,
            quarantined=0,
        )
        .returning(IngestRow.id)
    ).scalar_one()
    return int(new_id)


def insert_new(conn: Connection, table: Table, key: str, rows: Sequence[dict[str, Any]]) -> int:
    """Insert ``rows`` whose ``key`` is not stored yet; how many were inserted."""
    inserted = 0
    for start in range(0, len(rows), _CHUNK):
        chunk = list(rows[start : start + _CHUNK])
        inserted += len(conn.execute(_insert(conn, table, key), chunk).all())
    return inserted


def close_ingest(
    conn: Connection,
    ingest_id: int,
    *,
    accepted: int,
    duplicate: int,
    quarantined: int,
    position: int,
    done: bool = True,
) -> None:
    """Record an ingest's counts and position (and, when ``done``, that it finished)."""
    values: dict[str, Any] = {
        "accepted": accepted,
        "duplicate": duplicate,
        "quarantined": quarantined,
        "position": position,
    }
    if done:
        values.update(status="done", finished_at=datetime.now(UTC))
    conn.execute(update(IngestRow).where(IngestRow.id == ingest_id).values(values))
