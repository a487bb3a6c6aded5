"""Request and response bodies of the HTTP API (pydantic), separate from the store's tables.

An ingest request body is one ADT event v1 object (``twinsight.connect.AdtEvent``, see
``docs/adt-events.md``) or a batch of them; it is read as raw bytes and validated by the record
sink, so a bad record is quarantined rather than refused by the framework.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AuditEntryOut",
    "AuditList",
    "AuditVerification",
    "BatchResult",
    "Count",
    "Health",
    "IngestResult",
    "Problem",
    "TwinList",
    "TwinState",
    "TwinSummary",
]


class IngestResult(BaseModel):
    """What one committed request stored (durable before this answer is sent).

    ``accepted``: events new to the store; ``duplicate``: events it already held (same
    ``event_id``, or same patient, type, time and unit); ``quarantined``: records rejected and
    kept in quarantine with the reason; ``ingest_id``: the ingest (``ingests`` row) of this
    server's stream into the twin, shared by all its requests.
    """

    accepted: int = Field(ge=0)
    duplicate: int = Field(ge=0)
    quarantined: int = Field(ge=0)
    ingest_id: int


class BatchResult(IngestResult):
    """Counts for a batch: ``received`` records (blank NDJSON lines not counted)."""

    received: int = Field(ge=0)


class TwinSummary(BaseModel):
    """A twin in the home folder: name, template, and where its events are kept."""

    name: str
    template: str
    #: ``sqlite`` (the twin's own file) or ``url`` (a database server).
    store: str


class TwinList(BaseModel):
    """The twins in the service's home folder, by name."""

    twins: list[TwinSummary]


#: A count of people: a number, ``"<k"`` when it is between 1 and k - 1 (suppressed), or
#: ``"[c]"`` when hidden so that a total shown beside it does not give a small count away.
Count = int | str


class TwinState(BaseModel):
    """The hospital at instant ``at``: counts only, never a patient key (``docs/state.md``).

    Person counts (census, patients, in_ed, dropped) from 1 to k - 1 are answered as ``"<k"``;
    ``"[c]"`` hides a count that the totals would otherwise give away (docs/security.md).
    """

    twin: str
    at: datetime
    #: Patients present per unit (the ED included, boarders counted there).
    census: dict[str, Count]
    patients: Count = Field(description="patients in hospital at 'at'")
    in_ed: Count
    dropped_stale: Count = Field(description="patients left out by the stale rule")
    dropped_by_unit: dict[str, Count]
    events: int = Field(ge=0, description="stored events at or before 'at' replayed")
    stale_after_hours: float = Field(description="inpatient stale horizon, hours")
    ed_stale_after_hours: float = Field(description="ED stale limit used, hours")


class Health(BaseModel):
    """The service is up; ``twins_open`` twins have their store open."""

    status: str = "ok"
    version: str
    twins_open: int = Field(ge=0)


class Problem(BaseModel):
    """RFC 9457 problem details (``application/problem+json``); extension members may follow."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["urn:twinsight:problem:twin-not-found"])
    title: str
    status: int
    detail: str
    instance: str


class AuditEntryOut(BaseModel):
    """One audit entry (``twinsight.govern.audit``): who did what, and the chain's hashes."""

    seq: int
    at: datetime
    actor: str = Field(description="token:<id>, cli:<login> or local; never a token")
    action: str
    target: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class AuditList(BaseModel):
    """The newest entries of a twin's audit log, oldest first."""

    twin: str
    entries: list[AuditEntryOut]


class AuditVerification(BaseModel):
    """The chain checked: intact, or the first entry edited, removed or reordered."""

    twin: str
    intact: bool
    entries: int = Field(ge=0)
    head_seq: int = Field(ge=0)
    head_hash: str
    problem: dict[str, Any] | None = Field(
        description="kind (edited, removed, reordered, anchor), seq, message; null when intact"
    )
    anchor_seq: int | None = Field(
        default=None,
        description="the entry the anchor outside the database vouches for (null: none yet; "
        "below head_seq: an append was interrupted after its commit)",
    )
