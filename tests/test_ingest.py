"""File ingest: idempotent replay, quarantine with reasons, no raw identifiers, resume, CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from typer.testing import CliRunner

from twinsight.cli import app
from twinsight.connect import IngestError, detect_format, ingest_file
from twinsight.govern import KEY_ENV, Pseudonymiser
from twinsight.store import AdtEventRow, IngestRow, QuarantineRow, open_store
from twinsight.twin import init_twin

SECRET = Pseudonymiser(b"test secret, sixteen bytes or more")
HEADER = "v,event_id,type,time,unit,from_unit,patient_id,acuity,specialty,admission\n"

GOOD_JSONL = [
    {"v": 1, "event_id": "e-1", "type": "arrival", "time": "2026-03-02T08:15:00Z",
     "unit": "ED", "patient_id": "MRN0042", "acuity": 3},
    {"v": 1, "event_id": "e-2", "type": "admit", "time": "2026-03-02T13:40:00Z", "unit": "MED1",
     "from_unit": "ED", "patient_id": "MRN0042", "specialty": "medicine",
     "admission": "emergency"},
    {"v": 1, "type": "discharge", "time": "2026-03-06T11:05:00+01:00", "unit": "MED1",
     "patient_id": "MRN0042"},
]  # fmt: skip


def _jsonl(path: Path, records: list[object], tail: str = "") -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + tail, encoding="utf-8")
    return path


def _count(engine: Engine, table: type[object]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _reasons(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(QuarantineRow.line, QuarantineRow.reason)).all()
    return sorted((int(r[0]), str(r[1])) for r in rows)


def test_replaying_a_file_adds_nothing(store: Engine, tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "events.jsonl", GOOD_JSONL)
    first = ingest_file(path, store, SECRET)
    assert (first.accepted, first.duplicate, first.quarantined) == (3, 0, 0)
    again = ingest_file(path, store, SECRET)
    assert (again.accepted, again.duplicate, again.quarantined) == (0, 3, 0)
    assert _count(store, AdtEventRow) == 3
    # the same event without an event_id, written at another offset: the natural key catches it
    same = dict(GOOD_JSONL[2], time="2026-03-06T10:05:00Z")
    third = ingest_file(_jsonl(tmp_path / "other.jsonl", [same]), store, SECRET)
    assert (third.accepted, third.duplicate) == (0, 1)
    with store.connect() as conn:
        times = conn.execute(select(AdtEventRow.time).order_by(AdtEventRow.time)).scalars().all()
        status = conn.execute(select(IngestRow.status)).scalars().all()
    assert times[-1].isoformat() == "2026-03-06T10:05:00+00:00"
    assert status == ["done", "done", "done"]


def test_bad_records_go_to_quarantine_with_their_reason(store: Engine, tmp_path: Path) -> None:
    lines = [
        json.dumps(GOOD_JSONL[0]),
        '{"v": 1, "type": "teleport", "time": "2026-03-02T08:15:00Z", "unit": "ED", '
        '"patient_id": "MRN7"}',
        '{"v": 1, "type": "arrival", "time": "2026-03-02T08:15:00", "unit": "ED", '
        '"patient_id": "MRN8"}',
        '{"v": 1, "type": "transfer", "time": "2026-03-02T08:15:00Z", "unit": "W2", '
        '"patient_id": "MRN9"}',
        '{"v": 1, "type": "arrival", "time": "2026-03-02T08:15:00Z", "unit": "ED", '
        '"patient_id": "MRN10", "colour": "red"}',
        "[1, 2]",
        "{not json",
        "",
        '{"v": 1, "type": "arrival", "time": "2026-03-02T09:00:00Z", "unit": "ED", '
        '"patient_id": "MRN1',
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")  # no line end: the last line is cut
    report = ingest_file(path, store, SECRET)
    assert (report.accepted, report.duplicate, report.quarantined) == (1, 0, 7)
    reasons = _reasons(store)
    assert [line for line, _ in reasons] == [2, 3, 4, 5, 6, 7, 9]
    expected = [
        "type: Input should be 'arrival'",
        "time: Input should have timezone info",
        "a transfer needs 'from_unit'",
        "colour: Extra inputs are not permitted",
        "a JSON line must be an object",
        "malformed JSON",
        "the last line has no line end",
    ]
    for (_, reason), fragment in zip(reasons, expected, strict=True):
        assert fragment in reason
    # a replay quarantines them again in its report but adds no rows
    again = ingest_file(path, store, SECRET)
    assert (again.accepted, again.duplicate, again.quarantined) == (0, 1, 7)
    assert _count(store, QuarantineRow) == 7


def test_csv_rows_and_their_problems(store: Engine, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        HEADER
        + "1,,arrival,2026-03-02T08:15:00Z,ED,,MRN1,3,,\n"
        + '1,,admit,2026-03-02T09:15:00Z,"MED 1",ED,MRN1,,medicine,emergency\n'
        + "1,,arrival,2026-03-02T08:15:00Z,ED,MRN2,3\n"
        + "1,,arrival,2026-03-02T08:20:00Z,ED,,MRN3,9,,\n"
        + "1,,arrival,2026-03-02T08:17:00Z,ED,,MRN4,3,,",
        encoding="utf-8",
    )
    report = ingest_file(path, store, SECRET)
    assert (report.accepted, report.duplicate, report.quarantined) == (3, 0, 2)
    assert report.format == "csv"
    reasons = _reasons(store)
    assert reasons[0][0] == 4 and "the row has 7 cells, the header 10" in reasons[0][1]
    assert reasons[1][0] == 5 and "acuity" in reasons[1][1]


def test_csv_quirks_bom_crlf_stray_quote_and_bad_bytes(tmp_path: Path) -> None:
    engine = open_store(tmp_path / "s.db")
    rows = [f"1,,arrival,2026-03-02T08:{m:02d}:00Z,ED,,MRN{m},3,," for m in range(10)]
    rows[3] = '1,,arrival,2026-03-02T08:03:00Z,"ED,,MRN3,3,,'  # a stray quote
    body = ("\ufeff" + HEADER + "\n".join(rows)).replace("\n", "\r\n").encode()
    body += b"\r\n1,,arrival,2026-03-02T09:00:00Z,ED,,MRN\xff,3,,\r\n"
    path = tmp_path / "quirks.csv"
    path.write_bytes(body)
    report = ingest_file(path, engine, SECRET)
    assert (report.accepted, report.duplicate, report.quarantined) == (9, 0, 2)
    reasons = _reasons(engine)
    assert reasons[0][0] == 5 and "cells" in reasons[0][1]
    assert reasons[1][0] == 12 and "not UTF-8" in reasons[1][1]
    engine.dispose()


def test_a_file_that_is_not_adt_is_refused_whole(tmp_path: Path) -> None:
    engine = open_store(tmp_path / "s.db")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("name,age\nx,3\n", encoding="utf-8")
    with pytest.raises(IngestError, match="unknown columns name, age"):
        ingest_file(wrong, engine, SECRET)
    with pytest.raises(IngestError, match="no such file"):
        ingest_file(tmp_path / "missing.csv", engine, SECRET)
    engine.dispose()


def test_format_by_extension_or_content(tmp_path: Path) -> None:
    odd = tmp_path / "events.txt"
    odd.write_text('\n{"v": 1}\n', encoding="utf-8")
    assert detect_format(odd) == "jsonl"
    odd.write_text(HEADER, encoding="utf-8")
    assert detect_format(odd) == "csv"
    assert detect_format(_jsonl(tmp_path / "x.ndjson", [])) == "jsonl"


def test_raw_patient_ids_are_stored_nowhere(store: Engine, tmp_path: Path) -> None:
    ids = ["MRN0042", "MRN7", "MRN8", "MRN2"]
    lines = [json.dumps(r) for r in GOOD_JSONL] + [
        '{"v": 1, "type": "teleport", "time": "2026-03-02T08:15:00Z", "unit": "ED", '
        '"patient_id": "MRN7"}',
        '{"v": 1, "type": "arrival", "time": "2026-03-02T08:1',
        '{"v": 1, "type": "arrival", "patient_id": "MRN8", "time": ',
    ]
    ingest_file(_jsonl(tmp_path / "a.jsonl", []), store, SECRET)
    (tmp_path / "b.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    ingest_file(tmp_path / "b.jsonl", store, SECRET)
    (tmp_path / "c.csv").write_text(
        HEADER + "1,,arrival,2026-03-02T08:15:00Z,ED,MRN2,3\n", encoding="utf-8"
    )
    assert ingest_file(tmp_path / "c.csv", store, SECRET).quarantined == 1
    dump = []
    with store.connect() as conn:
        for table in ("adt_events", "quarantine", "ingests"):
            dump += [repr(tuple(row)) for row in conn.execute(text(f"SELECT * FROM {table}"))]
        patient_keys = set(conn.execute(select(AdtEventRow.patient_key)).scalars())
    everything = "\n".join(dump)
    assert dump and all(raw not in everything for raw in ids)
    assert patient_keys == {SECRET("MRN0042")}
    assert f"pseudonym:{SECRET('MRN7')}" in everything
    if store.dialect.name == "sqlite":
        store.dispose()
        database = Path(str(store.url.database))
        blob = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
        assert all(raw.encode() not in blob for raw in ids)


def _generate(path: Path, count: int) -> Path:
    """``count`` arrivals with ids unique to this file, and one bad line per thousand."""
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            out.write(
                f'{{"v": 1, "event_id": "{path.stem}-{i}", "type": "arrival", '
                f'"time": "2026-03-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z", '
                f'"unit": "ED", "patient_id": "P{i % 997}", "acuity": {1 + i % 5}}}\n'
            )
            if i % 1000 == 999:
                out.write("this line is not JSON\n")
    return path


_CHILD = """
import sys
from pathlib import Path
from twinsight.twin import open_twin
twin = open_twin("big", home=sys.argv[1])
twin.ingest([Path(sys.argv[2])], batch_size=500)
"""


def test_a_killed_ingest_resumes_with_exact_totals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    count = 60_000
    path = _generate(tmp_path / "big.jsonl", count)
    twin = init_twin("big", home=tmp_path)
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path), str(path)], env=env)
    deadline = time.monotonic() + 30
    position = 0
    try:
        while time.monotonic() < deadline and child.poll() is None:
            with twin.engine.connect() as conn:
                position = int(conn.execute(select(func.max(IngestRow.position))).scalar() or 0)
            if position > path.stat().st_size // 5:
                break
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL, "the ingest finished before it could be killed"
    assert 0 < position < path.stat().st_size
    with twin.engine.connect() as conn:
        before = conn.execute(select(IngestRow.status, IngestRow.accepted)).one()
    assert before[0] == "running" and 0 < before[1] < count
    report = twin.ingest([path], batch_size=500)[0]
    assert report.resumed_from > 0 and report.duplicate == 0
    with twin.engine.connect() as conn:
        row = conn.execute(
            select(IngestRow.status, IngestRow.accepted, IngestRow.duplicate, IngestRow.quarantined)
        ).one()
        events = conn.execute(select(func.count()).select_from(AdtEventRow)).scalar_one()
        distinct = conn.execute(select(func.count(func.distinct(AdtEventRow.event_key)))).scalar()
    bad = count // 1000
    assert tuple(row) == ("done", count, 0, bad)
    assert events == distinct == count
    assert _count(twin.engine, QuarantineRow) == bad
    twin.close()


def test_memory_stays_flat_while_streaming(tmp_path: Path) -> None:
    engine = open_store(tmp_path / "m.db")
    peaks = []
    for name, count in (("small", 4_000), ("large", 24_000)):
        path = _generate(tmp_path / f"{name}.jsonl", count)
        tracemalloc.start()
        report = ingest_file(path, engine, SECRET, batch_size=1000)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert report.accepted == count
    # six times the file, not six times the memory (the batch is what is held)
    assert peaks[1] < 1.5 * peaks[0], peaks
    engine.dispose()


# -- CLI --------------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_init_and_ingest_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    home = str(tmp_path / "home")
    made = runner.invoke(app, ["init", "ward", "--template", "hospital", "--home", home])
    assert made.exit_code == 0, made.output
    assert "twin 'ward'" in made.output
    path = _jsonl(tmp_path / "e.jsonl", GOOD_JSONL, tail='{"v": 1}\n')
    first = runner.invoke(app, ["ingest", "ward", str(path), "--home", home, "--json"])
    assert first.exit_code == 0, first.output
    out = json.loads(first.stdout)
    assert (out["accepted"], out["duplicate"], out["quarantined"]) == (3, 0, 1)
    again = runner.invoke(app, ["ingest", "ward", str(path), str(path), "--home", home, "--json"])
    out = json.loads(again.stdout)
    assert (out["accepted"], out["duplicate"], out["quarantined"]) == (0, 6, 2)
    text_out = runner.invoke(app, ["ingest", "ward", str(path), "--home", home])
    assert "0 accepted, 3 duplicate, 1 quarantined" in text_out.stdout


def test_cli_errors_name_the_problem_and_the_fix(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    assert runner.invoke(app, ["init", "ward", "--home", home]).exit_code == 0
    cases = [
        (["init", "ward", "--home", home], "already exists"),
        (["init", "x", "--template", "zoo", "--home", home], "no template 'zoo'"),
        (["ingest", "nobody", str(_jsonl(tmp_path / "e.jsonl", [])), "--home", home],
         "twinsight init nobody"),
        (["ingest", "ward", str(tmp_path / "missing.csv"), "--home", home], "missing.csv"),
        (["ingest", "ward", str(tmp_path / "e.jsonl"), "--home", home, "--db", "nonsense://"],
         "--db"),
        (["ingest", "ward", str(tmp_path / "e.jsonl"), "--home", home,
          "--db", "postgresql://u:topsecret@127.0.0.1:1/none"], "--db"),
    ]  # fmt: skip
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("name,age\n", encoding="utf-8")
    cases.append((["ingest", "ward", str(wrong), "--home", home], "wrong.csv"))
    for args, fragment in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert fragment in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output + result.stderr
        assert "topsecret" not in result.stderr
