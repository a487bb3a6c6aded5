"""HTTP service errors: every case answered as RFC 9457 problem details, nothing stored.

Each case checks the status, ``application/problem+json``, the five members (type, title,
status, detail, instance) and that no traceback or raw patient identifier is answered or logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from twinsight.cli import app as cli
from twinsight.govern import AccessStore
from twinsight.service import ServiceSettings, create_app
from twinsight.store import AdtEventRow, QuarantineRow
from twinsight.twin import init_twin, open_twin

EVENTS = "/api/v1/twins/ward/events"
BATCH = "/api/v1/twins/ward/events/batch"
NDJSON = {"content-type": "application/x-ndjson"}
LIMIT_BYTES = 2_000
LIMIT_EVENTS = 3
PROBLEM = "urn:twinsight:problem:"


def arrival(event_id: str, patient: str = "MRN0042", **extra: Any) -> dict[str, Any]:
    """An ED arrival (ADT v1) with the given event id and raw patient identifier."""
    return {"v": 1, "event_id": event_id, "type": "arrival", "time": "2026-03-02T08:15:00Z",
            "unit": "ED", "patient_id": patient, "acuity": 3, **extra}  # fmt: skip


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home with the SQLite twin ``ward`` and a twin ``remote`` that needs a server URL."""
    init_twin("ward", home=tmp_path).close()
    remote = tmp_path / "remote"
    remote.mkdir()
    config = {"twinsight": 1, "name": "remote", "template": "hospital", "store": "url"}
    (remote / "twin.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return tmp_path


@pytest.fixture
def service(home: Path) -> FastAPI:
    settings = ServiceSettings(home=home, max_body_bytes=LIMIT_BYTES, max_batch_events=LIMIT_EVENTS)
    return create_app(settings)


def bearer(home: Path, role: str = "admin") -> dict[str, str]:
    """The Authorization header of a new token of ``role`` in ``home``'s access store."""
    access = AccessStore(home)
    try:
        token, _ = access.create(role)
    finally:
        access.close()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(service: FastAPI, home: Path) -> Iterator[TestClient]:
    with TestClient(service, headers=bearer(home)) as test_client:
        yield test_client


def _chunks(total: int) -> Iterator[bytes]:
    """A streamed body (no Content-Length): ``total`` bytes of a JSON string, 500 at a time."""
    yield b'"'
    for _ in range(total // 500):
        yield b"x" * 500
    yield b'"'


JSON = {"content-type": "application/json"}
BIG = b'{"v": 1, "padding": "' + b"x" * LIMIT_BYTES + b'"}'
CASES: list[tuple[str, str, str, dict[str, Any], int, str]] = [
    ("unknown twin", "POST", "/api/v1/twins/nope/events", {"json": arrival("e")}, 404,
     PROBLEM + "twin-not-found"),
    ("bad twin name", "POST", "/api/v1/twins/%2E%2E/events", {"json": arrival("e")}, 404,
     PROBLEM + "twin-not-found"),
    ("malformed JSON", "POST", EVENTS, {"content": b'{"v": 1,', "headers": JSON}, 400,
     PROBLEM + "malformed-json"),
    ("not UTF-8", "POST", EVENTS, {"content": b'{"unit": "\xff"}', "headers": JSON}, 400,
     PROBLEM + "malformed-json"),
    ("malformed JSON batch", "POST", BATCH, {"content": b"[{]", "headers": JSON}, 400,
     PROBLEM + "malformed-json"),
    ("Content-Length over the limit", "POST", EVENTS, {"content": BIG, "headers": JSON}, 413,
     PROBLEM + "body-too-large"),
    ("streamed body over the limit", "POST", BATCH,
     {"content": _chunks(3 * LIMIT_BYTES), "headers": JSON}, 413, PROBLEM + "body-too-large"),
    ("no content type", "POST", EVENTS, {"content": b"{}"}, 415,
     PROBLEM + "unsupported-media-type"),
    ("wrong content type", "POST", EVENTS, {"content": b"{}", "headers": NDJSON}, 415,
     PROBLEM + "unsupported-media-type"),
    ("not UTF-8 charset", "POST", BATCH,
     {"content": b"[]", "headers": {"content-type": "application/json; charset=latin-1"}}, 415,
     PROBLEM + "unsupported-media-type"),
    ("too many events (JSON)", "POST", BATCH, {"json": [arrival(f"m-{i}") for i in range(4)]},
     413, PROBLEM + "too-many-events"),
    ("too many events (NDJSON)", "POST", BATCH, {"content": b"{}\n" * 4, "headers": NDJSON},
     413, PROBLEM + "too-many-events"),
    ("batch not an array", "POST", BATCH, {"json": arrival("e")}, 422, PROBLEM + "invalid-batch"),
    ("twin needs a database URL", "POST", "/api/v1/twins/remote/events",
     {"json": arrival("e")}, 503, PROBLEM + "twin-unavailable"),
    ("state of an empty store", "GET", "/api/v1/twins/ward/state", {}, 409,
     PROBLEM + "no-events"),
    ("state at a naive instant", "GET", "/api/v1/twins/ward/state",
     {"params": {"at": "2026-03-02T08:00:00"}}, 422, PROBLEM + "invalid-parameter"),
    ("unknown route", "GET", "/api/v1/nothing", {}, 404, "about:blank"),
    ("wrong method", "DELETE", EVENTS, {}, 405, "about:blank"),
]  # fmt: skip


def _count(home: Path, table: type[object]) -> int:
    twin = open_twin("ward", home=home)
    try:
        with twin.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    finally:
        twin.close()


def _check_problem(response: Any, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["type"] == type_
    assert problem["status"] == status
    assert problem["title"] and problem["detail"]
    assert problem["instance"] == response.request.url.path
    assert "Traceback" not in response.text and "MRN0042" not in response.text
    return problem


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "type_"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_errors_are_problem_details_and_store_nothing(
    client: TestClient,
    home: Path,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    type_: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    _check_problem(client.request(method, path, **kwargs), status, type_)
    assert _count(home, AdtEventRow) == 0
    assert _count(home, QuarantineRow) == 0
    assert "Traceback" not in caplog.text and "MRN0042" not in caplog.text


def test_a_bad_content_length_is_400(client: TestClient) -> None:
    headers = {**JSON, "content-length": "lots"}
    response = client.post(EVENTS, content=b"{}", headers=headers)
    _check_problem(response, 400, PROBLEM + "bad-content-length")


def test_a_store_failure_is_503_and_the_twin_recovers(
    client: TestClient, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A failed commit answers 503 (nothing acknowledged); its records are not kept pending."""
    caplog.set_level(logging.DEBUG)
    assert client.post(EVENTS, json=arrival("f-1")).status_code == 200
    twin = open_twin("ward", home=home)
    try:
        with twin.engine.begin() as conn:
            conn.execute(text("DROP TABLE quarantine"))
    finally:
        twin.close()
    failed = client.post(EVENTS, json=arrival("f-2", type="teleport"))
    problem = _check_problem(failed, 503, PROBLEM + "store-unavailable")
    assert failed.headers["retry-after"] == "5"
    assert "quarantine" not in problem["detail"]  # the database's message is not answered
    after = client.post(EVENTS, json=arrival("f-3", patient="MRN0043"))
    assert after.status_code == 200, after.text
    assert (after.json()["accepted"], after.json()["quarantined"]) == (1, 0)
    assert "Traceback" not in caplog.text and "MRN0042" not in caplog.text


def test_an_unexpected_error_is_a_generic_500_logged_without_traceback(
    service: FastAPI, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def boom() -> None:
        raise RuntimeError("patient MRN0042 broke it")

    service.add_api_route("/api/v1/boom", boom)
    caplog.set_level(logging.DEBUG)
    with TestClient(service, headers=bearer(home)) as client:
        problem = _check_problem(client.get("/api/v1/boom"), 500, PROBLEM + "internal-error")
    assert "broke" not in problem["detail"]
    assert "RuntimeError" in caplog.text
    assert "Traceback" not in caplog.text and "MRN0042" not in caplog.text


runner = CliRunner()


def test_serve_on_a_port_in_use_exits_2_with_the_fix(home: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = runner.invoke(cli, ["serve", "--home", str(home), "--port", str(port)])
    assert result.exit_code == 2
    assert f"port {port} on 127.0.0.1 is in use" in result.output
    assert f"--port {port + 1}" in result.output
    assert "Traceback" not in result.output


def test_serve_without_a_home_folder_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["serve", "--home", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert "is not a folder of twins" in result.output
