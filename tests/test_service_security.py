"""The service's security: 401/403 problems audited, logins, ingest audited per request, rate
limits (429 + Retry-After), the single-event size limit, suppression's k, no-auth mode."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from twinsight.cli import app as cli
from twinsight.govern import AccessStore, audit
from twinsight.service import ServiceSettings, create_app
from twinsight.service.security import RateLimiter
from twinsight.twin import init_twin, open_twin

EVENTS = "/api/v1/twins/ward/events"
BATCH = "/api/v1/twins/ward/events/batch"


def arrival(event_id: str, patient: str = "MRN0042", **extra: Any) -> dict[str, Any]:
    return {"v": 1, "event_id": event_id, "type": "arrival", "time": "2026-03-02T08:15:00Z",
            "unit": "ED", "patient_id": patient, "acuity": 3, **extra}  # fmt: skip


@pytest.fixture
def home(tmp_path: Path) -> Path:
    init_twin("ward", home=tmp_path).close()
    return tmp_path


def _token(home: Path, role: str, *twins: str) -> tuple[str, str]:
    access = AccessStore(home)
    try:
        token, info = access.create(role, list(twins))
    finally:
        access.close()
    return token, info.id


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _home_log(home: Path) -> list[audit.AuditEntry]:
    access = AccessStore(home)
    try:
        return audit.entries(access.engine)
    finally:
        access.close()


def _twin_log(home: Path) -> list[audit.AuditEntry]:
    twin = open_twin("ward", home=home)
    try:
        return audit.entries(twin.engine)
    finally:
        twin.close()


@pytest.fixture
def client(home: Path) -> Iterator[TestClient]:
    with TestClient(create_app(ServiceSettings(home=home))) as test_client:
        yield test_client


def test_denied_requests_are_problems_and_audited_without_the_token(
    home: Path, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    viewer, viewer_id = _token(home, "viewer")
    bogus = "tsk_00000000_" + "A" * 43
    none = client.post(EVENTS, json=arrival("d-1"))
    assert none.status_code == 401 and none.headers["www-authenticate"] == "Bearer"
    assert none.headers["content-type"] == "application/problem+json"
    assert none.json()["type"] == "urn:twinsight:problem:unauthorized"
    assert client.get("/api/v1/twins", headers=_auth(bogus)).status_code == 401
    assert client.get("/api/v1/twins", headers={"Authorization": "Basic eDp5"}).status_code == 401
    forbidden = client.post(EVENTS, json=arrival("d-1"), headers=_auth(viewer))
    assert forbidden.status_code == 403 and "role 'viewer'" in forbidden.json()["detail"]
    log = _home_log(home)
    denied = [(e.actor, e.target, e.detail["status"]) for e in log if e.action == "denied"]
    assert denied == [
        ("anonymous", f"POST {EVENTS}", 401),
        ("anonymous", "GET /api/v1/twins", 401),
        ("anonymous", "GET /api/v1/twins", 401),
        (f"token:{viewer_id}", f"POST {EVENTS}", 403),
    ]
    assert [e.actor for e in log if e.action == "login"] == [f"token:{viewer_id}"]
    for text in (caplog.text, str([e.to_json() for e in log])):
        assert viewer not in text and bogus not in text and "MRN0042" not in text
    access = AccessStore(home)
    try:
        assert audit.verify(access.engine).intact
    finally:
        access.close()


def test_each_ingest_request_is_audited_with_its_actor(home: Path, client: TestClient) -> None:
    device, device_id = _token(home, "device", "ward")
    assert client.post(EVENTS, json=arrival("a-1"), headers=_auth(device)).status_code == 200
    bad = client.post(EVENTS, json=arrival("a-2", type="x"), headers=_auth(device))
    assert bad.status_code == 422
    batch = client.post(BATCH, json=[arrival("a-1"), arrival("a-3")], headers=_auth(device))
    assert batch.status_code == 200
    log = _twin_log(home)
    assert [(e.actor, e.target) for e in log] == [(f"token:{device_id}", "http:events")] * 2 + [
        (f"token:{device_id}", "http:events/batch")
    ]
    assert [(e.detail["accepted"], e.detail["duplicate"], e.detail["quarantined"])
            for e in log] == [(1, 0, 0), (0, 0, 1), (1, 1, 0)]  # fmt: skip
    assert "MRN0042" not in str([e.to_json() for e in log])


def test_the_rate_limit_answers_429_with_retry_after(home: Path) -> None:
    device, _ = _token(home, "device")
    other, _ = _token(home, "device")
    settings = ServiceSettings(home=home, ingest_rate=0.5, ingest_burst=2)
    with TestClient(create_app(settings)) as client:
        codes = [
            client.post(EVENTS, json=arrival(f"r-{i}"), headers=_auth(device)).status_code
            for i in range(2)
        ]
        limited = client.post(EVENTS, json=arrival("r-9"), headers=_auth(device))
        assert codes == [200, 200] and limited.status_code == 429
        assert limited.json()["type"] == "urn:twinsight:problem:rate-limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 2
        # each token has its own bucket
        assert client.post(EVENTS, json=arrival("r-3"), headers=_auth(other)).status_code == 200


def test_the_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    key = ("t", "ward")
    assert [limiter.take(key) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take(key) == pytest.approx(0.5)
    now[0] = 0.5  # one token back
    assert limiter.take(key) == 0.0 and limiter.take(key) > 0
    now[0] = 100.0  # never more than the burst
    assert [limiter.take(key) for _ in range(4)][-1] > 0


def test_a_single_event_is_limited_to_max_event_bytes_and_a_batch_is_not(home: Path) -> None:
    admin, _ = _token(home, "admin")
    settings = ServiceSettings(home=home, max_event_bytes=1_000, max_body_bytes=5_000)
    padded = arrival("s-1", specialty="x" * 1_200)
    with TestClient(create_app(settings), headers=_auth(admin)) as client:
        big = client.post(EVENTS, json=padded)
        assert big.status_code == 413 and big.json()["limit"] == 1_000
        assert client.post(BATCH, json=[padded]).status_code == 200
        assert client.post(BATCH, json=[padded] * 5).status_code == 413


def test_k_is_a_setting_and_no_auth_acts_as_local(home: Path) -> None:
    events = [arrival(f"k-{i}", patient=f"P{i}") for i in range(3)]
    with TestClient(create_app(ServiceSettings(home=home, auth=False, suppress_k=3))) as client:
        assert client.post(BATCH, json=events).status_code == 200
        assert client.get("/api/v1/twins/ward/state").json()["census"] == {"ED": 3}
    with TestClient(create_app(ServiceSettings(home=home, auth=False, suppress_k=4))) as client:
        state = client.get("/api/v1/twins/ward/state").json()
        assert state["census"] == {"ED": "<4"} and state["patients"] == "<4"
    assert {e.actor for e in _twin_log(home)} == {"local"}


def test_serve_refuses_no_auth_off_loopback(home: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", "--home", str(home), "--no-auth",
                                      "--host", "0.0.0.0"])  # fmt: skip
    assert result.exit_code == 2 and "only listen on loopback" in result.output


def test_the_retention_setting_runs_at_start_and_is_audited(home: Path) -> None:
    old = [arrival("o-1", patient="A", time="2020-01-01T08:00:00Z"),
           arrival("o-2", patient="A", type="discharge", time="2020-01-01T10:00:00Z")]  # fmt: skip
    with TestClient(create_app(ServiceSettings(home=home, auth=False))) as client:
        assert client.post(BATCH, json=old).json()["accepted"] == 2
    settings = ServiceSettings(home=home, auth=False, retention_days=30)
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # read through the service: one opener of the twin
            log = client.get("/api/v1/twins/ward/audit").json()["entries"]
            done = [e for e in log if e["action"] == "retention"]
            if done:
                break
            time.sleep(0.1)
    assert [(e["actor"], e["detail"]["events_deleted"]) for e in done] == [("service", 2)]


def test_the_openapi_schema_declares_bearer_tokens() -> None:
    schema = TestClient(create_app()).get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert schema["security"] == [{"bearer": []}]
    assert schema["paths"]["/api/v1/health"]["get"]["security"] == []


def test_a_flood_of_denied_requests_gets_429_and_no_more_audit_entries(home: Path) -> None:
    settings = ServiceSettings(home=home, denied_rate=0.1, denied_burst=3)
    with TestClient(create_app(settings)) as client:
        codes = [client.get("/api/v1/twins").status_code for _ in range(5)]
        last = client.get("/api/v1/twins")
    assert codes == [401, 401, 401, 429, 429]
    assert last.json()["type"] == "urn:twinsight:problem:too-many-denied"
    assert int(last.headers["retry-after"]) >= 1
    assert len([e for e in _home_log(home) if e.action == "denied"]) == 3
