"""ADT events (admission, discharge, transfer): the hospital twin's record of reality, version 1.

One event is one movement of one patient at one instant. Files carry them as CSV (a header row
with the field names below) or JSON Lines (one object per line). Documented in
``docs/adt-events.md``; the version is the ``v`` field (``1``).

Fields: ``v`` (1), ``event_id`` (optional), ``type``, ``time`` (ISO 8601 with an offset),
``unit``, ``from_unit``, ``patient_id``, ``acuity`` (1-5), ``specialty``, ``admission``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = ["ADT_FIELDS", "AdtEvent", "AdtType", "parse_adt"]


class AdtType(StrEnum):
    """The kinds of movement."""

    arrival = "arrival"
    admit = "admit"
    transfer = "transfer"
    discharge = "discharge"


class AdtEvent(BaseModel):
    """One ADT event, validated (see the module docstring for the fields)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1] = 1
    event_id: str | None = Field(default=None, min_length=1, max_length=200)
    type: AdtType
    time: AwareDatetime
    unit: str = Field(min_length=1, max_length=100)
    from_unit: str | None = Field(default=None, min_length=1, max_length=100)
    patient_id: str = Field(min_length=1, max_length=200)
    acuity: int | None = Field(default=None, ge=1, le=5)
    specialty: str | None = Field(default=None, min_length=1, max_length=100)
    admission: Literal["emergency", "elective"] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> AdtEvent:
        if self.type == AdtType.transfer and self.from_unit is None:
            raise ValueError("a transfer needs 'from_unit' (the unit the patient left)")
        if self.from_unit is not None and self.from_unit == self.unit:
            raise ValueError("'from_unit' and 'unit' are the same: not a movement")
        return self

    def natural_key(self) -> tuple[str, str, datetime, str]:
        """(patient, type, time, unit): identifies an event that has no ``event_id``."""
        return (self.patient_id, self.type.value, self.time, self.unit)


#: Field names in file order (CSV header).
ADT_FIELDS = list(AdtEvent.model_fields)


def parse_adt(row: dict[str, Any]) -> AdtEvent:
    """Validate one raw record (CSV strings or JSON values). Empty strings mean absent.

    Raises ``ValueError`` with a one-line reason naming the field, for quarantine.
    """
    clean = {k: v for k, v in row.items() if not (isinstance(v, str) and v.strip() == "")}
    if isinstance(clean.get("v"), str) and clean["v"].strip().isdigit():
        clean["v"] = int(clean["v"])  # CSV cells are text; the version is a number
    try:
        return AdtEvent.model_validate(clean)
    except ValidationError as exc:
        reasons = []
        for err in exc.errors(include_url=False):
            where = ".".join(str(x) for x in err["loc"]) or "record"
            msg = str(err["msg"]).removeprefix("Value error, ")
            reasons.append(f"{where}: {msg}")
        raise ValueError("; ".join(reasons)) from None
