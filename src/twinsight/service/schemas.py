"""Request and response bodies of the HTTP API (pydantic), separate from the store's tables.

An ingest request body is one ADT event v1 object (``twinsight.connect.AdtEvent``, see
``docs/adt-events.md``) or a batch of them; it is read as raw bytes and validated by the record
sink, so a bad record is quarantined rather than refused by the framework.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BatchResult",
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


class TwinState(BaseModel):
    """The hospital at instant ``at``: counts only, never a patient key (``docs/state.md``)."""

    twin: str
    at: datetime
    #: Patients present per unit (the ED included, boarders counted there).
    census: dict[str, int]
    patients: int = Field(ge=0, description="patients in hospital at 'at'")
    in_ed: int = Field(ge=0)
    dropped_stale: int = Field(ge=0, description="patients left out by the stale rule")
    dropped_by_unit: dict[str, int]
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
