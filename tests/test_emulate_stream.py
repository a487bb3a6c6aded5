"""``emulate hospital`` live: the feed clock, POSTing batches (to a recording HTTP server and to
the real Twinsight service) and publishing to the real Mosquitto; counts checked against the
emulator's own defect log."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from twinsight.cli import app
from twinsight.connect import ingest_mqtt
from twinsight.emulate import StreamError, emulate_hospital, feed_schedule, stream_http
from twinsight.govern import Pseudonymiser
from twinsight.store import open_store

runner = CliRunner()
DAYS, SEED, BEDS = 1, 3, 20


def row(i: int, time: str) -> dict[str, Any]:
    return {"v": 1, "event_id": f"r-{i}", "type": "arrival", "time": time, "unit": "ED",
            "patient_id": f"MRN{i}", "acuity": 3}  # fmt: skip


def test_the_feed_clock_paces_rows_and_never_goes_back() -> None:
    rows = [
        row(1, "2026-03-02T08:00:00Z"),
        row(2, "2026-03-02T09:00:00Z"),
        row(3, "2026-03-02T08:30:00Z"),  # late: due at once (the clock stays at 09:00)
        row(4, "2026-03-02T25:61:00Z"),  # malformed: due at once
        row(5, "2026-03-02T11:00:00+00:00"),
    ]
    due = [d for d, _ in feed_schedule(rows, speed=60.0)]  # an hour of events a minute
    assert due == [0.0, 60.0, 60.0, 60.0, 180.0]
    assert [d for d, _ in feed_schedule(rows, speed=0)] == [0.0] * 5
    assert [r["event_id"] for _, r in feed_schedule(rows, 1.0)] == [f"r-{i}" for i in range(1, 6)]
    with pytest.raises(ValueError):
        list(feed_schedule(rows, -1.0))


class Recorder(BaseHTTPRequestHandler):
    """Records each POST body; answers 429 (Retry-After) to the first, then the counts."""

    bodies: ClassVar[list[list[dict[str, Any]]]] = []
    paths: ClassVar[list[str]] = []
    refuse_first = True
    fail_with: int | None = None

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).paths.append(self.path)
        if type(self).fail_with is not None:
            self._answer(type(self).fail_with, {"detail": "the twin 'x' does not exist"})
            return
        if type(self).refuse_first:
            type(self).refuse_first = False
            self._answer(429, {"detail": "busy"}, {"Retry-After": "0.2"})
            return
        type(self).bodies.append(body)
        self._answer(200, {"accepted": len(body) - 1, "duplicate": 1, "quarantined": 0})

    def _answer(
        self, code: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    Recorder.bodies, Recorder.paths = [], []
    Recorder.refuse_first, Recorder.fail_with = True, None
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_batches_are_posted_in_order_and_a_429_is_retried(recorder: str) -> None:
    rows = [row(i, f"2026-03-02T08:{i:02d}:00Z") for i in range(25)]
    notes: list[str] = []
    counts = stream_http(rows, recorder + "/", "ward 1", batch_size=10, notify=notes.append)
    assert [len(b) for b in Recorder.bodies] == [10, 10, 5]
    assert [r for b in Recorder.bodies for r in b] == rows  # each row once, in order
    assert set(Recorder.paths) == {"/api/v1/twins/ward%201/events/batch"}
    assert len(Recorder.paths) == 4  # the refused first batch was sent again
    assert (counts.sent, counts.accepted, counts.duplicate) == (25, 22, 3)
    assert any("429" in n for n in notes)


def test_rows_not_yet_due_go_in_a_later_request(recorder: str) -> None:
    Recorder.refuse_first = False
    rows = [row(1, "2026-03-02T08:00:00Z"), row(2, "2026-03-02T09:00:00Z")]
    stream_http(rows, recorder, "ward", speed=7200.0)  # an hour of events in half a second
    assert [len(b) for b in Recorder.bodies] == [1, 1]


def test_an_http_error_stops_the_stream_with_a_clear_message(recorder: str) -> None:
    Recorder.fail_with = 404
    with pytest.raises(StreamError) as info:
        stream_http([row(1, "2026-03-02T08:00:00Z")], recorder, "x")
    assert "HTTP 404: the twin 'x' does not exist" in str(info.value)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(StreamError) as info:
        stream_http([row(1, "2026-03-02T08:00:00Z")], f"http://127.0.0.1:{port}", "x")
    assert "cannot reach" in str(info.value) and info.value.hint


def _expected() -> tuple[int, int, int]:
    """accepted, duplicate, quarantined for the emulation the tests stream."""
    result = emulate_hospital(DAYS, SEED, beds=BEDS)
    dup, bad = len(result.defects.duplicate), len(result.defects.malformed)
    assert dup and bad, "pick a seed whose feed has both defects"
    return len(result.rows) - dup - bad, dup, bad


def test_emulate_streams_to_the_twinsight_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uvicorn = pytest.importorskip("uvicorn")
    from twinsight.service import ServiceSettings, create_app

    home = tmp_path / "home"
    assert runner.invoke(app, ["init", "ward", "--home", str(home)]).exit_code == 0
    token = ["token", "create", "--role", "device", "--home", str(home), "--json"]
    made = runner.invoke(app, token)
    monkeypatch.setenv("TWINSIGHT_TOKEN", json.loads(made.stdout)["token"])
    config = uvicorn.Config(
        create_app(ServiceSettings(home=home)), host="127.0.0.1", port=0, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the service did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        args = ["emulate", "hospital", "--days", str(DAYS), "--seed", str(SEED)]
        args += ["--beds", str(BEDS), "--http", f"http://127.0.0.1:{port}", "--twin", "ward"]
        result = runner.invoke(app, [*args, "--json"])
    finally:
        server.should_exit = True
        thread.join(10)
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["accepted"], out["duplicate"], out["quarantined"]) == _expected()
    assert out["sent"] == out["events"] == sum(_expected())


def test_emulate_publishes_to_mqtt_and_the_twin_stores_it(tmp_path: Path) -> None:
    url = os.environ.get("TWINSIGHT_MQTT_URL")
    if not url:
        pytest.skip("TWINSIGHT_MQTT_URL is not set: publishing needs a running broker")
    topic, client_id = f"twinsight-test/{uuid.uuid4().hex[:12]}/adt", uuid.uuid4().hex[:16]
    engine = open_store(tmp_path / "store.db")
    secret = Pseudonymiser(b"emulate stream test secret, 16+ bytes")
    ingest_mqtt(url, [topic], engine, secret, client_id=client_id, idle_timeout=0.2)
    args = ["emulate", "hospital", "--days", str(DAYS), "--seed", str(SEED), "--beds", str(BEDS)]
    result = runner.invoke(app, [*args, "--mqtt", url, "--topic", topic, "--json"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["sent"] == out["events"] == sum(_expected())
    report = ingest_mqtt(url, [topic], engine, secret, client_id=client_id, idle_timeout=1.0)
    assert (report.accepted, report.duplicate, report.quarantined) == _expected()
    engine.dispose()


def test_emulate_live_bad_options_exit_2_with_the_fix() -> None:
    base = ["emulate", "hospital", "--days", "1"]
    cases = [
        (["--mqtt", "mqtt://127.0.0.1:1883"], "--mqtt needs --topic"),
        (["--http", "http://127.0.0.1:1"], "--http needs --twin"),
        (["--mqtt", "mqtt://h", "--topic", "t", "--speed", "-1"], "--speed must be >= 0"),
        (["--mqtt", "mqtt://h", "--topic", "t", "--out", "x.csv"], "one of --out, --mqtt"),
        (["--mqtt", "tcp://h", "--topic", "t"], "is not an MQTT URL"),
        (["--http", "http://h", "--twin", "w", "--format", "fhir"], "stream ADT rows"),
    ]
    for args, message in cases:
        result = runner.invoke(app, [*base, *args])
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
        assert message in result.stderr and "hint" in result.stderr, (args, result.stderr)
