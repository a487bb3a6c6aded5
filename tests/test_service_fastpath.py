"""The lean single-event ingest lane (``service.fastpath``) answers exactly as the FastAPI route.

Every case is sent to two fresh services, one with the lane (the default) and one without
(``app.state.fast_ingest = False``: the FastAPI route), and the answers must be the same:
status, media type, ``Retry-After`` / ``WWW-Authenticate``, body (problem details or counts),
what was stored, and what was audited (denials in the home's log, ingests in the twin's).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from twinsight.govern import AccessStore, audit
from twinsight.service import ServiceSettings, create_app, fastpath
from twinsight.service import app as app_module
from twinsight.store import AdtEventRow, QuarantineRow
from twinsight.twin import init_twin, open_twin

EVENTS = "/api/v1/twins/ward/events"
JSON = {"content-type": "application/json"}
LIMIT = 600  # bytes of one event
BURST = 30  # ingest requests per token and twin (then 429: the rate is ~0)


def arrival(event_id: str, patient: str = "MRN0042", **extra: Any) -> dict[str, Any]:
    return {"v": 1, "event_id": event_id, "type": "arrival", "time": "2026-03-02T08:15:00Z",
            "unit": "ED", "patient_id": patient, "acuity": 3, **extra}  # fmt: skip


class Service:
    """A home with twins 'ward' and 'other', tokens of each kind, and a client of its app."""

    def __init__(self, home: Path, fast: bool) -> None:
        init_twin("ward", home=home).close()
        init_twin("other", home=home).close()
        remote = home / "remote"
        remote.mkdir()
        (remote / "twin.yaml").write_text("name: remote\ntemplate: hospital\nstore: url\n")
        self.home = home
        access = AccessStore(home)
        try:
            self.tokens = {
                "device": access.create("device", ["ward"])[0],
                "admin": access.create("admin")[0],
                "viewer": access.create("viewer")[0],
                "device-other": access.create("device", ["other"])[0],
                "device-limited": access.create("device", ["ward"])[0],
            }
        finally:
            access.close()
        settings = ServiceSettings(
            home=home, max_event_bytes=LIMIT, ingest_rate=0.001, ingest_burst=BURST
        )
        self.app = create_app(settings)
        self.app.state.fast_ingest = fast
        self.client = TestClient(self.app)

    def post(self, token: str | None, path: str = EVENTS, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {self.tokens.get(token, token)}"
        return self.client.post(path, headers=headers, **kwargs)

    def stored(self) -> tuple[int, int]:
        twin = open_twin("ward", home=self.home)
        try:
            with twin.engine.connect() as conn:
                return tuple(  # type: ignore[return-value]
                    int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                    for t in (AdtEventRow, QuarantineRow)
                )
        finally:
            twin.close()

    def audited(self) -> tuple[list[tuple[str, str, Any]], list[tuple[str, Any]]]:
        """(action, target, detail) of the home's log without actors (tokens differ per
        service); (action, detail) of the twin's log without ingest ids."""
        access = AccessStore(self.home)
        try:
            home = [(e.action, e.target, e.detail) for e in audit.entries(access.engine)]
        finally:
            access.close()
        twin = open_twin("ward", home=self.home)
        try:
            own = [
                (e.action, {k: v for k, v in (e.detail or {}).items() if k != "ingest_id"})
                for e in audit.entries(twin.engine)
            ]
        finally:
            twin.close()
        return home, own


def _chunks(total: int) -> Iterator[bytes]:
    yield b'{"v": 1, "padding": "'
    for _ in range(total // 100):
        yield b"x" * 100
    yield b'"}'


Case = tuple[str, Callable[[Service], Any]]
CASES: list[Case] = [
    ("accepted", lambda s: s.post("device", json=arrival("a-1"))),
    ("duplicate", lambda s: s.post("device", json=arrival("a-1"))),
    ("utf-8 charset", lambda s: s.post("device", content=b'{"v": 1}',
     headers={"content-type": "application/json; charset=UTF-8"})),
    ("quarantined", lambda s: s.post("admin", json=arrival("q-1", type="teleport"))),
    ("not an object", lambda s: s.post("admin", json=[arrival("q-2")])),
    ("malformed JSON", lambda s: s.post("admin", content=b'{"v": 1,', headers=JSON)),
    ("not UTF-8", lambda s: s.post("admin", content=b'{"unit": "\xff"}', headers=JSON)),
    ("too large", lambda s: s.post("admin", content=b'"' + b"x" * LIMIT + b'"', headers=JSON)),
    ("streamed, too large", lambda s: s.post("admin", content=_chunks(2 * LIMIT),
     headers=JSON)),
    ("streamed, small", lambda s: s.post("admin", content=iter([b'{"v": 1', b"}"]),
     headers=JSON)),
    ("bad content-length", lambda s: s.post("admin", content=b"{}",
     headers={**JSON, "content-length": "lots"})),
    ("no content type", lambda s: s.post("admin", content=b"{}")),
    ("ndjson", lambda s: s.post("admin", content=b"{}", headers={"content-type":
     "application/x-ndjson"})),
    ("latin-1", lambda s: s.post("admin", content=b"{}", headers={"content-type":
     "application/json; charset=latin-1"})),
    ("no token", lambda s: s.post(None, json=arrival("n-1"))),
    ("not bearer", lambda s: s.post(None, json=arrival("n-2"), headers={"Authorization":
     "Basic abc"})),
    ("unknown token", lambda s: s.post("tsk_00000000_" + "A" * 43, json=arrival("n-3"))),
    ("viewer", lambda s: s.post("viewer", json=arrival("n-4"))),
    ("other twin's device", lambda s: s.post("device-other", json=arrival("n-5"))),
    ("unknown twin", lambda s: s.post("admin", "/api/v1/twins/nope/events",
     json=arrival("n-6"))),
    ("dot-dot twin", lambda s: s.post("admin", "/api/v1/twins/%2E%2E/events",
     json=arrival("n-7"))),
    ("twin needs a database URL", lambda s: s.post("admin", "/api/v1/twins/remote/events",
     json=arrival("n-8"))),
    ("rate limited", lambda s: [s.post("device-limited", json=arrival(f"r-{i}"))
     for i in range(BURST + 1)][-1]),
    ("repeated content type", lambda s: s.client.post(EVENTS, content=b"{}", headers=[
     ("content-type", "text/plain"), ("content-type", "application/json"),
     ("authorization", f"Bearer {s.tokens['admin']}")])),
    ("GET is not the lane", lambda s: s.client.get(EVENTS, headers={"Authorization":
     f"Bearer {s.tokens['admin']}"})),
]  # fmt: skip


def _answer(response: Any) -> tuple[Any, ...]:
    body = response.json()
    if isinstance(body, dict):
        body.pop("ingest_id", None)  # each service has its own ingest
    headers = {k: response.headers.get(k) for k in ("retry-after", "www-authenticate")}
    if response.status_code == 429:  # seconds to wait: ~1 / rate, less the time gone by
        assert 990 <= int(headers.pop("retry-after") or 0) <= 1000
        assert 990 <= body.pop("retry_after") <= 1000
        body["detail"] = re.sub(r"after \d+ s", "after N s", body["detail"])
    return response.status_code, response.headers.get("content-type"), headers, body


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The twins of the requests the lane handled."""
    seen: list[str] = []
    original = fastpath.handle_event_post

    async def counting(app: Any, scope: Any, receive: Any, send: Any, name: str) -> None:
        seen.append(name)
        await original(app, scope, receive, send, name)

    monkeypatch.setattr(app_module, "handle_event_post", counting)
    return seen


def test_the_lane_answers_every_case_as_the_route_does(tmp_path: Path, calls: list[str]) -> None:
    fast, slow = Service(tmp_path / "fast", True), Service(tmp_path / "slow", False)
    with fast.client, slow.client:
        for label, send in CASES:
            lane = _answer(send(fast))
            route = _answer(send(slow))
            assert lane == route, label
        assert fast.stored() == slow.stored() == (1 + BURST, 3)
        assert fast.audited() == slow.audited()
    assert len(calls) == len(CASES) - 2 + BURST + 1  # every POST through the lane, no GET
    assert set(calls) == {"ward", "nope", "..", "remote"}


def test_the_lane_covers_every_status_it_documents(tmp_path: Path) -> None:
    """The cases reach every answer the route documents but 503 for a failed commit (that one
    is in test_service_errors.py, through the lane)."""
    service = Service(tmp_path, True)
    with service.client:
        seen = {send(service).status_code for _, send in CASES}
    assert seen >= {200, 400, 401, 403, 404, 405, 413, 415, 422, 429, 503}


def test_an_unexpected_error_in_the_lane_is_a_generic_500(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("patient MRN0042 broke it")

    monkeypatch.setattr(fastpath, "ingest_event", boom)
    caplog.set_level(logging.DEBUG)
    service = Service(tmp_path, True)
    with service.client:
        response = service.post("device", json=arrival("b-1"))
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:twinsight:problem:internal-error"
    assert problem["instance"] == EVENTS
    assert "RuntimeError" in caplog.text
    assert "MRN0042" not in caplog.text and "MRN0042" not in response.text


def test_the_route_stays_documented_in_openapi(tmp_path: Path) -> None:
    service = Service(tmp_path, True)
    operation = service.client.get("/openapi.json").json()["paths"]["/api/v1/twins/{name}/events"][
        "post"
    ]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AdtEvent"
    }
    assert {"200", "401", "403", "413", "415", "422", "429"} <= set(operation["responses"])


def _access(method: str, path: str, status: int) -> logging.LogRecord:
    """An access-log record as uvicorn makes it (client, method, path, HTTP version, status)."""
    return logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", method, path, "1.1", status), None,
    )  # fmt: skip


def test_serve_leaves_only_single_events_answered_200_out_of_the_access_log() -> None:
    from twinsight.cli._serve import serve_log_config

    config = serve_log_config()
    assert config["loggers"]["uvicorn.access"]["filters"] == ["single-events"]
    assert config["filters"]["single-events"]["()"].endswith("fastpath.IngestAccessFilter")
    keep = fastpath.IngestAccessFilter().filter
    assert not keep(_access("POST", EVENTS, 200))
    assert keep(_access("POST", EVENTS, 422))  # refused events stay in the log
    assert keep(_access("POST", EVENTS, 401))
    assert keep(_access("POST", EVENTS + "/batch", 200))
    assert keep(_access("POST", EVENTS + "?x=1", 200))
    assert keep(_access("GET", "/api/v1/twins/ward/state", 200))
    assert keep(logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, "plain", (), None))
