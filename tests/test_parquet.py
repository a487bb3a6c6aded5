"""Parquet ingest: good rows, quarantine with row numbers, idempotency, truncated files, resume,
no raw identifiers, dispatch by format, the emulator's Parquet output and the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, func, select, text
from typer.testing import CliRunner

from twinsight.cli import app
from twinsight.connect import (
    IngestError,
    detect_format,
    ingest_file,
    ingest_parquet,
    ingest_path,
)
from twinsight.emulate import emulate_hospital, write_events
from twinsight.govern import KEY_ENV, Pseudonymiser
from twinsight.store import AdtEventRow, IngestRow, QuarantineRow, open_store
from twinsight.twin import init_twin

SECRET = Pseudonymiser(b"test secret, sixteen bytes or more")
T0 = datetime(2026, 3, 2, 8, 15, tzinfo=UTC)
runner = CliRunner()


def _write(path: Path, columns: dict[str, list[Any]], row_group_size: int | None = None) -> Path:
    pq.write_table(pa.table(columns), path, row_group_size=row_group_size)
    return path


def _good(path: Path) -> Path:
    """Three events of one patient; ``time`` a UTC timestamp column."""
    return _write(
        path,
        {
            "v": [1, 1, 1],
            "event_id": ["e-1", "e-2", None],
            "type": ["arrival", "admit", "discharge"],
            "time": pa.array(
                [T0, T0 + timedelta(hours=5), T0 + timedelta(days=4)],
                type=pa.timestamp("us", tz="UTC"),
            ),
            "unit": ["ED", "MED1", "MED1"],
            "from_unit": [None, "ED", None],
            "patient_id": ["MRN0042"] * 3,
            "acuity": [3, None, None],
            "specialty": [None, "medicine", None],
            "admission": [None, "emergency", None],
        },
    )


def _count(engine: Engine, table: type[object]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_good_file_is_stored_and_a_replay_adds_nothing(store: Engine, tmp_path: Path) -> None:
    path = _good(tmp_path / "events.parquet")
    first = ingest_parquet(path, store, SECRET)
    assert (first.accepted, first.duplicate, first.quarantined, first.format) == (
        3,
        0,
        0,
        "parquet",
    )
    again = ingest_path(path, store, SECRET)
    assert (again.accepted, again.duplicate, again.quarantined) == (0, 3, 0)
    assert _count(store, AdtEventRow) == 3
    with store.connect() as conn:
        times = conn.execute(select(AdtEventRow.time).order_by(AdtEventRow.time)).scalars().all()
        statuses = conn.execute(select(IngestRow.status, IngestRow.position)).all()
    assert times == [T0, T0 + timedelta(hours=5), T0 + timedelta(days=4)]
    assert [tuple(s) for s in statuses] == [("done", 3), ("done", 3)]
    # the same events as text times with other offsets are the same events (natural key too)
    texts = _write(
        tmp_path / "text.parquet",
        {
            "type": ["discharge"],
            "time": [(T0 + timedelta(days=4)).astimezone().isoformat()],
            "unit": ["MED1"],
            "patient_id": ["MRN0042"],
        },
    )
    third = ingest_path(texts, store, SECRET)
    assert (third.accepted, third.duplicate) == (0, 1)


def test_bad_rows_are_quarantined_with_their_row_number(store: Engine, tmp_path: Path) -> None:
    t = "2026-03-02T08:15:00Z"
    path = _write(
        tmp_path / "bad.parquet",
        {
            "type": ["arrival", "arrival", "teleport", "transfer", "arrival", "arrival", "admit"],
            "time": [t, "2026-03-02T08:15:00", t, t, t, "2026-03-02T25:61:00Z", t],
            "unit": ["ED", "ED", "ED", "ICU", "", "ED", "MED1"],
            "from_unit": [None, None, None, None, None, None, "ED"],
            "patient_id": ["P1", "P2", "P3", "P4", "P5", "P6", "P7"],
            "acuity": [2, 3, 3, None, 1, 9, None],
        },
        row_group_size=3,
    )
    report = ingest_parquet(path, store, SECRET, batch_size=2)
    assert (report.accepted, report.quarantined) == (2, 5)
    with store.connect() as conn:
        rows = conn.execute(
            select(QuarantineRow.line, QuarantineRow.reason).order_by(QuarantineRow.line)
        ).all()
    lines = [int(r[0]) for r in rows]
    reasons = dict((int(r[0]), str(r[1])) for r in rows)
    assert lines == [2, 3, 4, 5, 6]  # 1-based row numbers
    assert "time" in reasons[2] and "timezone" in reasons[2]
    assert reasons[3].startswith("type:")
    assert "from_unit" in reasons[4]
    assert reasons[5].startswith("unit:")
    assert "acuity" in reasons[6] and "time" in reasons[6]
    again = ingest_parquet(path, store, SECRET)
    assert (again.accepted, again.duplicate, again.quarantined) == (0, 2, 5)
    assert _count(store, QuarantineRow) == 5  # a replay adds no quarantine rows


def test_columns_that_are_not_adt_are_refused_whole(tmp_path: Path) -> None:
    engine = open_store(tmp_path / "s.db")
    wrong = _write(tmp_path / "wrong.parquet", {"name": ["x"], "time": ["2026-01-01T00:00Z"]})
    with pytest.raises(IngestError) as info:
        ingest_parquet(wrong, engine, SECRET)
    message = str(info.value)
    assert "wrong.parquet" in message and "unknown columns name" in message
    assert "missing columns type, unit, patient_id" in message
    naive = _write(
        tmp_path / "naive.parquet",
        {
            "type": ["arrival"],
            "time": pa.array([datetime(2026, 1, 1)], type=pa.timestamp("us")),
            "unit": ["ED"],
            "patient_id": ["P1"],
        },
    )
    with pytest.raises(IngestError, match="without a time zone"):
        ingest_path(naive, engine, SECRET)
    assert _count(engine, IngestRow) == 0  # nothing stored, not even an ingest row
    engine.dispose()


def test_a_truncated_file_is_a_clear_error_and_nothing_is_stored(tmp_path: Path) -> None:
    path = _good(tmp_path / "cut.parquet")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    engine = open_store(tmp_path / "s.db")
    with pytest.raises(IngestError) as info:
        ingest_path(path, engine, SECRET)
    assert "cut.parquet" in str(info.value) and "not a readable Parquet file" in str(info.value)
    assert _count(engine, IngestRow) == _count(engine, AdtEventRow) == 0
    engine.dispose()


def test_the_format_comes_from_the_extension_or_the_magic_bytes(tmp_path: Path) -> None:
    path = _good(tmp_path / "events.parquet")
    assert detect_format(path) == "parquet"
    short = tmp_path / "events.pq"
    short.write_bytes(path.read_bytes())
    bare = tmp_path / "events"
    bare.write_bytes(path.read_bytes())
    assert detect_format(short) == detect_format(bare) == "parquet"
    engine = open_store(tmp_path / "s.db")
    assert ingest_path(bare, engine, SECRET).accepted == 3
    with pytest.raises(IngestError, match="ingest_path"):
        ingest_file(path, engine, SECRET)  # the text reader refuses it instead of quarantining
    engine.dispose()


def test_a_crash_mid_ingest_resumes_after_the_last_commit(store: Engine, tmp_path: Path) -> None:
    n = 95
    path = _write(
        tmp_path / "many.parquet",
        {
            "event_id": [f"e{i}" for i in range(n)],
            "type": ["arrival"] * n,
            "time": [(T0 + timedelta(minutes=i)).isoformat() for i in range(n)],
            "unit": ["ED"] * n,
            "patient_id": [f"P{i}" if i % 10 else "" for i in range(n)],  # every 10th is bad
        },
        row_group_size=7,  # batches of 10 end inside row groups
    )
    calls = 0

    def failing(raw: str) -> str:  # the process "dies" at the 35th patient seen
        nonlocal calls
        calls += 1
        if calls == 35:
            raise RuntimeError("crash")
        return SECRET(raw)

    with pytest.raises(RuntimeError):
        ingest_parquet(path, store, failing, batch_size=10)
    with store.connect() as conn:
        status, position, accepted = conn.execute(
            select(IngestRow.status, IngestRow.position, IngestRow.accepted)
        ).one()
    assert status == "running" and position == 30 and accepted == 27
    report = ingest_parquet(path, store, SECRET, batch_size=10)
    assert report.resumed_from == 30 and report.duplicate == 0
    with store.connect() as conn:
        row = conn.execute(
            select(IngestRow.status, IngestRow.accepted, IngestRow.quarantined, IngestRow.position)
        ).one()
    assert tuple(row) == ("done", n - 10, 10, n)
    assert _count(store, AdtEventRow) == n - 10 and _count(store, QuarantineRow) == 10


_CHILD = """
import sys
from pathlib import Path
from twinsight.twin import open_twin
twin = open_twin("big", home=sys.argv[1], db_url=sys.argv[3] or None)
twin.ingest([Path(sys.argv[2])], batch_size=500)
"""


def _big(path: Path, count: int) -> Path:
    """``count`` arrivals with unique ids, one bad row (no unit) per thousand, 5,000-row groups."""
    with pq.ParquetWriter(
        path,
        pa.schema(
            [
                ("event_id", pa.string()),
                ("type", pa.string()),
                ("time", pa.string()),
                ("unit", pa.string()),
                ("patient_id", pa.string()),
            ]
        ),
    ) as writer:
        for start in range(0, count, 5_000):
            ids = range(start, min(count, start + 5_000))
            writer.write_table(
                pa.table(
                    {
                        "event_id": [f"big-{i}" for i in ids],
                        "type": ["arrival"] * len(ids),
                        "time": [(T0 + timedelta(minutes=i)).isoformat() for i in ids],
                        "unit": ["" if i % 1000 == 999 else "ED" for i in ids],
                        "patient_id": [f"P{i % 997}" for i in ids],
                    }
                )
            )
    return path


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_killed_ingest_resumes_with_exact_totals(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else ""
    count = 60_000
    path = _big(tmp_path / "big.parquet", count)
    twin = init_twin("big", home=tmp_path, db_url=url or None)
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path), str(path), url], env=env)
    deadline = time.monotonic() + 60
    position = 0
    try:
        while time.monotonic() < deadline and child.poll() is None:
            with twin.engine.connect() as conn:
                position = int(conn.execute(select(func.max(IngestRow.position))).scalar() or 0)
            if position > count // 5:
                break
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL, "the ingest finished before it could be killed"
    assert 0 < position < count
    report = twin.ingest([path], batch_size=500)[0]
    assert report.resumed_from >= position and report.duplicate == 0
    with twin.engine.connect() as conn:
        row = conn.execute(
            select(IngestRow.status, IngestRow.accepted, IngestRow.duplicate, IngestRow.quarantined)
        ).one()
        distinct = conn.execute(select(func.count(func.distinct(AdtEventRow.event_key)))).scalar()
    assert tuple(row) == ("done", count - count // 1000, 0, count // 1000)
    assert _count(twin.engine, AdtEventRow) == distinct == count - count // 1000
    assert _count(twin.engine, QuarantineRow) == count // 1000
    twin.close()


def test_raw_patient_ids_are_stored_nowhere(store: Engine, tmp_path: Path) -> None:
    ids = ["MRN0042", "MRN7", "MRN8"]
    ingest_parquet(_good(tmp_path / "a.parquet"), store, SECRET)
    bad = _write(
        tmp_path / "b.parquet",
        {
            "type": ["teleport", "arrival"],
            "time": ["2026-03-02T08:15:00Z", "no time"],
            "unit": ["ED", "ED"],
            "patient_id": ["MRN7", "MRN8"],
        },
    )
    assert ingest_parquet(bad, store, SECRET).quarantined == 2
    dump = []
    with store.connect() as conn:
        for table in ("adt_events", "quarantine", "ingests"):
            dump += [repr(tuple(row)) for row in conn.execute(text(f"SELECT * FROM {table}"))]
        keys = set(conn.execute(select(AdtEventRow.patient_key)).scalars())
    everything = "\n".join(dump)
    assert all(raw not in everything for raw in ids)
    assert keys == {SECRET("MRN0042")}
    assert f"pseudonym:{SECRET('MRN7')}" in everything
    if store.dialect.name == "sqlite":
        store.dispose()
        database = Path(str(store.url.database))
        blob = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
        assert all(raw.encode() not in blob for raw in ids)


def test_the_emulator_writes_parquet_that_ingests_like_csv(tmp_path: Path) -> None:
    rows = emulate_hospital(7, 3).rows
    assert write_events(rows, tmp_path / "e.parquet") == write_events(rows, tmp_path / "e.csv")
    a, b = open_store(tmp_path / "a.db"), open_store(tmp_path / "b.db")
    from_parquet = ingest_path(tmp_path / "e.parquet", a, SECRET)
    from_csv = ingest_path(tmp_path / "e.csv", b, SECRET)
    counts = [(r.accepted, r.duplicate, r.quarantined) for r in (from_parquet, from_csv)]
    assert counts[0] == counts[1] and counts[0][2] > 0  # default defects: some malformed
    stored = []
    for engine in (a, b):
        with engine.connect() as conn:
            events = set(conn.execute(select(AdtEventRow.event_key, AdtEventRow.time)).all())
            reasons = sorted(conn.execute(select(QuarantineRow.reason)).scalars())
        stored.append((events, reasons))
        engine.dispose()
    assert stored[0] == stored[1]  # the same events and the same reasons of rejects


def test_cli_emulate_parquet_then_ingest_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    home, out = str(tmp_path / "home"), tmp_path / "e.parquet"
    made = runner.invoke(app, ["emulate", "hospital", "--days", "3", "--out", str(out), "--json"])
    assert made.exit_code == 0, made.output
    written = json.loads(made.stdout)["events"]
    assert pq.ParquetFile(out).metadata.num_rows == written
    assert runner.invoke(app, ["init", "ward", "--home", home]).exit_code == 0
    first = runner.invoke(app, ["ingest", "ward", str(out), "--home", home, "--json"])
    assert first.exit_code == 0, first.output
    result = json.loads(first.stdout)
    assert result["files"][0]["format"] == "parquet"
    assert result["accepted"] + result["duplicate"] + result["quarantined"] == written
    again = json.loads(
        runner.invoke(app, ["ingest", "ward", str(out), "--home", home, "--json"]).stdout
    )
    assert again["accepted"] == 0
    assert again["duplicate"] == result["accepted"] + result["duplicate"]


def test_cli_a_truncated_or_misnamed_file_exits_2_without_a_traceback(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    assert runner.invoke(app, ["init", "ward", "--home", home]).exit_code == 0
    cut = _good(tmp_path / "cut.parquet")
    cut.write_bytes(cut.read_bytes()[:100])
    result = runner.invoke(app, ["ingest", "ward", str(cut), "--home", home])
    assert result.exit_code == 2, result.output
    assert "cut.parquet" in result.stderr and "Parquet" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    bad_out = runner.invoke(app, ["emulate", "hospital", "--out", str(tmp_path / "e.xlsx")])
    assert bad_out.exit_code == 2 and ".parquet" in bad_out.stderr
