"""The fast path of ADT validation (``connect._fast``) decides exactly as pydantic does.

Whenever the fast path accepts a record, ``AdtEvent`` must accept the same record and hold the
same values; the records it declines take the pydantic path (so they are decided there, with
their reasons). Generated records mix plain values with the odd ones a feed produces.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twinsight.connect._adt import ADT_FIELDS, AdtEvent, parse_adt
from twinsight.connect._batch import Context, _plain_json
from twinsight.connect._fast import (
    PlainCsv,
    PlainEvent,
    PlainValues,
    as_event,
    plain_csv,
    plain_event,
    plain_fields,
)

_ODD_TEXT = st.one_of(
    st.sampled_from([" ED", "ED ", "", "  ", "x" * 101, "é", "a,b", 'q"q']), st.text(max_size=8)
)
_PLAIN_TIMES = st.one_of(
    st.sampled_from(
        [
            "2026-01-05T10:00:00+01:00",
            "2026-01-05T10:00:00Z",
            "2026-01-05T10:00:00.5Z",
            "2026-01-05T10:00:00.123456-05:30",
        ]
    ),
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2040, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-3, minutes=-30))]),
    ),
)
_ODD_TIMES = st.one_of(
    st.sampled_from(
        [
            "2026-01-05T10:00:00.1234567Z",
            "2026-01-05 10:00:00+00:00",
            "2026-01-05T10:00:00",
            "2026-02-30T10:00:00Z",
            "2026-01-05T24:00:00Z",
            "2026-01-05T10:00:60Z",
            "2026-01-05T10:00:00+24:00",
            "2026-01-05T10:00:00+00:60",
            "2026-01-05T10:00:00+23:59",
            "2026-01-05T10:00:00-18:00",
            "2026-01-05T10:00+00:00",
            " 2026-01-05T10:00:00Z",
            "1767607200",
            "",
        ]
    ),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)),
)
#: field -> (plain values, odd values); a generated record is mostly plain, a few fields odd.
_VALUES: dict[str, tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]] = {
    "v": (st.sampled_from([None, 1, "1"]), st.sampled_from([" 1 ", "", 2, "2", True, 1.0, "x"])),
    "event_id": (st.one_of(st.none(), st.sampled_from(["e1", "x" * 200])), _ODD_TEXT),
    "type": (
        st.sampled_from(["arrival", "admit", "transfer", "discharge"]),
        st.sampled_from(["Admit", "x", "", " admit", 3]),
    ),
    "time": (_PLAIN_TIMES, _ODD_TIMES),
    "unit": (st.sampled_from(["ED", "MED1", "ICU", "x" * 100]), st.one_of(_ODD_TEXT, st.just(5))),
    "from_unit": (st.sampled_from([None, "ED", "MED1"]), _ODD_TEXT),
    "patient_id": (st.sampled_from(["p1", "MRN-0042"]), st.one_of(_ODD_TEXT, st.just(12345))),
    "acuity": (
        st.sampled_from([None, 1, 5, "3"]),
        st.sampled_from([0, 6, " 3", "3.0", "", 3.0, True, "x"]),
    ),
    "specialty": (st.sampled_from([None, "medicine"]), _ODD_TEXT),
    "admission": (
        st.sampled_from([None, "emergency", "elective"]),
        st.sampled_from(["Elective", "", " ", 1]),
    ),
}


@st.composite
def _rows(draw: st.DrawFn) -> dict[str, Any]:
    row = {}
    for key, (plain, odd) in _VALUES.items():
        row[key] = draw(odd if draw(st.integers(0, 9)) == 0 else plain)
    row = {k: v for k, v in row.items() if v is not None or draw(st.booleans())}
    if draw(st.integers(0, 20)) == 0:
        row["colour"] = "red"
    return row


def _pydantic(row: dict[str, Any]) -> AdtEvent | None:
    try:
        return parse_adt(row)
    except ValueError:
        return None


def _same(plain: PlainEvent, event: AdtEvent) -> None:
    assert plain.event_id == event.event_id
    assert plain.type == event.type.value
    assert plain.time == event.time  # the same instant
    assert plain.time.utcoffset() == event.time.utcoffset()
    assert plain.unit == event.unit
    assert plain.from_unit == event.from_unit
    assert plain.patient_id == event.patient_id
    assert plain.acuity == event.acuity
    assert plain.specialty == event.specialty
    assert plain.admission == event.admission


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_rows())
def test_a_record_the_fast_path_accepts_is_one_pydantic_accepts_with_the_same_values(
    row: dict[str, Any],
) -> None:
    plain = plain_event(row)
    if plain is not None:
        event = _pydantic(row)
        assert event is not None, row
        _same(plain, event)


def _line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_rows(), st.permutations(ADT_FIELDS), st.sampled_from(["\n", "\r\n", ""]))
def test_a_csv_line_the_fast_path_accepts_reads_as_the_csv_reader_and_pydantic_read_it(
    row: dict[str, Any], header: list[str], end: str
) -> None:
    cells = [str(row.get(h, "")) if not isinstance(row.get(h), datetime) else "" for h in header]
    text = _line(cells).rstrip("\n") + end
    plain = plain_csv(text, list(header))
    if plain is not None:
        parsed = next(csv.reader([text]))
        event = _pydantic(dict(zip(header, parsed, strict=True)))
        assert event is not None, text
        _same(plain, event)


def test_plain_records_do_take_the_fast_path() -> None:
    """The fast path is not a dead branch: the records of a normal feed are plain."""
    row = {
        "v": 1,
        "event_id": "e1",
        "type": "transfer",
        "time": "2026-01-05T10:00:00+01:00",
        "unit": "MED1",
        "from_unit": "ED",
        "patient_id": "p1",
        "acuity": 3,
        "specialty": "medicine",
        "admission": "emergency",
    }
    plain = plain_event(row)
    assert plain is not None
    _same(plain, parse_adt(row))
    header = list(row)
    text = ",".join(str(row[h]) for h in header) + "\r\n"
    assert plain_csv(text, header) == plain
    assert plain_event({**row, "time": datetime(2026, 1, 5, 9, tzinfo=UTC)}) is not None
    # and the odd ones are left to pydantic
    for odd in ({"acuity": " 3"}, {"time": "2026-01-05T10:00:00"}, {"unit": 5}, {"x": 1}):
        assert plain_event({**row, **odd}) is None, odd


# --- the rows the ingest stores: the fast path's row is the pydantic path's row, per format ---


def _context(sqlite: bool, header: list[str] | None = None) -> Context:
    def pseudonymise(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    return Context("src", "fp", 7, header, pseudonymise, sqlite)


def _slow_row(ctx: Context, row: dict[str, Any]) -> tuple[Any, ...] | None:
    event = _pydantic(row)
    return None if event is None else ctx._event_row(event)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_rows(), st.booleans())
def test_the_fast_row_of_a_record_is_the_row_pydantic_gives(
    row: dict[str, Any], sqlite: bool
) -> None:
    """``plain_fields`` -> ``_row`` stores exactly what ``parse_adt`` -> ``_event_row`` stores
    (the UTC text or instant, the event key, the pseudonym), also when ``time`` stays text."""
    fields = plain_fields(row)
    if fields is not None:
        ctx = _context(sqlite)
        assert ctx._row(*fields) == _slow_row(ctx, row), row
        assert as_event(fields) == plain_event(row)


def _json_line(row: dict[str, Any], odd: int) -> bytes:
    """``row`` as a JSON line, now and then with what ``json`` and orjson read differently."""
    text = json.dumps(row, default=str)
    if odd == 1:
        text = text.replace("}", ', "acuity": 123456789012345678901234567890}', 1)
    elif odd == 2:
        text = text.replace("}", ', "acuity": NaN}', 1)
    elif odd == 3:
        text = "\ufeff" + text
    elif odd == 4:
        text = text.replace("{", '{"unit": "\\ud800", ', 1)
    elif odd == 5:
        text = text.replace("{", '{"type": "discharge", ', 1)  # a repeated key: the last wins
    return (text + "\n").encode("utf-8")


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_rows(), st.integers(0, 8), st.booleans())
def test_a_json_line_orjson_finds_plain_reads_the_same_with_json(
    row: dict[str, Any], odd: int, sqlite: bool
) -> None:
    """orjson decodes JSON Lines on the fast path; a line it finds plain is one ``json.loads``
    reads to the same record, stored as the same row."""
    data = _json_line(row, odd)
    fields = _plain_json(data)
    if fields is not None:
        value = json.loads(data.decode("utf-8"))
        assert isinstance(value, dict)
        assert plain_fields(value) == fields
        ctx = _context(sqlite)
        assert ctx._row(*fields) == _slow_row(ctx, value)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_rows(), st.permutations(ADT_FIELDS), st.sampled_from(["\n", "\r\n", ""]), st.booleans())
def test_the_fast_row_of_a_csv_line_is_the_row_the_csv_reader_and_pydantic_give(
    row: dict[str, Any], header: list[str], end: str, sqlite: bool
) -> None:
    cells = [str(row.get(h, "")) if not isinstance(row.get(h), datetime) else "" for h in header]
    text = _line(cells).rstrip("\n") + end
    fields = PlainCsv(list(header)).fields(text)
    if fields is not None:
        parsed = next(csv.reader([text]))
        ctx = _context(sqlite, list(header))
        assert ctx._row(*fields) == _slow_row(ctx, dict(zip(header, parsed, strict=True))), text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_rows(), st.permutations(ADT_FIELDS))
def test_plain_values_decide_as_plain_event_on_the_row_without_nulls(
    row: dict[str, Any], names: list[str]
) -> None:
    """Parquet rows: ``PlainValues`` on a value tuple (None: null) is ``plain_event`` on the
    dict of the non-null values."""
    values = tuple(row.get(n) for n in names)
    expected = plain_event({n: v for n, v in zip(names, values, strict=True) if v is not None})
    if "colour" not in row:
        assert PlainValues(list(names))(values) == expected


def test_whole_second_utc_times_stay_text_and_others_become_datetimes() -> None:
    base = {"type": "arrival", "unit": "ED", "patient_id": "p1"}
    for stamp in ("2026-01-05T10:00:00Z", "2026-01-05T10:00:00+00:00"):
        fields = plain_fields({**base, "time": stamp})
        assert fields is not None and fields[2] == stamp
    for stamp in ("2026-01-05T10:00:00.5Z", "2026-01-05T10:00:00+01:00", "0999-01-05T10:00:00Z"):
        fields = plain_fields({**base, "time": stamp})
        assert fields is not None and isinstance(fields[2], datetime), stamp
    assert plain_fields({**base, "time": "2026-02-29T10:00:00Z"}) is None  # not a date
    assert plain_fields({**base, "time": "2028-02-29T10:00:00Z"}) is not None  # a leap day
