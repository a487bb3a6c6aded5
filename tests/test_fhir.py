"""FHIR R4 Encounters in: mapping to ADT events, validation, quarantine, idempotency, privacy,
recognition by content, the emulator round trip and the CLI (SQLite and PostgreSQL)."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from typer.testing import CliRunner

from twinsight.assimilate import current_state
from twinsight.cli import app
from twinsight.connect import IngestError, detect_format, ingest_fhir, ingest_file, ingest_path
from twinsight.emulate import Defects, emulate_hospital, write_events
from twinsight.emulate._fhir_writer import write_fhir
from twinsight.govern import KEY_ENV, Pseudonymiser
from twinsight.store import AdtEventRow, IngestRow, QuarantineRow, open_store

SECRET = Pseudonymiser(b"fhir test secret, sixteen bytes or more")
ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
RAW_IDS = ("pat-1001", "pat-1002", "pat-1003", "pat-1004", "pat-9009")
runner = CliRunner()


def _enc(
    enc_id: str,
    klass: str,
    patient: str,
    status: str = "finished",
    start: str = "2026-03-02T08:15:00Z",
    end: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    period = {"start": start} if end is None else {"start": start, "end": end}
    return {
        "resourceType": "Encounter",
        "id": enc_id,
        "meta": {"versionId": "1", "lastUpdated": "2026-03-06T12:00:00Z"},
        "status": status,
        "class": {"system": ACT, "code": klass},
        "subject": {"reference": f"Patient/{patient}", "display": "Jane Q. Example"},
        "period": period,
        **extra,
    }


def _loc(unit: str, start: str, end: str | None = None) -> dict[str, Any]:
    period = {"start": start} if end is None else {"start": start, "end": end}
    return {
        "location": {"reference": f"Location/{unit.lower()}", "display": unit},
        "status": "completed" if end else "active",
        "period": period,
    }


ESI = {"coding": [{"system": "https://twinsight.dev/fhir/CodeSystem/triage-level", "code": "2"}]}
EMD = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/admit-source", "code": "emd"}]}
ADMITTED = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0112", "code": "09"}]}
HOME = {
    "coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/discharge-disposition", "code": "home"}
    ]
}

#: An ED visit sent home; an ED visit admitted to MED1, then ICU, then MED1; an elective stay
#: still in progress; a Patient and a Location (skipped).
RESOURCES: list[dict[str, Any]] = [
    {"resourceType": "Patient", "id": "pat-1001", "identifier": [{"value": "pat-1001"}]},
    _enc("ed-1", "EMER", "pat-1001", end="2026-03-02T11:00:00+01:00", priority={
        "coding": [{"system": "https://twinsight.dev/fhir/CodeSystem/triage-level", "code": "4"}]
    }, hospitalization={"dischargeDisposition": HOME}),
    _enc("ed-2", "EMER", "pat-1002", start="2026-03-02T09:00:00Z", end="2026-03-02T13:40:00Z",
         priority=ESI, hospitalization={"dischargeDisposition": ADMITTED}),
    _enc("ip-2", "IMP", "pat-1002", start="2026-03-02T13:40:00Z", end="2026-03-06T11:05:00Z",
         hospitalization={"admitSource": EMD},
         serviceType={"coding": [{"system": "http://snomed.info/sct", "code": "419192003",
                                  "display": "medicine"}]},
         location=[
             _loc("MED1", "2026-03-02T13:40:00Z", "2026-03-03T02:00:00Z"),
             _loc("ICU", "2026-03-03T02:00:00Z", "2026-03-04T10:00:00Z"),
             _loc("MED1", "2026-03-04T10:00:00Z", "2026-03-06T11:05:00Z"),
         ]),
    _enc("ip-3", "IMP", "pat-1003", status="in-progress", start="2026-03-03T07:30:00Z",
         priority={"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActPriority",
                               "code": "EL"}]},
         serviceType={"text": "orthopaedics"},
         location=[_loc("ORTHO", "2026-03-03T07:30:00Z")]),
    {"resourceType": "Location", "id": "med1", "name": "MED1"},
]  # fmt: skip

#: (type, time, unit, from_unit, acuity, specialty, admission, raw patient) in UTC.
EXPECTED = {
    ("arrival", "2026-03-02 08:15:00", "ED", None, 4, None, None, "pat-1001"),
    ("discharge", "2026-03-02 10:00:00", "ED", None, None, None, None, "pat-1001"),
    ("arrival", "2026-03-02 09:00:00", "ED", None, 2, None, None, "pat-1002"),
    ("admit", "2026-03-02 13:40:00", "MED1", "ED", None, "medicine", "emergency", "pat-1002"),
    ("transfer", "2026-03-03 02:00:00", "ICU", "MED1", None, "medicine", None, "pat-1002"),
    ("transfer", "2026-03-04 10:00:00", "MED1", "ICU", None, "medicine", None, "pat-1002"),
    ("discharge", "2026-03-06 11:05:00", "MED1", None, None, None, None, "pat-1002"),
    ("admit", "2026-03-03 07:30:00", "ORTHO", None, None, "orthopaedics", "elective", "pat-1003"),
}


def _bundle(path: Path, resources: list[dict[str, Any]]) -> Path:
    entries = [{"fullUrl": f"urn:uuid:{i:08d}", "resource": r} for i, r in enumerate(resources)]
    doc = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


def _ndjson(path: Path, lines: list[Any]) -> Path:
    text_lines = [x if isinstance(x, str) else json.dumps(x) for x in lines]
    path.write_text("".join(line + "\n" for line in text_lines), encoding="utf-8")
    return path


def _events(engine: Engine) -> set[tuple[Any, ...]]:
    names = {SECRET(raw): raw for raw in RAW_IDS}
    cols = (AdtEventRow.type, AdtEventRow.time, AdtEventRow.unit, AdtEventRow.from_unit,
            AdtEventRow.acuity, AdtEventRow.specialty, AdtEventRow.admission,
            AdtEventRow.patient_key)  # fmt: skip
    with engine.connect() as conn:
        rows = conn.execute(select(*cols)).all()
    return {
        (*r[:1], r[1].strftime("%Y-%m-%d %H:%M:%S"), *r[2:7], names.get(r[7], r[7])) for r in rows
    }


def _reasons(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(str(r) for r in conn.execute(select(QuarantineRow.reason)).scalars())


def _dump(engine: Engine) -> str:
    out = []
    with engine.connect() as conn:
        for table in ("adt_events", "quarantine", "ingests"):
            out += [repr(tuple(row)) for row in conn.execute(text(f"SELECT * FROM {table}"))]
    return "\n".join(out)


def test_a_bundle_becomes_the_expected_adt_events(store: Engine, tmp_path: Path) -> None:
    report = ingest_fhir(_bundle(tmp_path / "visits.json", RESOURCES), store, SECRET)
    assert _events(store) == EXPECTED
    assert (report.accepted, report.duplicate, report.quarantined) == (8, 0, 0)
    assert (report.resources, report.skipped, report.format) == (6, 2, "fhir")
    with store.connect() as conn:
        keys = set(conn.execute(select(AdtEventRow.event_key)).scalars())
    assert "id:fhir:Encounter/ip-2:admit" in keys and "id:fhir:Encounter/ip-2:transfer:2" in keys


def test_ndjson_gives_the_same_events_as_the_bundle(store: Engine, tmp_path: Path) -> None:
    report = ingest_path(_ndjson(tmp_path / "visits.ndjson", RESOURCES), store, SECRET)
    assert _events(store) == EXPECTED
    assert (report.accepted, report.quarantined) == (8, 0)


def test_a_one_line_bundle_in_ndjson_is_read_entry_by_entry(tmp_path: Path) -> None:
    engine = open_store(tmp_path / "s.db")
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": r} for r in RESOURCES]}  # fmt: skip
    report = ingest_fhir(_ndjson(tmp_path / "b.ndjson", [bundle]), engine, SECRET)
    assert _events(engine) == EXPECTED and report.skipped == 2


def _bad_resources() -> list[Any]:
    no_status = _enc("bad-1", "EMER", "pat-9009")
    del no_status["status"]
    return [
        no_status,
        _enc("bad-2", "EMER", "pat-9009", start="2026-02-30T08:00:00Z"),  # not a date
        _enc("bad-3", "EMER", "pat-9009", end="2026-03-02T07:00:00Z"),  # ends before it starts
        _enc("bad-4", "AMB", "pat-9009", end="2026-03-02T09:00:00Z"),  # not a bed movement
        _enc("bad-5", "IMP", "pat-9009", status="in-progress"),  # no location
        _enc("bad-6", "EMER", "pat-9009"),  # finished without an end
        _enc("bad-7", "EMER", "pat-9009", status="done", end="2026-03-02T09:00:00Z"),
        {**_enc("bad-8", "EMER", "pat-9009"), "subject": {"reference": "Patient/pat-9009",
                                                          "bogus": "pat-9009"}},
        '{"resourceType": "Encounter", "subject": {"reference": "Patient/pat-9009"',  # cut
        "[1, 2]",
        _enc("ed-ok", "EMER", "pat-1004", status="in-progress"),
    ]  # fmt: skip


def test_invalid_resources_are_quarantined_with_their_reasons(
    store: Engine, tmp_path: Path
) -> None:
    report = ingest_fhir(_ndjson(tmp_path / "bad.ndjson", _bad_resources()), store, SECRET)
    assert (report.accepted, report.quarantined) == (1, 10)
    reasons = _reasons(store)
    assert len(reasons) == 10
    expected = [
        "status: Value for the field 'status' is required",
        "period.start: Input should be a valid datetime or date, day value is outside",
        "impossible times: period.end 2026-03-02T07:00:00Z is before period.start",
        "class 'AMB'",
        "needs location[]",
        "status is finished but period.end is missing",
        "status 'done' is not an R4 Encounter status",
        "subject.bogus: Extra inputs are not permitted",
        "malformed JSON",
        "not a JSON object",
    ]
    for part in expected:
        assert sum(part in r for r in reasons) == 1, (part, reasons)
    assert all(r.startswith("FHIR validation") for r in reasons if "status: Value" in r)
    everything = _dump(store)
    assert "pat-9009" not in everything and "Jane Q. Example" not in everything
    assert f"pseudonym:{SECRET('pat-9009')}" in everything
    # the same bad file again: counted again, stored once
    again = ingest_fhir(tmp_path / "bad.ndjson", store, SECRET)
    assert (again.accepted, again.duplicate, again.quarantined) == (0, 1, 10)
    assert len(_reasons(store)) == 10


def test_reingesting_adds_nothing(store: Engine, tmp_path: Path) -> None:
    path = _ndjson(tmp_path / "visits.ndjson", RESOURCES)
    ingest_fhir(path, store, SECRET)
    again = ingest_fhir(path, store, SECRET)
    assert (again.accepted, again.duplicate, again.quarantined) == (0, 8, 0)
    as_bundle = ingest_fhir(_bundle(tmp_path / "visits.json", RESOURCES), store, SECRET)
    assert (as_bundle.accepted, as_bundle.duplicate) == (0, 8)
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(AdtEventRow)).scalar_one() == 8


def test_an_updated_encounter_adds_only_its_new_events(store: Engine, tmp_path: Path) -> None:
    first = _enc("ip-9", "IMP", "pat-1004", status="in-progress", start="2026-03-02T10:00:00Z",
                 hospitalization={"admitSource": EMD},
                 location=[_loc("ED", "2026-03-02T10:00:00Z")])  # fmt: skip
    report = ingest_fhir(_ndjson(tmp_path / "v1.ndjson", [first]), store, SECRET)
    assert (report.accepted, report.skipped) == (0, 1)  # still boarding in the ED: no movement
    second = copy.deepcopy(first)
    second["location"] = [
        _loc("ED", "2026-03-02T10:00:00Z", "2026-03-02T14:00:00Z"),
        _loc("SURG", "2026-03-02T14:00:00Z"),
    ]
    report = ingest_fhir(_ndjson(tmp_path / "v2.ndjson", [second]), store, SECRET)
    assert report.accepted == 1
    third = copy.deepcopy(second)
    third["location"][1] = _loc("SURG", "2026-03-02T14:00:00Z", "2026-03-04T09:00:00Z")
    third["location"].append(_loc("ICU", "2026-03-04T09:00:00Z", "2026-03-05T09:00:00Z"))
    third.update(status="finished", period={"start": "2026-03-02T10:00:00Z",
                                            "end": "2026-03-05T09:00:00Z"})  # fmt: skip
    report = ingest_fhir(_ndjson(tmp_path / "v3.ndjson", [third]), store, SECRET)
    assert (report.accepted, report.duplicate) == (2, 1)
    assert _events(store) == {
        ("admit", "2026-03-02 14:00:00", "SURG", "ED", None, None, "emergency", "pat-1004"),
        ("transfer", "2026-03-04 09:00:00", "ICU", "SURG", None, None, None, "pat-1004"),
        ("discharge", "2026-03-05 09:00:00", "ICU", None, None, None, None, "pat-1004"),
    }


def test_raw_patient_ids_are_stored_nowhere(store: Engine, tmp_path: Path) -> None:
    ingest_fhir(_bundle(tmp_path / "visits.json", RESOURCES + _bad_resources()[:8]), store, SECRET)
    everything = _dump(store)
    assert everything and not any(raw in everything for raw in RAW_IDS)
    with store.connect() as conn:
        keys = set(conn.execute(select(AdtEventRow.patient_key)).scalars())
    assert keys == {SECRET("pat-1001"), SECRET("pat-1002"), SECRET("pat-1003")}
    if store.dialect.name == "sqlite":
        store.dispose()
        database = Path(str(store.url.database))
        blob = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
        assert not any(raw.encode() in blob for raw in RAW_IDS)


def test_fhir_files_are_recognised_by_content(tmp_path: Path) -> None:
    assert detect_format(_bundle(tmp_path / "visits.json", RESOURCES)) == "fhir"
    assert detect_format(_ndjson(tmp_path / "visits.jsonl", RESOURCES)) == "fhir"
    assert detect_format(_ndjson(tmp_path / "visits.ndjson", RESOURCES)) == "fhir"
    assert detect_format(_bundle(tmp_path / "visits.txt", RESOURCES)) == "fhir"
    adt = {"v": 1, "type": "arrival", "time": "2026-03-02T08:15:00Z", "unit": "ED",
           "patient_id": "x"}  # fmt: skip
    assert detect_format(_ndjson(tmp_path / "events.json", [adt])) == "jsonl"
    with pytest.raises(IngestError, match="ingest_path or ingest_fhir"):
        ingest_file(tmp_path / "visits.json", open_store(tmp_path / "s.db"), SECRET)


def test_a_large_document_is_refused_with_the_ndjson_advice(tmp_path: Path) -> None:
    path = _bundle(tmp_path / "big.json", RESOURCES)
    engine = open_store(tmp_path / "s.db")
    with pytest.raises(IngestError, match="NDJSON"):
        ingest_fhir(path, engine, SECRET, max_document_bytes=100)
    path.write_text('{"resourceType": "Bundle", "entry": [', encoding="utf-8")
    with pytest.raises(IngestError, match="not a FHIR JSON document"):
        ingest_fhir(path, engine, SECRET)
    pretty = json.dumps({"resourceType": "Bundle", "entry": [{"resource": RESOURCES[1]}]}, indent=1)
    path.write_text(pretty.replace('"EMER"', '"EMER",'), encoding="utf-8")  # a stray comma
    with pytest.raises(IngestError, match="not a FHIR JSON document"):
        ingest_fhir(path, engine, SECRET)


def test_ndjson_with_a_broken_first_line_is_still_ndjson(tmp_path: Path) -> None:
    engine = open_store(tmp_path / "s.db")
    lines = ['{"resourceType": "Encounter", "id": "cut', *RESOURCES]
    report = ingest_fhir(_ndjson(tmp_path / "v.ndjson", lines), engine, SECRET)
    assert (report.accepted, report.quarantined) == (8, 1)
    assert _events(engine) == EXPECTED
    assert "malformed JSON" in _reasons(engine)[0]


class _Crash(RuntimeError):
    pass


def test_an_interrupted_ndjson_ingest_resumes_by_byte_offset(tmp_path: Path) -> None:
    """A failure mid-file (here the pseudonymiser, after 40 patients) leaves the committed
    batches and the position; the next run goes on from there and the totals add up."""
    resources = [
        _enc(f"ed-{i}", "EMER", f"p{i}", start=f"2026-03-{1 + i % 28:02d}T08:00:00Z",
             end=f"2026-03-{1 + i % 28:02d}T12:00:00Z")
        for i in range(100)
    ]  # fmt: skip
    path = _ndjson(tmp_path / "many.ndjson", resources)
    engine = open_store(tmp_path / "s.db")
    calls = 0

    def failing(raw: str) -> str:
        nonlocal calls
        calls += 1
        if calls > 40:
            raise _Crash("key store unavailable")
        return SECRET(raw)

    with pytest.raises(_Crash):
        ingest_fhir(path, engine, failing, batch_size=10)
    with engine.connect() as conn:
        status, position, accepted = conn.execute(
            select(IngestRow.status, IngestRow.position, IngestRow.accepted)
        ).one()
    assert status == "running" and 0 < position < path.stat().st_size and accepted >= 20
    report = ingest_fhir(path, engine, SECRET, batch_size=10)
    assert report.resumed_from == position and report.duplicate == 0
    assert accepted + report.accepted == 200


@pytest.mark.parametrize("layout", ["ndjson", "json"])
def test_emulator_to_fhir_to_ingest_matches_the_csv_ingest(tmp_path: Path, layout: str) -> None:
    """The same clean history (no defects: a flat feed's dropped, duplicated, late or malformed
    rows have no counterpart in Encounters) ingested as ADT CSV and as FHIR gives the same
    events (all fields but the event id) and the same current state: exact, no tolerance."""
    result = emulate_hospital(10, 7, beds=60, defects=Defects.none())
    write_events(result.rows, tmp_path / "a.csv")
    encounters = write_fhir(result.truth.events, tmp_path / f"a.{layout}")
    csv_store, fhir_store = open_store(tmp_path / "csv.db"), open_store(tmp_path / "fhir.db")
    csv_report = ingest_path(tmp_path / "a.csv", csv_store, SECRET)
    fhir_report = ingest_path(tmp_path / f"a.{layout}", fhir_store, SECRET)
    assert fhir_report.format == "fhir" and fhir_report.quarantined == 0
    assert csv_report.accepted == fhir_report.accepted == len(result.truth.events)
    assert encounters < fhir_report.accepted

    def events(engine: Engine) -> Counter[tuple[Any, ...]]:
        with engine.connect() as conn:
            rows = conn.execute(
                select(AdtEventRow.patient_key, AdtEventRow.type, AdtEventRow.time,
                       AdtEventRow.unit, AdtEventRow.from_unit, AdtEventRow.acuity,
                       AdtEventRow.specialty, AdtEventRow.admission)
            ).all()  # fmt: skip
        return Counter(tuple(r) for r in rows)

    assert events(csv_store) == events(fhir_store)
    from_csv, from_fhir = current_state(csv_store), current_state(fhir_store)
    assert from_csv.at == from_fhir.at
    assert from_csv.census == from_fhir.census and sum(from_csv.census.values()) > 0


def test_cli_ingest_fhir_json_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    home = str(tmp_path / "home")
    result = emulate_hospital(3, 1, beds=40, defects=Defects.none())
    out = tmp_path / "visits.ndjson"
    write_fhir(result.truth.events, out)
    events = len(result.truth.events)
    assert runner.invoke(app, ["init", "ward", "--home", home]).exit_code == 0
    first = runner.invoke(app, ["ingest", "ward", str(out), "--home", home, "--json"])
    assert first.exit_code == 0, first.output
    counts = json.loads(first.stdout)
    assert (counts["accepted"], counts["duplicate"], counts["quarantined"]) == (events, 0, 0)
    assert counts["files"][0]["format"] == "fhir"
    assert counts["files"][0]["resources"] == counts["files"][0]["skipped"] + len(
        [e for e in result.truth.events if e["type"] in ("arrival", "admit")]
    )
    again = runner.invoke(app, ["ingest", "ward", str(out), "--home", home, "--json"])
    counts = json.loads(again.stdout)
    assert (counts["accepted"], counts["duplicate"], counts["quarantined"]) == (0, events, 0)
    said = runner.invoke(app, ["ingest", "ward", str(out), "--home", home]).stdout
    assert f"0 accepted, {events} duplicate, 0 quarantined from " in said and "FHIR" in said


def test_cli_emulate_writes_fhir(tmp_path: Path) -> None:
    out = tmp_path / "visits.ndjson"
    args = ["emulate", "hospital", "--days", "3", "--beds", "40", "--out", str(out)]
    made = runner.invoke(app, [*args, "--format", "fhir", "--json"])
    assert made.exit_code == 0, made.output
    summary = json.loads(made.stdout)
    assert summary["format"] == "fhir" and 0 < summary["encounters"] < summary["events"]
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == summary["encounters"] and detect_format(out) == "fhir"
    assert {json.loads(x)["class"]["code"] for x in lines} == {"EMER", "IMP"}
    bundle = tmp_path / "visits.json"
    assert runner.invoke(app, [*args[:-1], str(bundle), "--format", "fhir"]).exit_code == 0
    assert json.loads(bundle.read_text(encoding="utf-8"))["resourceType"] == "Bundle"
    bad = runner.invoke(app, [*args[:-1], str(tmp_path / "v.csv"), "--format", "fhir"])
    assert bad.exit_code == 2 and ".ndjson" in bad.output
    bad = runner.invoke(app, [*args, "--format", "hl7v2"])
    assert bad.exit_code == 2 and "--format" in bad.output


def test_mapping_details(tmp_path: Path) -> None:
    """Skipped statuses, the forms of subject, planned and same-unit locations, unit names
    from a reference, and a date without a time of day."""
    by_url = _enc("ed-u", "EMER", "x", status="in-progress")
    by_url["subject"] = {"reference": "https://ehr.example.org/fhir/Patient/pat-1001/_history/3"}
    by_identifier = _enc("ed-i", "EMER", "x", status="in-progress", start="2026-03-03T08:00:00Z")
    by_identifier["subject"] = {"identifier": {"system": "urn:oid:1.2.3", "value": "pat-1002"}}
    stay = _enc("ip-d", "ACUTE", "pat-1003", status="in-progress", start="2026-03-02T10:00:00Z",
                location=[
                    {"location": {"reference": "Location/SURG"},
                     "period": {"start": "2026-03-02T10:00:00Z"}},
                    _loc("SURG", "2026-03-02T12:00:00Z"),  # another bed, same unit
                    {**_loc("ICU", "2026-03-05T12:00:00Z"), "status": "planned"},
                ])  # fmt: skip
    resources = [
        _enc("c-1", "EMER", "pat-1004", status="cancelled"),
        _enc("c-2", "IMP", "pat-1004", status="entered-in-error"),
        _enc("c-3", "EMER", "pat-1004", status="planned"),
        by_url,
        by_identifier,
        stay,
        _enc("d-1", "EMER", "pat-1004", status="in-progress", start="2026-03-02"),
    ]
    engine = open_store(tmp_path / "s.db")
    report = ingest_fhir(_ndjson(tmp_path / "v.ndjson", resources), engine, SECRET)
    assert (report.resources, report.skipped, report.quarantined) == (7, 3, 1)
    names = {SECRET("pat-1001"): "pat-1001", SECRET("urn:oid:1.2.3|pat-1002"): "pat-1002",
             SECRET("pat-1003"): "pat-1003"}  # fmt: skip
    with engine.connect() as conn:
        rows = conn.execute(select(AdtEventRow.patient_key, AdtEventRow.type, AdtEventRow.unit))
        got = {(names[r[0]], r[1], r[2]) for r in rows}
    assert got == {
        ("pat-1001", "arrival", "ED"),
        ("pat-1002", "arrival", "ED"),
        ("pat-1003", "admit", "SURG"),
    }
    assert "period.start '2026-03-02' has no time of day" in _reasons(engine)[0]


def test_an_ed_visit_ending_in_an_admission_is_found_without_codes(
    store: Engine, tmp_path: Path
) -> None:
    """Without the disposition and admit-source codes, the file itself says it: an inpatient
    stay of the same patient that begins when the ED visit ends, or is ``partOf`` it."""
    timed = [
        _enc("ed-a", "EMER", "pat-1001", end="2026-03-02T12:00:00Z"),
        _enc("ip-a", "IMP", "pat-1001", status="in-progress", start="2026-03-02T12:00:00Z",
             location=[_loc("MED2", "2026-03-02T12:00:00Z")]),
    ]  # fmt: skip
    linked = [
        _enc("ed-b", "EMER", "pat-1002", end="2026-03-02T12:00:00Z"),
        _enc("ip-b", "IMP", "pat-1002", status="in-progress", start="2026-03-02T12:30:00Z",
             partOf={"reference": "Encounter/ed-b"},
             location=[_loc("SURG", "2026-03-02T12:30:00Z")]),
    ]  # fmt: skip
    alone = [_enc("ed-c", "EMER", "pat-1003", end="2026-03-02T12:00:00Z")]
    path = _ndjson(tmp_path / "v.ndjson", [linked[1], *timed, linked[0], *alone])
    report = ingest_fhir(path, store, SECRET)
    assert (report.accepted, report.quarantined) == (6, 0)
    assert _events(store) == {
        ("arrival", "2026-03-02 08:15:00", "ED", None, None, None, None, "pat-1001"),
        ("admit", "2026-03-02 12:00:00", "MED2", "ED", None, None, "emergency", "pat-1001"),
        ("arrival", "2026-03-02 08:15:00", "ED", None, None, None, None, "pat-1002"),
        ("admit", "2026-03-02 12:30:00", "SURG", "ED", None, None, "emergency", "pat-1002"),
        ("arrival", "2026-03-02 08:15:00", "ED", None, None, None, None, "pat-1003"),
        ("discharge", "2026-03-02 12:00:00", "ED", None, None, None, None, "pat-1003"),
    }
    state = current_state(store)
    assert state.census == {"MED2": 1, "SURG": 1}
