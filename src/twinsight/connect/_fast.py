"""The fast path of validation: plain records decided without pydantic, with the same result.

Almost every record of a real feed is plain: text cells or JSON values of the expected types,
a timestamp like ``2026-01-05T10:00:00+01:00``, a known type and unit. ``plain_event`` accepts
such a record only when ``AdtEvent`` (pydantic) certainly accepts it and gives the same values;
anything else (odd spacing, another timestamp form, a number where text belongs, a rule broken)
returns ``None`` and takes the pydantic path, which decides and words the reason. So both paths
store the same rows and quarantine the same records with the same reasons
(``tests/test_ingest_fast.py`` checks this on generated records). It roughly halves the CPU
time per record of a file ingest (``benchmarks/ingest.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from ._adt import ADT_FIELDS, AdtType

__all__ = ["PlainCsv", "PlainEvent", "plain_csv", "plain_event"]

_TYPES = frozenset(t.value for t in AdtType)
_ADMISSIONS = frozenset(("emergency", "elective"))
_ACUITY = {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5}
_FIELDS = frozenset(ADT_FIELDS)
#: Timestamps both pydantic and ``datetime.fromisoformat`` read, to the same instant.
_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?"
    r"(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)\Z"
)
_TRANSFER = AdtType.transfer.value


class PlainEvent(NamedTuple):
    """A validated event's values (what ``AdtEvent`` would hold)."""

    event_id: str | None
    type: str
    time: datetime
    unit: str
    from_unit: str | None
    patient_id: str
    acuity: int | None
    specialty: str | None
    admission: str | None


class _NotPlain(Exception):
    """The record is not plain: pydantic decides."""


def _text(value: Any, longest: int) -> str | None:
    """A text field: None when absent (or blank), else the text if it is plain."""
    if value is None:
        return None
    if type(value) is not str or len(value) > longest:
        raise _NotPlain
    return None if not value or value.isspace() else value  # blank means absent (parse_adt)


def _acuity(value: Any) -> int | None:
    if value is None:
        return None
    if type(value) is int and 1 <= value <= 5:
        return value
    if type(value) is str:
        if value in _ACUITY:
            return _ACUITY[value]
        if not value or value.isspace():
            return None
    raise _NotPlain


def _admission(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is str:
        if value in _ADMISSIONS:
            return value
        if not value or value.isspace():
            return None
    raise _NotPlain


def _version_ok(row: Mapping[str, Any]) -> bool:
    if "v" not in row:
        return True
    v = row["v"]  # null is not absent: pydantic refuses it
    return (type(v) is int and v == 1) or (type(v) is str and v.strip() in ("1", ""))


def plain_event(row: Mapping[str, Any]) -> PlainEvent | None:
    """The event of ``row`` (field -> value; blank text means absent) if it is plain, else
    None (let pydantic decide). Written inline: it runs once per record of a file."""
    if not row.keys() <= _FIELDS or ("v" in row and not _version_ok(row)):
        return None
    get = row.get
    kind = get("type")
    unit = get("unit")
    patient = get("patient_id")
    if (
        type(kind) is not str
        or kind not in _TYPES
        or type(unit) is not str
        or type(patient) is not str
        or not 0 < len(unit) <= 100
        or not 0 < len(patient) <= 200
        or unit.isspace()
        or patient.isspace()
    ):
        return None
    stamp = get("time")
    if type(stamp) is str:
        if not _ISO.match(stamp):
            return None
        try:
            when = datetime.fromisoformat(stamp)
        except ValueError:
            return None
    elif type(stamp) is datetime and stamp.utcoffset() is not None:
        when = stamp
    else:
        return None
    event_id = get("event_id")
    from_unit = get("from_unit")
    specialty = get("specialty")
    acuity = get("acuity")
    admission = get("admission")
    try:
        if event_id is not None:
            event_id = _text(event_id, 200)
        if from_unit is not None:
            from_unit = _text(from_unit, 100)
        if specialty is not None:
            specialty = _text(specialty, 100)
        if acuity is not None:
            acuity = _acuity(acuity)
        if admission is not None:
            admission = _admission(admission)
    except _NotPlain:
        return None
    if (kind == _TRANSFER and from_unit is None) or from_unit == unit:
        return None
    return PlainEvent(event_id, kind, when, unit, from_unit, patient, acuity, specialty, admission)


class PlainCsv:
    """``plain_event`` for the CSV records of one header, without building a dict per record.

    Call it with a record's text (its line end included): the event when the record is plain
    (no quote, carriage return or NUL inside; as many cells as the header), else None. The
    header's names must be distinct ADT fields with ``type``, ``time``, ``unit`` and
    ``patient_id`` among them (what the file reader checks).
    """

    def __init__(self, header: list[str]) -> None:
        where = {name: i for i, name in enumerate(header)}
        self.width = len(header)
        self.v = where.get("v")
        self.type = where["type"]
        self.time = where["time"]
        self.unit = where["unit"]
        self.patient = where["patient_id"]
        self.event_id = where.get("event_id")
        self.from_unit = where.get("from_unit")
        self.acuity = where.get("acuity")
        self.specialty = where.get("specialty")
        self.admission = where.get("admission")

    def __call__(self, text: str) -> PlainEvent | None:
        body = text.rstrip("\r\n")
        if '"' in body or "\r" in body or "\n" in body or "\x00" in body:
            return None
        cells = body.split(",")
        if len(cells) != self.width:
            return None
        if self.v is not None and cells[self.v].strip() not in ("1", ""):
            return None
        kind = cells[self.type]
        stamp = cells[self.time]
        unit = cells[self.unit]
        patient = cells[self.patient]
        if (
            kind not in _TYPES
            or not _ISO.match(stamp)
            or not 0 < len(unit) <= 100
            or not 0 < len(patient) <= 200
            or unit.isspace()
            or patient.isspace()
        ):
            return None
        try:
            when = datetime.fromisoformat(stamp)
            event_id = self._optional(cells, self.event_id, 200)
            from_unit = self._optional(cells, self.from_unit, 100)
            specialty = self._optional(cells, self.specialty, 100)
            acuity = _acuity(cells[self.acuity]) if self.acuity is not None else None
            admission = _admission(cells[self.admission]) if self.admission is not None else None
        except (ValueError, _NotPlain):
            return None
        if (kind == _TRANSFER and from_unit is None) or from_unit == unit:
            return None
        return PlainEvent(
            event_id, kind, when, unit, from_unit, patient, acuity, specialty, admission
        )

    @staticmethod
    def _optional(cells: list[str], index: int | None, longest: int) -> str | None:
        if index is None:
            return None
        return _text(cells[index], longest)


def plain_csv(text: str, header: list[str]) -> PlainEvent | None:
    """The event of one CSV record (``text``, its line end included) when it is plain: no
    quote, carriage return or NUL inside, as many cells as the header (whose names are
    distinct ADT fields); else None. See :class:`PlainCsv` for many records of one header."""
    if not {"type", "time", "unit", "patient_id"} <= set(header):
        return None
    return PlainCsv(header)(text)
