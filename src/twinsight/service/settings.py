"""The service's settings: where the twins live, the database server, authentication,
request limits, ingest rate limits and small-cell suppression."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ServiceSettings"]

#: Largest request body accepted by default, bytes (10 MiB; a batch).
MAX_BODY_BYTES = 10 * 1024 * 1024
#: Largest single-event body accepted by default, bytes (1 MiB).
MAX_EVENT_BYTES = 1024 * 1024
#: Most events accepted in one batch request by default.
MAX_BATCH_EVENTS = 10_000
#: Ingest requests per second per token and twin, sustained; and the burst allowed.
INGEST_RATE = 200.0
INGEST_BURST = 400


class ServiceSettings(BaseModel):
    """How ``create_app`` serves twins.

    ``home`` is the folder holding twins and ``access.sqlite`` (default: ``$TWINSIGHT_HOME``,
    else ``~/.twinsight``); ``db_url`` the database URL for twins whose ``twin.yaml`` says
    ``store: url`` (never logged or answered). ``auth`` (default on) requires a bearer token on
    every route but ``/health`` and the API docs; turning it off is for local development only
    (every request then acts as an admin named ``local``). ``max_body_bytes`` is the largest
    batch body and ``max_event_bytes`` the largest single-event body, bytes;
    ``max_batch_events`` the most events in one batch. ``ingest_rate`` (requests per second,
    ``None``: no limit) and ``ingest_burst`` (requests) size each token's bucket per twin.
    ``denied_rate`` (per second, ``None``: no limit) and ``denied_burst`` bound the refused
    (401/403) requests of one client address; beyond, ``429`` without an audit entry.
    ``suppress_k``: person counts from 1 to k - 1 are answered as ``"<k"`` (1: off).
    ``retention_days``: when set, every twin keeps raw events of that many days only
    (``twinsight.govern.retention``), checked at start and every ``retention_interval_hours``.
    """

    model_config = ConfigDict(frozen=True)

    home: Path | None = None
    db_url: str | None = Field(default=None, repr=False)
    auth: bool = True
    max_body_bytes: int = Field(default=MAX_BODY_BYTES, gt=0)
    max_event_bytes: int = Field(default=MAX_EVENT_BYTES, gt=0)
    max_batch_events: int = Field(default=MAX_BATCH_EVENTS, gt=0)
    ingest_rate: float | None = Field(default=INGEST_RATE, gt=0)
    ingest_burst: int = Field(default=INGEST_BURST, ge=1)
    suppress_k: int = Field(default=5, ge=1)
    denied_rate: float | None = Field(default=2.0, gt=0)
    denied_burst: int = Field(default=20, ge=1)
    retention_days: int | None = Field(default=None, ge=1)
    retention_interval_hours: float = Field(default=24.0, gt=0)
