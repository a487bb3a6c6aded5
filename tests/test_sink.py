"""Record sink: the store path of every non-file connector (MQTT, HTTP, Parquet, FHIR)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from twinsight.connect import RecordSink
from twinsight.govern import Pseudonymiser
from twinsight.store import AdtEventRow, IngestRow, QuarantineRow

SECRET = Pseudonymiser(b"test secret, sixteen bytes or more")
ARRIVAL = {"v": 1, "event_id": "s-1", "type": "arrival", "time": "2026-03-02T08:15:00Z",
           "unit": "ED", "patient_id": "MRN0042", "acuity": 3}  # fmt: skip


def _count(engine: Engine, table: type[object]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_nothing_is_stored_before_commit_and_counts_are_per_commit(store: Engine) -> None:
    sink = RecordSink(store, SECRET, "mqtt://127.0.0.1:1883/adt", "mqtt")
    sink.add(ARRIVAL)
    sink.add(json.dumps({**ARRIVAL, "event_id": "s-2"}).encode())
    sink.add("not json")
    assert sink.pending == 3
    assert _count(store, AdtEventRow) == 0
    counts = sink.commit()
    assert (counts.accepted, counts.duplicate, counts.quarantined) == (2, 0, 1)
    assert _count(store, AdtEventRow) == 2
    sink.add(ARRIVAL)  # redelivered: a duplicate by its event id
    assert sink.commit().duplicate == 1
    report = sink.close()
    assert (report.accepted, report.duplicate, report.quarantined) == (2, 1, 1)
    assert report.format == "mqtt"
    with store.connect() as conn:
        status = conn.execute(select(IngestRow.status).where(IngestRow.id == report.ingest_id))
        assert status.scalar_one() == "done"


def test_a_redelivered_bad_record_is_quarantined_once_without_the_raw_identifier(
    store: Engine,
) -> None:
    bad = {**ARRIVAL, "type": "teleport", "event_id": "s-9"}
    with RecordSink(store, SECRET, "http", "http") as sink:
        sink.add(bad)
        sink.commit()
        sink.add(bad)
    with store.connect() as conn:
        rows = conn.execute(select(QuarantineRow.raw, QuarantineRow.reason)).all()
    assert len(rows) == 1
    raw, reason = rows[0]
    assert "MRN0042" not in raw and "pseudonym:" in raw
    assert "type" in reason


def test_mappings_with_datetimes_are_accepted(store: Engine) -> None:
    record = {**ARRIVAL, "time": datetime(2026, 3, 2, 8, 15, tzinfo=UTC)}
    with RecordSink(store, SECRET, "rows.parquet", "parquet") as sink:
        sink.add(record)
        assert sink.commit().accepted == 1
    with store.connect() as conn:
        key = conn.execute(select(AdtEventRow.patient_key)).scalar_one()
    assert key == SECRET("MRN0042")


def test_each_batch_of_a_long_lived_sink_records_its_own_receipt_time(store: Engine) -> None:
    import time

    with RecordSink(store, SECRET, "http", "http") as sink:
        sink.add(ARRIVAL)
        sink.commit()
        time.sleep(0.05)
        sink.add({**ARRIVAL, "event_id": "s-later"})
        sink.commit()
    with store.connect() as conn:
        first, later = conn.execute(
            select(AdtEventRow.received_at).order_by(AdtEventRow.id)
        ).scalars()
    assert later > first
