"""``twinsight serve`` for real: a subprocess on a free loopback port, posted to with httpx.

One test per store (SQLite, PostgreSQL): events in by the single and batch endpoints, the
state read back, then durability: client threads post single events while the server is
killed with SIGKILL; after a restart every event that was answered 200 is in the store
(acknowledged => durable), and posting it again is a duplicate.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from twinsight.govern import AccessStore, audit
from twinsight.store import AdtEventRow, IngestRow
from twinsight.twin import init_twin, open_twin

#: Acknowledged events to wait for before the kill (enough that requests are in flight).
BURST = 150
CLIENT_THREADS = 3


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _event(event_id: str, patient: str, minute: int = 0) -> dict[str, Any]:
    return {"v": 1, "event_id": event_id, "type": "arrival",
            "time": f"2026-03-02T08:{minute % 60:02d}:00Z", "unit": "ED", "patient_id": patient,
            "acuity": 3}  # fmt: skip


class Server:
    """A ``twinsight serve`` process; its output goes to a log file (shown on failure)."""

    def __init__(self, home: Path, db: str | None, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/api/v1"
        args = [sys.executable, "-m", "twinsight.cli", "serve", "--home", str(home)]
        args += ["--port", str(self.port)] + (["--db", db] if db else [])
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.output()
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError(f"the server did not answer within 60 s\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _token(home: Path) -> dict[str, str]:
    """The Authorization header of a new admin token (it may ingest and read state)."""
    access = AccessStore(home)
    try:
        token, _ = access.create("admin", name="e2e")
    finally:
        access.close()
    return {"Authorization": f"Bearer {token}"}


def _burst(
    url: str, headers: dict[str, str], worker: int, acked: list[str], lock: threading.Lock
) -> None:
    """Post single events until the server goes away; note each one answered 200."""
    with httpx.Client(timeout=10, headers=headers) as client:
        for i in range(100_000):
            event_id = f"k-{worker}-{i}"
            try:
                response = client.post(f"{url}/twins/ward/events",
                                       json=_event(event_id, f"P{worker}-{i}", i))  # fmt: skip
            except httpx.TransportError:
                return
            if response.status_code == 200:
                assert response.json()["accepted"] == 1
                with lock:
                    acked.append(event_id)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_serve_ingests_and_every_acknowledged_event_survives_kill_9(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    db = None if backend == "sqlite" else request.getfixturevalue("pg_url")
    home = tmp_path / "home"
    init_twin("ward", home=home, db_url=db).close()
    log = tmp_path / "serve.log"
    auth = _token(home)
    server = Server(home, db, log)
    try:
        assert httpx.get(f"{server.url}/twins/ward/state").status_code == 401
        one = httpx.post(
            f"{server.url}/twins/ward/events", json=_event("e-1", "MRN0042"), headers=auth
        )
        assert one.status_code == 200 and one.json()["accepted"] == 1, one.text
        lines = [json.dumps(_event(f"e-{i}", f"MRN00{i}", i)) for i in range(2, 6)] + ["{x"]
        batch = httpx.post(
            f"{server.url}/twins/ward/events/batch",
            content="\n".join(lines),
            headers={"content-type": "application/x-ndjson", **auth},
        )
        assert batch.json() | {"ingest_id": 0} == {
            "accepted": 4, "duplicate": 0, "quarantined": 1, "received": 5, "ingest_id": 0
        }  # fmt: skip
        state = httpx.get(f"{server.url}/twins/ward/state", headers=auth).json()
        assert state["census"] == {"ED": 5}

        acked: list[str] = []
        lock = threading.Lock()
        threads = [
            threading.Thread(target=_burst, args=(server.url, auth, w, acked, lock))
            for w in range(CLIENT_THREADS)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while len(acked) < BURST and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(server.proc.pid, signal.SIGKILL)  # mid-burst: requests are in flight
        server.proc.wait()
        for thread in threads:
            thread.join(timeout=30)
        assert len(acked) >= BURST, server.output()
    finally:
        server.stop()

    twin = open_twin("ward", home=home, db_url=db)
    try:
        with twin.engine.connect() as conn:
            stored = set(conn.execute(select(AdtEventRow.event_key)).scalars())
    finally:
        twin.close()
    lost = [e for e in acked if f"id:{e}" not in stored]
    assert lost == [], f"{len(lost)} acknowledged events are not in the store"
    # each answered request was audited in the transaction that stored it; no link is broken
    twin = open_twin("ward", home=home, db_url=db)
    try:
        report = audit.verify(twin.engine)
        singles = audit.entries(twin.engine, action="ingest")
    finally:
        twin.close()
    assert report.intact, report.problem
    # one entry per group commit of single events, counting its requests
    assert sum(e.detail["requests"] for e in singles if e.target == "http:events") >= 1 + len(acked)

    again = Server(home, db, log)
    try:
        repeat = httpx.post(
            f"{again.url}/twins/ward/events", json=_event(acked[-1], "P"), headers=auth
        )
        assert repeat.json()["duplicate"] == 1, repeat.text
        census = httpx.get(f"{again.url}/twins/ward/state", headers=auth).json()["census"]
        assert census["ED"] >= 5 + len(acked)
    finally:
        again.stop()
    assert "Application shutdown complete" in again.output()  # Ctrl+C: exit 130, graceful
    assert "Traceback" not in again.output() and "MRN00" not in again.output()
    twin = open_twin("ward", home=home, db_url=db)
    try:
        with twin.engine.connect() as conn:
            status = dict(conn.execute(select(IngestRow.id, IngestRow.status)).all())
    finally:
        twin.close()
    # the killed server's ingest stays 'running' (interrupted); the stopped one is 'done'
    assert sorted(status.values()) == ["done", "running"]
