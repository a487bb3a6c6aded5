"""The fast path of ADT validation (``connect._fast``) decides exactly as pydantic does.

Whenever the fast path accepts a record, ``AdtEvent`` must accept the same record and hold the
same values; the records it declines take the pydantic path (so they are decided there, with
their reasons). Generated records mix plain values with the odd ones a feed produces.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twinsight.connect._adt import ADT_FIELDS, AdtEvent, parse_adt
from twinsight.connect._fast import PlainEvent, plain_csv, plain_event

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
