"""Data watermarks: what a run saw of the stored observations (the latest ingest that stored
one and the latest time one was received), for run records (``docs/store.md``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, func, select

from ._models import ObservationRow

__all__ = ["as_utc", "observations_watermark", "rows_watermark"]


def as_utc(value: Any) -> datetime | None:
    """A timestamp read from the store as an aware UTC datetime (SQLite returns an aggregate
    such as ``max(received_at)`` as text, without the column type's conversion)."""
    if value is None:
        return None
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(at, datetime)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def rows_watermark(
    engine: Engine, row: Any, *where: ColumnElement[bool]
) -> tuple[int | None, datetime | None]:
    """The latest ingest id and ``received_at`` of the rows of ``row`` (a stored model with
    both columns: observations, case events, interactions) matching ``where`` ((None, None):
    none stored)."""
    query = select(func.max(row.ingest_id), func.max(row.received_at))
    with engine.connect() as conn:
        latest = conn.execute(query.where(*where)).one()
    return (None if latest[0] is None else int(latest[0])), as_utc(latest[1])


def observations_watermark(
    engine: Engine, *where: ColumnElement[bool]
) -> tuple[int | None, datetime | None]:
    """The latest ingest id and ``received_at`` of the observations matching ``where``
    ((None, None): none stored)."""
    return rows_watermark(engine, ObservationRow, *where)
