"""The service's settings: where the twins live, the database server, request limits."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ServiceSettings"]

#: Largest request body accepted by default, bytes (10 MB).
MAX_BODY_BYTES = 10_000_000
#: Most events accepted in one batch request by default.
MAX_BATCH_EVENTS = 10_000


class ServiceSettings(BaseModel):
    """How ``create_app`` serves twins.

    ``home`` is the folder holding twins (default: ``$TWINSIGHT_HOME``, else ``~/.twinsight``);
    ``db_url`` the database URL for twins whose ``twin.yaml`` says ``store: url`` (never logged
    or answered); ``max_body_bytes`` the largest request body, bytes; ``max_batch_events`` the
    most events in one batch request.
    """

    model_config = ConfigDict(frozen=True)

    home: Path | None = None
    db_url: str | None = Field(default=None, repr=False)
    max_body_bytes: int = Field(default=MAX_BODY_BYTES, gt=0)
    max_batch_events: int = Field(default=MAX_BATCH_EVENTS, gt=0)
