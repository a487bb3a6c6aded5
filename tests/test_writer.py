"""The ingest's background writer commits whole batches in order and never hides a failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from twinsight.connect import ingest_path
from twinsight.connect._batch import Batch, Context, Record
from twinsight.connect._files import _start
from twinsight.connect._writer import BatchWriter
from twinsight.govern import Pseudonymiser
from twinsight.store import AdtEventRow, IngestRow

SECRET = Pseudonymiser(b"test secret, sixteen bytes or more")
HEADER = "event_id,type,time,unit,patient_id\n"


def _line(i: int) -> bytes:
    return f"e{i},arrival,2026-03-02T08:{i % 60:02d}:00Z,ED,P{i}\n".encode()


def _context(store: Engine) -> Context:
    ingest_id, _ = _start(store, "test-source", "f" * 64, "csv", 10**9)
    header = HEADER.strip().split(",")
    sqlite = store.dialect.name == "sqlite"
    return Context("test-source", "f" * 64, ingest_id, header, SECRET, sqlite)


def _batch(ctx: Context, numbers: range) -> Batch:
    batch = Batch([], [])
    for i in numbers:
        ctx.add(Record(i + 2, i * 100, (i + 1) * 100, _line(i)), batch)
    return batch


def _stored(store: Engine) -> tuple[int, str, int]:
    with store.connect() as conn:
        count = conn.execute(select(func.count()).select_from(AdtEventRow)).scalar_one()
        status, position = conn.execute(select(IngestRow.status, IngestRow.position)).one()
    return int(count), str(status), int(position)


def test_batches_are_committed_in_order_with_the_position_of_the_last(store: Engine) -> None:
    ctx = _context(store)
    with BatchWriter(store, ctx) as writer:
        for start in range(0, 50, 10):
            writer.submit(_batch(ctx, range(start, start + 10)))
        totals = writer.finish(_batch(ctx, range(50, 55)))
    assert totals == [55, 0, 0]
    assert _stored(store) == (55, "done", 5500)


def test_a_failed_commit_is_raised_and_the_ingest_stays_resumable(store: Engine) -> None:
    ctx = _context(store)
    bad = _batch(ctx, range(10, 20))
    bad.events[3] = bad.events[3][:-1]  # a row the database refuses (a column short)
    with pytest.raises(SQLAlchemyError), BatchWriter(store, ctx) as writer:
        writer.submit(_batch(ctx, range(0, 10)))
        writer.submit(bad)
        writer.submit(_batch(ctx, range(20, 30)))
        writer.finish(_batch(ctx, range(30, 35)))
    # the first batch is stored with its position; the failed one and those after are not
    assert _stored(store) == (10, "running", 1000)


def test_a_crash_while_validating_keeps_the_batches_already_handed_over(store: Engine) -> None:
    ctx = _context(store)
    with pytest.raises(RuntimeError), BatchWriter(store, ctx) as writer:
        writer.submit(_batch(ctx, range(0, 10)))
        writer.submit(_batch(ctx, range(10, 20)))
        raise RuntimeError("the reader died")
    assert _stored(store) == (20, "running", 2000)


def test_a_file_ingest_in_small_batches_equals_one_in_a_single_batch(
    store: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(HEADER.encode() + b"".join(_line(i) for i in range(300)))
    report = ingest_path(path, store, SECRET, batch_size=7)
    assert (report.accepted, report.duplicate, report.quarantined) == (300, 0, 0)
    assert _stored(store) == (300, "done", path.stat().st_size)
