"""HTTP service (TestClient): ingest one event and batches, state, twins, concurrency.

Run against SQLite and PostgreSQL (``pg_url``); error cases are in ``test_service_errors.py``,
the real ``twinsight serve`` process (kill -9 durability) in ``test_service_e2e.py``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from twinsight.assimilate import current_state
from twinsight.govern import AccessStore
from twinsight.service import ServiceSettings, create_app
from twinsight.store import AdtEventRow, IngestRow, QuarantineRow
from twinsight.twin import Twin, init_twin, open_twin

EVENTS = "/api/v1/twins/ward/events"
BATCH = "/api/v1/twins/ward/events/batch"
NDJSON = {"content-type": "application/x-ndjson"}


def arrival(event_id: str, patient: str = "MRN0042", **extra: Any) -> dict[str, Any]:
    """An ED arrival (ADT v1) with the given event id and raw patient identifier."""
    return {"v": 1, "event_id": event_id, "type": "arrival", "time": "2026-03-02T08:15:00Z",
            "unit": "ED", "patient_id": patient, "acuity": 3, **extra}  # fmt: skip


def bearer(home: Path, role: str = "admin") -> dict[str, str]:
    """The Authorization header of a new token of ``role`` in ``home``'s access store."""
    access = AccessStore(home)
    try:
        token, _ = access.create(role)
    finally:
        access.close()
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Served:
    """A TestClient on a fresh app serving the twin ``ward``, and the twin opened directly."""

    client: TestClient
    twin: Twin

    def count(self, table: type[object]) -> int:
        with self.twin.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    """The twin ``ward`` on SQLite or PostgreSQL, served by ``create_app``."""
    db = None if request.param == "sqlite" else request.getfixturevalue("pg_url")
    init_twin("ward", home=tmp_path, db_url=db).close()
    twin = open_twin("ward", home=tmp_path, db_url=db)
    try:
        app = create_app(ServiceSettings(home=tmp_path, db_url=db))
        with TestClient(app, headers=bearer(tmp_path)) as client:
            yield Served(client, twin)
    finally:
        twin.close()


def test_an_event_is_acknowledged_once_stored_and_a_repeat_is_a_duplicate(served: Served) -> None:
    first = served.client.post(EVENTS, json=arrival("e-1"))
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["accepted"], body["duplicate"], body["quarantined"]) == (1, 0, 0)
    again = served.client.post(EVENTS, json=arrival("e-1"))
    assert (again.json()["accepted"], again.json()["duplicate"]) == (0, 1)
    served.client.post(EVENTS, json=arrival("e-2", patient="MRN0043"))
    assert served.count(AdtEventRow) == 2
    with served.twin.engine.connect() as conn:
        keys = set(conn.execute(select(AdtEventRow.patient_key)).scalars())
    assert keys == {served.twin.pseudonymise("MRN0042"), served.twin.pseudonymise("MRN0043")}
    # one ingest for the server's stream into the twin, not one per request
    assert served.count(IngestRow) == 1
    assert {again.json()["ingest_id"]} == {body["ingest_id"]}


def test_an_invalid_event_is_quarantined_and_answered_422_with_the_reason(
    served: Served,
) -> None:
    response = served.client.post(EVENTS, json=arrival("e-9", type="teleport"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:twinsight:problem:invalid-event"
    assert problem["status"] == 422 and problem["instance"] == EVENTS
    assert problem["detail"].startswith("type:")
    assert (problem["accepted"], problem["quarantined"]) == (0, 1)
    assert "MRN0042" not in response.text
    assert served.count(AdtEventRow) == 0
    with served.twin.engine.connect() as conn:
        raw, reason = conn.execute(select(QuarantineRow.raw, QuarantineRow.reason)).one()
    assert reason == problem["detail"]
    assert "MRN0042" not in raw and "pseudonym:" in raw


def test_a_json_body_that_is_not_an_object_is_quarantined(served: Served) -> None:
    response = served.client.post(EVENTS, json=[arrival("e-1")])
    assert response.status_code == 422
    assert "/events/batch" in response.json()["detail"]
    assert served.count(QuarantineRow) == 1 and served.count(AdtEventRow) == 0


def test_a_batch_stores_good_records_and_quarantines_bad_ones(served: Served) -> None:
    records = [arrival("b-1"), arrival("b-2", patient="P2"), 5, arrival("b-3", type="x")]
    response = served.client.post(BATCH, json=records)
    assert response.status_code == 200, response.text
    assert response.json() | {"ingest_id": 0} == {
        "accepted": 2, "duplicate": 0, "quarantined": 2, "received": 4, "ingest_id": 0
    }  # fmt: skip
    lines = [json.dumps(arrival("b-1")), "", json.dumps(arrival("b-4", patient="P4")), "{oops"]
    ndjson = served.client.post(BATCH, content="\r\n".join(lines) + "\n", headers=NDJSON)
    assert ndjson.status_code == 200, ndjson.text
    got = ndjson.json()
    assert (got["accepted"], got["duplicate"], got["quarantined"], got["received"]) == (1, 1, 1, 3)
    assert served.count(AdtEventRow) == 3
    assert served.count(QuarantineRow) == 3
    assert served.count(IngestRow) == 1
    not_utf8 = served.client.post(BATCH, content=b'{"unit": "\xff"}\n', headers=NDJSON)
    assert (not_utf8.status_code, not_utf8.json()["quarantined"]) == (200, 1)
    empty = served.client.post(BATCH, json=[])
    assert empty.status_code == 200 and empty.json()["received"] == 0


def test_concurrent_requests_store_every_event_once(served: Served) -> None:
    """4 threads post 20 events each, half of them shared: counts add up, nothing is lost."""
    results: list[dict[str, int]] = []
    errors: list[str] = []
    lock = threading.Lock()

    def post(worker: int) -> None:
        for i in range(20):
            event_id = f"c-shared-{i}" if i % 2 else f"c-{worker}-{i}"
            response = served.client.post(EVENTS, json=arrival(event_id, patient=f"P{i}"))
            with lock:
                if response.status_code == 200:
                    results.append(response.json())
                else:
                    errors.append(response.text)

    threads = [threading.Thread(target=post, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    distinct = 4 * 10 + 10  # own events of each worker, and the 10 shared ones
    assert sum(r["accepted"] for r in results) == distinct
    assert sum(r["duplicate"] for r in results) == 80 - distinct
    assert served.count(AdtEventRow) == distinct
    assert served.count(IngestRow) == 1


def test_state_gives_census_and_counts_without_patient_keys(served: Served) -> None:
    events = [
        arrival("s-1", patient="P1"),
        arrival("s-2", patient="P2", time="2026-03-02T09:00:00Z"),
        {"v": 1, "event_id": "s-3", "type": "admit", "time": "2026-03-02T12:00:00Z",
         "unit": "MED1", "from_unit": "ED", "patient_id": "P1", "admission": "emergency"},
    ]  # fmt: skip
    assert served.client.post(BATCH, json=events).json()["accepted"] == 3
    response = served.client.get("/api/v1/twins/ward/state")
    assert response.status_code == 200, response.text
    state = response.json()
    truth = current_state(served.twin.engine)
    assert truth.census == {"ED": 1, "MED1": 1}
    # person counts below k = 5 leave the service as "<5"; event counts are not suppressed
    assert state["census"] == {"ED": "<5", "MED1": "<5"}
    assert state["patients"] == "<5" and state["in_ed"] == "<5" and state["events"] == 3
    assert datetime.fromisoformat(state["at"]) == datetime(2026, 3, 2, 12, tzinfo=UTC)
    for raw in ("P1", "P2"):
        assert served.twin.pseudonymise(raw) not in response.text
    before = served.client.get("/api/v1/twins/ward/state", params={"at": "2026-03-02T10:00:00Z"})
    assert before.json()["census"] == {"ED": "<5"}


def test_twins_and_health(served: Served) -> None:
    twins = served.client.get("/api/v1/twins").json()["twins"]
    assert [(t["name"], t["template"]) for t in twins] == [("ward", "hospital")]
    health = served.client.get("/api/v1/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"


def test_shutdown_marks_the_ingest_done(tmp_path: Path) -> None:
    init_twin("ward", home=tmp_path).close()
    app = create_app(ServiceSettings(home=tmp_path))
    with TestClient(app, headers=bearer(tmp_path, "device")) as client:
        assert client.post(EVENTS, json=arrival("d-1")).status_code == 200
    twin = open_twin("ward", home=tmp_path)
    try:
        with twin.engine.connect() as conn:
            row = conn.execute(select(IngestRow.status, IngestRow.accepted, IngestRow.format))
            assert tuple(row.one()) == ("done", 1, "http")
    finally:
        twin.close()


def test_the_openapi_schema_describes_the_ingest_body() -> None:
    schema = TestClient(create_app()).get("/openapi.json").json()
    post = schema["paths"]["/api/v1/twins/{name}/events"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/AdtEvent"
    )
    assert "patient_id" in schema["components"]["schemas"]["AdtEvent"]["properties"]
    problem = post["responses"]["404"]["content"]["application/problem+json"]["schema"]
    assert problem["$ref"].endswith("/Problem") and "Problem" in schema["components"]["schemas"]
