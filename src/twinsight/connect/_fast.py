"""The fast path of validation: plain records decided without pydantic, with the same result.

Almost every record of a real feed is plain: text cells or JSON values of the expected types,
a timestamp like ``2026-01-05T10:00:00+01:00``, a known type and unit. ``plain_event`` accepts
such a record only when ``AdtEvent`` (pydantic) certainly accepts it and gives the same values;
anything else (odd spacing, another timestamp form, a number where text belongs, a rule broken)
returns ``None`` and takes the pydantic path, which decides and words the reason. So both paths
store the same rows and quarantine the same records with the same reasons
(``tests/test_ingest_fast.py`` checks this on generated records). It roughly halves the CPU
time per record of a file ingest (``benchmarks/ingest.py``).

The ingest itself takes the records' ``Fields`` (``plain_fields``, ``PlainCsv.fields``,
``PlainValues.fields``): the same decision, but a whole-second UTC timestamp
(``2026-01-05T10:00:00Z``) is left as its text, so the store's UTC text can be cut from it
without making a ``datetime`` (``utc_text``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from ._adt import ADT_FIELDS, AdtType

__all__ = [
    "Fields",
    "PlainCsv",
    "PlainEvent",
    "PlainValues",
    "as_event",
    "plain_csv",
    "plain_event",
    "plain_fields",
    "utc_text",
]

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
#: Calendar dates seen (``YYYY-MM-DD`` -> is it a real date); cleared when it grows this large.
_DATES: dict[str, bool] = {}
_DATES_MAX = 100_000

#: A plain record's values in ``PlainEvent`` order; ``time`` is a ``datetime``, or the text of a
#: whole-second UTC timestamp (``YYYY-MM-DDTHH:MM:SSZ`` or ``...+00:00``, year 1000 on).
Fields = tuple[
    str | None, str, datetime | str, str, str | None, str, int | None, str | None, str | None
]


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


def _real_date(day: str) -> bool:
    known = _DATES.get(day)
    if known is None:
        if len(_DATES) >= _DATES_MAX:
            _DATES.clear()
        try:
            date.fromisoformat(day)
            known = True
        except ValueError:
            known = False
        _DATES[day] = known
    return known


def _when(stamp: Any) -> datetime | str | None:
    """A plain timestamp: the text of a whole-second UTC one (its date checked), else the
    ``datetime``; None when it is not plain (pydantic decides)."""
    if type(stamp) is str:
        if not _ISO.match(stamp):
            return None
        size = len(stamp)
        if (
            (size == 20 or (size == 25 and stamp.endswith("+00:00")))
            and stamp[0] != "0"
            and (size == 25 or stamp[19] == "Z")
        ):
            return stamp if _real_date(stamp[:10]) else None
        try:
            return datetime.fromisoformat(stamp)
        except ValueError:
            return None
    if type(stamp) is datetime and stamp.utcoffset() is not None:
        return stamp
    return None


def utc_text(stamp: str) -> str:
    """The store's SQLite text (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC) of a ``Fields`` text time."""
    return stamp[:10] + " " + stamp[11:19] + ".000000"


def as_event(fields: Fields) -> PlainEvent:
    """The ``PlainEvent`` of a record's ``Fields`` (a text time read as a ``datetime``)."""
    event_id, kind, when, unit, from_unit, patient, acuity, specialty, admission = fields
    if type(when) is str:
        when = datetime.fromisoformat(when)
    assert isinstance(when, datetime)
    return PlainEvent(event_id, kind, when, unit, from_unit, patient, acuity, specialty, admission)


def _version_ok(row: Mapping[str, Any]) -> bool:
    if "v" not in row:
        return True
    v = row["v"]  # null is not absent: pydantic refuses it
    return (type(v) is int and v == 1) or (type(v) is str and v.strip() in ("1", ""))


def plain_event(row: Mapping[str, Any]) -> PlainEvent | None:
    """The event of ``row`` (field -> value; blank text means absent) if it is plain, else
    None (let pydantic decide)."""
    fields = plain_fields(row)
    return None if fields is None else as_event(fields)


def plain_fields(row: Mapping[str, Any]) -> Fields | None:
    """``plain_event`` as ``Fields``. Written inline: it runs once per record of a file."""
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
    when = _when(get("time"))
    if when is None:
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
    return (event_id, kind, when, unit, from_unit, patient, acuity, specialty, admission)


class _Positions:
    """Where each ADT field is in a record of one header (None: not there)."""

    def __init__(self, names: list[str]) -> None:
        where = {name: i for i, name in enumerate(names)}
        self.width = len(names)
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

    def rest(self, row: Sequence[Any], kind: str, unit: str, patient: str) -> Fields | None:
        """A positional record's ``Fields`` once its type, unit and patient are known plain:
        the time and the optional fields decided, else None (a CSV record's cells or a
        Parquet row's values)."""
        when = _when(row[self.time])
        if when is None:
            return None
        try:
            i = self.event_id
            event_id = None if i is None else _text(row[i], 200)
            i = self.from_unit
            from_unit = None if i is None else _text(row[i], 100)
            i = self.specialty
            specialty = None if i is None else _text(row[i], 100)
            i = self.acuity
            acuity = None if i is None else _acuity(row[i])
            i = self.admission
            admission = None if i is None else _admission(row[i])
        except _NotPlain:
            return None
        if (kind == _TRANSFER and from_unit is None) or from_unit == unit:
            return None
        return (event_id, kind, when, unit, from_unit, patient, acuity, specialty, admission)


class PlainCsv(_Positions):
    """``plain_event`` for the CSV records of one header, without building a dict per record.

    Call it with a record's text (its line end included): the event when the record is plain
    (no quote, carriage return or NUL inside; as many cells as the header), else None. The
    header's names must be distinct ADT fields with ``type``, ``time``, ``unit`` and
    ``patient_id`` among them (what the file reader checks).
    """

    def __call__(self, text: str) -> PlainEvent | None:
        fields = self.fields(text)
        return None if fields is None else as_event(fields)

    def fields(self, text: str) -> Fields | None:
        """The record's ``Fields`` when it is plain, else None."""
        body = text.rstrip("\r\n")
        if '"' in body or "\r" in body or "\n" in body or "\x00" in body:
            return None
        cells = body.split(",")
        if len(cells) != self.width:
            return None
        if self.v is not None and cells[self.v].strip() not in ("1", ""):
            return None
        kind = cells[self.type]
        unit = cells[self.unit]
        patient = cells[self.patient]
        if (
            kind not in _TYPES
            or not 0 < len(unit) <= 100
            or not 0 < len(patient) <= 200
            or unit.isspace()
            or patient.isspace()
        ):
            return None
        return self.rest(cells, kind, unit, patient)


class PlainValues(_Positions):
    """``plain_event`` for rows given as value tuples in the order of ``names`` (Parquet).

    A value of None is an absent field (a Parquet null), as ``plain_event`` reads a row
    without that key: ``PlainValues(names)(values)`` equals
    ``plain_event({k: v for k, v in zip(names, values) if v is not None})``. The names must
    be distinct ADT fields with ``type``, ``time``, ``unit`` and ``patient_id`` among them.
    """

    def __call__(self, values: tuple[Any, ...]) -> PlainEvent | None:
        fields = self.fields(values)
        return None if fields is None else as_event(fields)

    def fields(self, values: tuple[Any, ...]) -> Fields | None:
        """The row's ``Fields`` when it is plain, else None."""
        if self.v is not None:
            v = values[self.v]
            if v is not None and not (
                (type(v) is int and v == 1) or (type(v) is str and v.strip() in ("1", ""))
            ):
                return None
        kind = values[self.type]
        unit = values[self.unit]
        patient = values[self.patient]
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
        return self.rest(values, kind, unit, patient)


def plain_csv(text: str, header: list[str]) -> PlainEvent | None:
    """The event of one CSV record (``text``, its line end included) when it is plain: no
    quote, carriage return or NUL inside, as many cells as the header (whose names are
    distinct ADT fields); else None. See :class:`PlainCsv` for many records of one header."""
    if not {"type", "time", "unit", "patient_id"} <= set(header):
        return None
    return PlainCsv(header)(text)
