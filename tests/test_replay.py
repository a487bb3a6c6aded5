"""Replay: a file's events fed as if live at SPEED x real time (CSV, JSON Lines, Parquet).

Pacing is checked from below only (elapsed wall time >= event-time span / SPEED, less a
scheduling slack); no test asserts an upper bound on time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from twinsight.cli import app
from twinsight.connect import ingest_path, replay_path
from twinsight.emulate import write_events
from twinsight.govern import KEY_ENV, Pseudonymiser
from twinsight.store import AdtEventRow, IngestRow, QuarantineRow, open_store
from twinsight.twin import init_twin

SECRET = Pseudonymiser(b"test secret, sixteen bytes or more")
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
#: Timer and scheduling slack allowed below the ideal pacing, seconds.
SLACK = 0.05
runner = CliRunner()


def _rows(count: int, step_min: float, *, bad_every: int = 0) -> list[dict[str, object]]:
    """Arrivals ``step_min`` minutes apart; every ``bad_every``-th one without a unit."""
    rows: list[dict[str, object]] = []
    for i in range(count):
        bad = bad_every and i % bad_every == bad_every - 1
        rows.append(
            {
                "v": 1,
                "event_id": f"r-{i}",
                "type": "arrival",
                "time": (T0 + timedelta(minutes=step_min * i)).isoformat().replace("+00:00", "Z"),
                "unit": "" if bad else "ED",
                "patient_id": f"MRN{i}",
                "acuity": 1 + i % 5,
            }
        )
    return rows


def _count(engine: Engine, table: type[object]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_replay_is_paced_by_event_time_and_stores_everything(
    store: Engine, tmp_path: Path, suffix: str
) -> None:
    # 40 events a minute apart: 39 minutes of event time at 3,900x is 0.6 s of wall time
    path = tmp_path / f"events{suffix}"
    write_events(_rows(40, 1.0, bad_every=10), path)
    speed = 3_900.0
    start = time.monotonic()
    result = replay_path(path, store, SECRET, speed)
    elapsed = time.monotonic() - start
    span = 39 * 60.0
    assert result.span_s == span
    assert elapsed >= span / speed - SLACK and result.elapsed_s >= span / speed - SLACK
    r = result.ingest
    assert (r.accepted, r.duplicate, r.quarantined) == (36, 0, 4)
    assert not result.interrupted and r.format == suffix[1:]
    assert _count(store, AdtEventRow) == 36 and _count(store, QuarantineRow) == 4
    with store.connect() as conn:
        status = conn.execute(select(IngestRow.status)).scalar_one()
    assert status == "done"
    # the same file ingested again (not paced): all duplicate, like any replay of a file
    again = ingest_path(path, store, SECRET)
    assert (again.accepted, again.duplicate, again.quarantined) == (0, 36, 4)


def test_a_live_reader_sees_events_arrive_before_the_end(tmp_path: Path) -> None:
    # 20 events 10 minutes apart at 6,000x: one every 0.1 s, 1.9 s in all
    path = tmp_path / "events.jsonl"
    write_events(_rows(20, 10.0), path)
    engine = open_store(tmp_path / "s.db")
    reader = open_store(tmp_path / "s.db")
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.append(_count(reader, AdtEventRow))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = replay_path(path, engine, SECRET, 6_000.0)
    finally:
        done.set()
        watcher.join()
    assert result.ingest.accepted == 20
    partial = sorted({n for n in seen if 0 < n < 20})
    assert len(partial) >= 3, seen  # events arrived in several commits while it ran
    assert seen == sorted(seen)
    engine.dispose()
    reader.dispose()


def test_out_of_order_events_are_fed_in_file_order(tmp_path: Path) -> None:
    rows = _rows(6, 30.0)
    rows[2], rows[4] = rows[4], rows[2]  # an event two hours "early" in the file
    path = tmp_path / "events.csv"
    write_events(rows, path)
    engine = open_store(tmp_path / "s.db")
    result = replay_path(path, engine, SECRET, 36_000.0)
    assert result.ingest.accepted == 6
    assert result.span_s == 150 * 60.0  # the latest event time fed, not the last row's
    with engine.connect() as conn:
        ids = conn.execute(select(AdtEventRow.event_key).order_by(AdtEventRow.id)).scalars().all()
    assert ids == [f"id:r-{i}" for i in (0, 1, 4, 3, 2, 5)]
    engine.dispose()


def test_a_stopped_replay_keeps_what_it_fed_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    write_events(_rows(50, 1.0), path)
    engine = open_store(tmp_path / "s.db")
    stop = threading.Event()
    timer = threading.Timer(0.5, stop.set)
    timer.start()
    first = replay_path(path, engine, SECRET, 600.0, stop=stop)  # 49 min at 600x: 4.9 s
    timer.cancel()
    assert first.interrupted and 0 < first.ingest.accepted < 50
    assert _count(engine, AdtEventRow) == first.ingest.accepted
    with engine.connect() as conn:
        status, position = conn.execute(select(IngestRow.status, IngestRow.position)).one()
    assert status == "running" and position == first.ingest.accepted
    rest = ingest_path(path, engine, SECRET)
    assert rest.resumed_from == position and rest.duplicate == 0
    assert first.ingest.accepted + rest.accepted == 50 == _count(engine, AdtEventRow)
    engine.dispose()


def test_a_parquet_timestamp_column_paces_too(tmp_path: Path) -> None:
    times = [T0 + timedelta(minutes=20 * i) for i in range(4)]
    path = tmp_path / "ts.parquet"
    table = pa.table(
        {
            "type": ["arrival"] * 4,
            "time": pa.array(times, type=pa.timestamp("ms", tz="Europe/Paris")),
            "unit": ["ED"] * 4,
            "patient_id": [f"P{i}" for i in range(4)],
        }
    )
    pq.write_table(table, path)
    engine = open_store(tmp_path / "s.db")
    start = time.monotonic()
    result = replay_path(path, engine, SECRET, 7_200.0)  # 60 min at 7,200x: 0.5 s
    assert time.monotonic() - start >= 3600 / 7_200 - SLACK
    assert result.span_s == 3600.0 and result.ingest.accepted == 4
    with engine.connect() as conn:
        stored = conn.execute(select(AdtEventRow.time).order_by(AdtEventRow.time)).scalars().all()
    assert stored == times  # the zone is kept: the same instants, in UTC
    engine.dispose()


def test_a_bad_speed_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    write_events(_rows(2, 1.0), path)
    engine = open_store(tmp_path / "s.db")
    for speed in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="positive"):
            replay_path(path, engine, SECRET, speed)
    assert _count(engine, IngestRow) == 0
    engine.dispose()


def test_cli_replay_json_and_bad_speed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    home = str(tmp_path / "home")
    assert runner.invoke(app, ["init", "ward", "--home", home]).exit_code == 0
    path = tmp_path / "e.parquet"
    write_events(_rows(12, 5.0, bad_every=6), path)
    args = ["ingest", "ward", str(path), "--home", home, "--json", "--replay", "33000"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["accepted"], out["duplicate"], out["quarantined"]) == (10, 0, 2)
    assert out["replay"]["speed"] == 33000 and out["replay"]["interrupted"] is False
    assert out["replay"]["elapsed_s"] >= 55 * 60 / 33000 - SLACK
    for bad in ("0", "-5"):
        refused = runner.invoke(app, ["ingest", "ward", str(path), "--home", home, "--replay", bad])
        assert refused.exit_code == 2, refused.output
        assert "--replay" in refused.stderr and "Traceback" not in refused.output
    two = runner.invoke(
        app, ["ingest", "ward", str(path), str(path), "--home", home, "--replay", "9"]
    )
    assert two.exit_code == 2 and "one file" in two.stderr


_CHILD = """
import sys
from twinsight.cli import app
sys.argv = ["twinsight", *sys.argv[1:]]
app()
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_cli_ctrl_c_stops_cleanly_with_counts(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    twin = init_twin("live", home=tmp_path, db_url=url)
    path = tmp_path / "e.csv"
    write_events(_rows(200, 1.0), path)  # 199 minutes at 600x: about 20 s
    args = ["ingest", "live", str(path), "--home", str(tmp_path), "--json", "--replay", "600"]
    if url:
        args += ["--db", url]
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    stored = 0
    try:
        while time.monotonic() < deadline and child.poll() is None and stored < 5:
            stored = _count(twin.engine, AdtEventRow)
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130, (out, err)
    assert "Traceback" not in err
    result = json.loads(out)
    assert result["replay"]["interrupted"] is True
    assert 5 <= result["accepted"] < 200
    assert _count(twin.engine, AdtEventRow) == result["accepted"]  # all fed was committed
    with twin.engine.connect() as conn:
        accepted = conn.execute(select(IngestRow.accepted)).scalar_one()
    assert accepted == result["accepted"]
    twin.close()
