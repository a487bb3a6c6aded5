"""Group commit of HTTP ingest: concurrent single-event requests share transactions, and each
is answered with its own outcome only after the transaction holding it has committed.

A real ``twinsight serve`` (uvicorn, subprocess) gets 210 requests at once from httpx's
AsyncClient: new events, events sent twice at the same moment, an event stored before, and
invalid ones. Every event is stored exactly once, each answer is its own (accepted, duplicate,
or 422 with its own reason), the audit log counts every request once in entries that each
cover a group, and fewer entries than requests prove the requests shared commits. The race the
per-request outcomes guard against (another writer storing a key between the read of known keys
and the group's transaction) is made to happen in ``commit_group`` directly.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from test_service_e2e import Server
from twinsight.govern import AccessStore, audit
from twinsight.service.services import group_commit
from twinsight.service.services.group_commit import Request, commit_group
from twinsight.service.services.registry import TwinHandle
from twinsight.store import AdtEventRow, QuarantineRow
from twinsight.twin import init_twin, open_twin

NEW, TWICE, BAD = 180, 10, 10
#: invalid events and the words their 422 reason must contain
DEFECTS: list[tuple[dict[str, Any], str]] = [
    ({"type": "teleport"}, "type"),
    ({"unit": ""}, "unit"),
]


def _event(event_id: str, patient: str, **extra: Any) -> dict[str, Any]:
    return {"v": 1, "event_id": event_id, "type": "arrival", "time": "2026-03-02T08:15:00Z",
            "unit": "ED", "patient_id": patient, "acuity": 3, **extra}  # fmt: skip


def _admin(home: Path) -> dict[str, str]:
    access = AccessStore(home)
    try:
        token, _ = access.create("admin", name="group-commit test")
    finally:
        access.close()
    return {"Authorization": f"Bearer {token}"}


async def _post_all(url: str, headers: dict[str, str], bodies: list[bytes]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=len(bodies))
    async with httpx.AsyncClient(headers=headers, timeout=60, limits=limits) as client:
        posts = [
            client.post(url, content=body, headers={"content-type": "application/json"})
            for body in bodies
        ]
        return list(await asyncio.gather(*posts))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_requests_share_commits_and_each_gets_its_own_answer(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    db = None if backend == "sqlite" else request.getfixturevalue("pg_url")
    home = tmp_path / "home"
    init_twin("ward", home=home, db_url=db).close()
    auth = _admin(home)
    server = Server(home, db, tmp_path / "serve.log")
    url = f"{server.url}/twins/ward/events"
    try:
        before = httpx.post(url, json=_event("known", "MRN0001"), headers=auth)
        assert before.status_code == 200 and before.json()["accepted"] == 1, before.text
        bodies: list[tuple[str, bytes]] = []
        bodies += [(f"n-{i}", json.dumps(_event(f"n-{i}", f"MRN1{i:03d}")).encode())
                   for i in range(NEW)]  # fmt: skip
        bodies += [(f"t-{i}", json.dumps(_event(f"t-{i}", f"MRN2{i:03d}")).encode())
                   for i in range(TWICE)] * 2  # fmt: skip
        bodies += [("known", json.dumps(_event("known", "MRN0001")).encode())]
        for i in range(BAD):
            defect, _ = DEFECTS[i % len(DEFECTS)]
            bodies.append(
                (f"b-{i}", json.dumps(_event(f"b-{i}", f"MRN3{i:03d}", **defect)).encode())
            )
        answers = asyncio.run(_post_all(url, auth, [body for _, body in bodies]))
    finally:
        server.stop()
    assert "Traceback" not in server.output() and "MRN" not in server.output()

    outcomes: dict[str, list[tuple[int, int, int]]] = {}
    for (event_id, _), answer in zip(bodies, answers, strict=True):
        body = answer.json()
        if event_id.startswith("b-"):
            _, word = DEFECTS[int(event_id[2:]) % len(DEFECTS)]
            assert answer.status_code == 422, answer.text
            assert body["type"] == "urn:twinsight:problem:invalid-event"
            assert body["detail"].startswith(word), body["detail"]  # its own reason
        else:
            assert answer.status_code == 200, answer.text
        outcomes.setdefault(event_id, []).append(
            (body["accepted"], body["duplicate"], body["quarantined"])
        )
    for event_id, seen in outcomes.items():
        if event_id.startswith("n-"):
            assert seen == [(1, 0, 0)]
        elif event_id.startswith("t-"):  # sent twice at once: one stored it, one found it
            assert sorted(seen) == [(0, 1, 0), (1, 0, 0)], (event_id, seen)
        elif event_id == "known":
            assert seen == [(0, 1, 0)]
        else:
            assert seen == [(0, 0, 1)]

    twin = open_twin("ward", home=home, db_url=db)
    try:
        with twin.engine.connect() as conn:
            keys = list(conn.execute(select(AdtEventRow.event_key)).scalars())
            reasons = list(conn.execute(select(QuarantineRow.reason)).scalars())
            quarantined = conn.execute(select(func.count()).select_from(QuarantineRow)).scalar()
        log = [e for e in audit.entries(twin.engine, action="ingest") if e.target == "http:events"]
        intact = audit.verify(twin.engine).intact
    finally:
        twin.close()
    assert Counter(keys).most_common(1)[0][1] == 1  # every event stored exactly once
    assert sorted(keys) == sorted({f"id:{e}" for e in outcomes if not e.startswith("b-")})
    assert quarantined == BAD
    assert Counter(r.split(":")[0] for r in reasons) == {"type": BAD // 2, "unit": BAD // 2}
    # the audit: every request counted once, with the totals of the answers
    requests = len(bodies) + 1
    assert sum(e.detail["requests"] for e in log) == requests
    assert sum(e.detail["accepted"] for e in log) == NEW + TWICE + 1
    assert sum(e.detail["duplicate"] for e in log) == TWICE + 1
    assert sum(e.detail["quarantined"] for e in log) == BAD
    assert intact
    assert len(log) < requests  # groups: some requests shared a commit (and its entry)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_key_stored_by_another_writer_during_a_group_is_a_duplicate(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another ingest stores an event after the group read the known keys and before its
    transaction: that request is answered 'duplicate', the others 'accepted'."""
    db = None if backend == "sqlite" else request.getfixturevalue("pg_url")
    init_twin("ward", home=tmp_path, db_url=db).close()
    twin = open_twin("ward", home=tmp_path, db_url=db)
    other = twin.sink("mqtt://broker/ward", "mqtt")
    read_known = group_commit._known

    def known_then_race(engine: Any, keys: Any) -> set[str]:
        found = read_known(engine, keys)
        other.add(json.dumps(_event("r-2", "MRN0002")))
        other.commit()
        return found

    monkeypatch.setattr(group_commit, "_known", known_then_race)
    try:
        handle = TwinHandle(twin)
        group = [
            Request([json.dumps(_event(f"r-{i}", f"MRN000{i}")).encode()], "token:a", "http:events")
            for i in range(1, 4)
        ] + [Request([b'{"v": 1}'], "token:b", "http:events")]
        outcomes = commit_group(handle, group)
        assert [(o.accepted, o.duplicate, o.quarantined) for o in outcomes] == [
            (1, 0, 0), (0, 1, 0), (1, 0, 0), (0, 0, 1)
        ]  # fmt: skip
        entries = audit.entries(twin.engine, action="ingest")
        assert [(e.actor, e.detail["requests"], e.detail["accepted"]) for e in entries] == [
            ("token:a", 3, 2), ("token:b", 1, 0)
        ]  # fmt: skip
        empty = commit_group(handle, [Request([], "token:a", "http:events/batch")])
        assert (empty[0].accepted, empty[0].quarantined) == (0, 0)
        assert audit.entries(twin.engine, limit=1)[0].detail["requests"] == 1
    finally:
        other.close()
        twin.close()


def test_a_remembered_token_is_refused_on_the_first_request_after_its_revocation(
    tmp_path: Path,
) -> None:
    """Ingest checks remembered tokens without reading access.sqlite, until the file changes."""
    from fastapi.testclient import TestClient

    from twinsight.service import ServiceSettings, create_app

    init_twin("ward", home=tmp_path).close()
    access = AccessStore(tmp_path)
    try:
        token, info = access.create("device", ["ward"], name="feed")
        headers = {"Authorization": f"Bearer {token}"}
        app = create_app(ServiceSettings(home=tmp_path))
        with TestClient(app, headers=headers) as client:
            url = "/api/v1/twins/ward/events"
            for i in range(3):  # the second and third are answered from the remembered token
                assert client.post(url, json=_event(f"v-{i}", "MRN0001")).status_code == 200
            assert client.post("/api/v1/twins/other/events", json={}).status_code == 403
            access.revoke(info.id)
            refused = client.post(url, json=_event("v-9", "MRN0001"))
            assert refused.status_code == 401, refused.text
    finally:
        access.close()
