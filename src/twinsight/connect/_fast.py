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

__all__ = ["PlainEvent", "plain_csv", "plain_event"]

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
    return value if value.strip() else None  # blank means absent (parse_adt)


def _required(value: Any, longest: int) -> str:
    text = _text(value, longest)
    if text is None:
        raise _NotPlain
    return text


def _time(value: Any) -> datetime:
    if type(value) is str and _ISO.match(value):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise _NotPlain from None
    if type(value) is datetime and value.utcoffset() is not None:
        return value
    raise _NotPlain


def _acuity(value: Any) -> int | None:
    if value is None:
        return None
    if type(value) is int and 1 <= value <= 5:
        return value
    if type(value) is str:
        if not value.strip():
            return None
        if value in _ACUITY:
            return _ACUITY[value]
    raise _NotPlain


def _admission(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is str:
        if not value.strip():
            return None
        if value in _ADMISSIONS:
            return value
    raise _NotPlain


def _version_ok(row: Mapping[str, Any]) -> bool:
    if "v" not in row:
        return True
    v = row["v"]  # null is not absent: pydantic refuses it
    return (type(v) is int and v == 1) or (type(v) is str and v.strip() in ("1", ""))


def plain_event(row: Mapping[str, Any]) -> PlainEvent | None:
    """The event of ``row`` (field -> value; blank text means absent) if it is plain, else
    None (let pydantic decide)."""
    if not row.keys() <= _FIELDS or not _version_ok(row):
        return None
    kind = row.get("type")
    if type(kind) is not str or kind not in _TYPES:
        return None
    try:
        unit = _required(row.get("unit"), 100)
        from_unit = _text(row.get("from_unit"), 100)
        if (kind == _TRANSFER and from_unit is None) or from_unit == unit:
            return None
        return PlainEvent(
            _text(row.get("event_id"), 200),
            kind,
            _time(row.get("time")),
            unit,
            from_unit,
            _required(row.get("patient_id"), 200),
            _acuity(row.get("acuity")),
            _text(row.get("specialty"), 100),
            _admission(row.get("admission")),
        )
    except _NotPlain:
        return None


def plain_csv(text: str, header: list[str]) -> PlainEvent | None:
    """The event of one CSV record (``text``, its line end included) when it is plain: no
    quote, carriage return or NUL inside, as many cells as the header (whose names are
    distinct ADT fields); else None."""
    body = text.rstrip("\r\n")
    if '"' in body or "\r" in body or "\n" in body or "\x00" in body:
        return None
    cells = body.split(",")
    if len(cells) != len(header):
        return None
    return plain_event(dict(zip(header, cells, strict=True)))
