"""Ingest over HTTP: a request body into records, the records into the twin's sink.

One event: the body is one JSON object; it is stored, or quarantined and answered as a 422
problem with the reason. A batch: a JSON array of objects, or NDJSON (one object per line,
blank lines skipped); bad records are quarantined and the rest stored, all in one transaction.
A body that is not JSON at all (or not UTF-8) is refused with 400 and nothing is stored: the
client still holds it. Requests to a twin are committed in groups (``group_commit``): each is
answered after the transaction holding its records and its audit entry has committed.
``ingest_event`` and ``ingest_batch`` run on the event loop; ``parse_batch`` blocks (a worker
thread for large bodies).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ...connect import parse_adt
from ..problems import ProblemError
from ..schemas import BatchResult, IngestResult
from .group_commit import GroupCommitter, Request

__all__ = [
    "BATCH_TYPES",
    "EVENT_TYPES",
    "NDJSON_TYPES",
    "ingest_batch",
    "ingest_event",
    "parse_batch",
    "parse_event",
]

#: Media types of one event, and of a batch (JSON array; NDJSON).
EVENT_TYPES = ("application/json",)
NDJSON_TYPES = ("application/x-ndjson", "application/jsonl")
BATCH_TYPES = EVENT_TYPES + NDJSON_TYPES

Record = bytes | Mapping[str, Any]


def _decode(body: bytes) -> Any:
    """The JSON value of ``body`` (UTF-8), or a 400 problem saying where it breaks."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProblemError(
            400,
            "malformed-json",
            "Malformed JSON",
            f"the body is not UTF-8 text (byte {exc.start}): send JSON encoded as UTF-8",
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProblemError(
            400,
            "malformed-json",
            "Malformed JSON",
            f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
        ) from None


def parse_event(body: bytes) -> Any:
    """The JSON value of a one-event body (400 problem when it is not JSON)."""
    return _decode(body)


def _reason(value: Any) -> str:
    """Why the sink rejected ``value`` (the reason it recorded in quarantine)."""
    if not isinstance(value, dict):
        return (
            f"the body must be one JSON object (an ADT event), not {type(value).__name__}: "
            "post arrays to /events/batch"
        )
    try:
        parse_adt(value)
    except ValueError as exc:
        return str(exc)
    return "the record was rejected"  # pragma: no cover - the sink validates as parse_adt does


async def ingest_event(
    committer: GroupCommitter, body: bytes, actor: str = "local"
) -> IngestResult:
    """Store one event; a 400 problem when ``body`` is not JSON, 422 when it is quarantined.

    Answered once the group commit holding it has committed (with its audit entry).
    """
    value = parse_event(body)
    outcome = await committer.submit(Request((body,), actor, "http:events"))
    if outcome.quarantined:
        raise ProblemError(
            422,
            "invalid-event",
            "Invalid event",
            _reason(value),
            accepted=0,
            duplicate=0,
            quarantined=outcome.quarantined,
            ingest_id=outcome.ingest_id,
        )
    return IngestResult(
        accepted=outcome.accepted,
        duplicate=outcome.duplicate,
        quarantined=0,
        ingest_id=outcome.ingest_id,
    )


def _too_many(count: int, limit: int) -> ProblemError:
    return ProblemError(
        413,
        "too-many-events",
        "Too many events",
        f"the batch holds {count} events, more than the limit of {limit}: "
        "split it into several requests",
        limit=limit,
    )


def parse_batch(body: bytes, media_type: str, limit: int) -> list[Record]:
    """The records of a batch body: JSON array elements or NDJSON lines (at most ``limit``)."""
    if media_type in NDJSON_TYPES:
        lines = [line for line in body.split(b"\n") if line.strip()]
        if len(lines) > limit:
            raise _too_many(len(lines), limit)
        return [line.rstrip(b"\r") for line in lines]
    value = _decode(body)
    if not isinstance(value, list):
        raise ProblemError(
            422,
            "invalid-batch",
            "Invalid batch",
            f"a batch is a JSON array of ADT events (or NDJSON), not a {type(value).__name__}: "
            "post one event to /events",
        )
    if len(value) > limit:
        raise _too_many(len(value), limit)
    return [v if isinstance(v, dict) else json.dumps(v).encode() for v in value]


async def ingest_batch(
    committer: GroupCommitter, records: list[Record], actor: str = "local"
) -> BatchResult:
    """Store a batch in one transaction (never split): bad records quarantined, the rest
    stored; audited in that transaction."""
    outcome = await committer.submit(Request(records, actor, "http:events/batch"))
    return BatchResult(
        accepted=outcome.accepted,
        duplicate=outcome.duplicate,
        quarantined=outcome.quarantined,
        ingest_id=outcome.ingest_id,
        received=len(records),
    )
