"""The audit log's anchor (``govern._anchor``): deleting the newest entries straight in the
database is found by ``verify`` without a saved head, an anchor behind the database (a crash
between commit and anchor) is not an alarm, one ahead of it is; SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from twinsight.govern import ANCHOR_KEY_ENV, attach_anchor, audit
from twinsight.govern._anchor import Anchor, AnchorFile, anchor_of
from twinsight.store import open_store


def _anchored(engine: Engine, folder: Path) -> AnchorFile:
    return attach_anchor(engine, folder / "audit.anchor", folder / "secrets" / "audit.key")


def _fill(engine: Engine, n: int) -> list[audit.AuditEntry]:
    return [audit.append(engine, actor="token:abc", action="ingest", target=f"f{i}.csv")
            for i in range(n)]  # fmt: skip


def _truncate(engine: Engine, from_seq: int) -> None:
    """What someone with full database access can do: drop the triggers, delete the tail."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        conn.execute(text("DELETE FROM audit_log WHERE seq >= :s"), {"s": from_seq})


@pytest.mark.parametrize("k", [1, 3])
def test_deleting_the_newest_entries_is_found_and_named(
    store: Engine, tmp_path: Path, k: int
) -> None:
    anchor = _anchored(store, tmp_path)
    written = _fill(store, 6)
    assert anchor.read() == Anchor(6, written[-1].hash)
    report = audit.verify(store)
    assert report.intact and report.anchor_seq == 6
    _truncate(store, 7 - k)
    problem = audit.verify(store).problem
    assert problem is not None and (problem.kind, problem.seq) == ("removed", 7 - k)
    named = "entry 6 was removed" if k == 1 else "entries 4-6 were removed"
    assert named in problem.message and "the log ends at" in problem.message


def test_an_anchor_behind_the_database_is_not_an_alarm(store: Engine, tmp_path: Path) -> None:
    anchor = _anchored(store, tmp_path)
    written = _fill(store, 3)
    # a crash after the commit of entries 4-5 and before the anchor moved: the same database
    # appended to by an engine whose process then died (no anchor attached to it)
    other = open_store(tmp_path / "store.db") if store.dialect.name == "sqlite" else None
    if other is None:
        other = open_store(store.url.render_as_string(hide_password=False))
    try:
        _fill(other, 2)
    finally:
        other.dispose()
    assert anchor.read() == Anchor(3, written[-1].hash)
    report = audit.verify(store)
    assert report.intact and (report.entries, report.anchor_seq) == (5, 3)
    _fill(store, 1)  # the next append moves it on
    assert audit.verify(store).anchor_seq == 6
    _truncate(store, 2)
    problem = audit.verify(store).problem
    assert problem is not None and (problem.kind, problem.seq) == ("removed", 2)


def test_a_rolled_back_or_not_durable_entry_does_not_move_the_anchor(
    store: Engine, tmp_path: Path
) -> None:
    anchor = _anchored(store, tmp_path)
    _fill(store, 2)
    with pytest.raises(RuntimeError), store.begin() as conn:
        audit.append_on(conn, actor="cli:x", action="scenario", target="run:1")
        raise RuntimeError("the caller's transaction fails")
    assert anchor.read() is not None and anchor.read().seq == 2  # type: ignore[union-attr]
    audit.append(store, actor="token:abc", action="ingest", durable=False)
    assert anchor.read().seq == 2  # type: ignore[union-attr]
    entry = audit.append(store, actor="token:abc", action="ingest")
    assert entry.seq == 4 and anchor.read() == Anchor(4, entry.hash)  # it covers entry 3
    assert audit.verify(store).intact


def test_an_altered_anchor_is_reported(store: Engine, tmp_path: Path) -> None:
    anchor = _anchored(store, tmp_path)
    _fill(store, 4)
    body = json.loads(anchor.path.read_text())
    _truncate(store, 3)  # and move the anchor back to match, without the key
    head = audit.entries(store)[-1]
    anchor.path.write_text(json.dumps({**body, "seq": head.seq, "hash": head.hash}))
    problem = audit.verify(store).problem
    assert problem is not None and problem.kind == "anchor" and "altered" in problem.message


def test_the_key_can_come_from_the_environment(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ANCHOR_KEY_ENV, "an audit key kept elsewhere")
    anchor = _anchored(store, tmp_path)
    _fill(store, 2)
    assert not anchor.key_file.exists() and audit.verify(store).intact
    monkeypatch.setenv(ANCHOR_KEY_ENV, "another key")
    problem = audit.verify(store).problem
    assert problem is not None and problem.kind == "anchor"


def test_concurrent_writers_leave_the_anchor_at_the_head(store: Engine, tmp_path: Path) -> None:
    _anchored(store, tmp_path)
    second = open_store(store.url.render_as_string(hide_password=False) if
                        store.dialect.name == "postgresql" else tmp_path / "store.db")  # fmt: skip
    _anchored(second, tmp_path)  # a second process's engine, same anchor file
    errors: list[BaseException] = []

    def work(engine: Engine, worker: int) -> None:
        try:
            for i in range(8):
                audit.append(engine, actor=f"token:w{worker}", action="ingest", target=str(i))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(e, w))
               for w, e in enumerate((store, second, store, second))]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    second.dispose()
    assert errors == []
    report = audit.verify(store)
    assert report.intact and report.entries == 32 and report.anchor_seq == 32


def test_the_cli_names_the_removed_entries_and_reanchors(tmp_path: Path) -> None:
    from twinsight.cli import app as cli
    from twinsight.twin import init_twin

    twin = init_twin("ward", home=tmp_path)
    try:
        assert anchor_of(twin.engine) is not None
        _fill(twin.engine, 5)
        _truncate(twin.engine, 4)
    finally:
        twin.close()
    home = ["--home", str(tmp_path)]
    runner = CliRunner()
    broken = runner.invoke(cli, ["audit", "verify", "ward", *home])
    assert broken.exit_code == 1 and "entries 4-5 were removed" in broken.stdout
    as_json = json.loads(runner.invoke(cli, ["audit", "verify", "ward", *home, "--json"]).stdout)
    assert as_json["problem"]["kind"] == "removed" and as_json["problem"]["seq"] == 4
    fixed = runner.invoke(cli, ["audit", "verify", "ward", *home, "--reanchor"])
    assert fixed.exit_code == 0, fixed.output
    assert "intact: 4 entries" in fixed.stdout  # 3 kept and the anchor-reset entry
    last = json.loads(runner.invoke(cli, ["audit", "ward", *home, "--json"]).stdout)["entries"][-1]
    assert (last["action"], last["detail"]) == ("anchor-reset", {"from": 5, "to": 3})


def test_http_ingests_and_denials_move_the_anchors(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from twinsight.govern import AccessStore
    from twinsight.service import ServiceSettings, create_app
    from twinsight.twin import init_twin, open_twin

    init_twin("ward", home=tmp_path).close()
    access = AccessStore(tmp_path)
    try:
        token, _ = access.create("device", ["ward"])
        admin, _ = access.create("admin", [])
    finally:
        access.close()
    event = {"v": 1, "event_id": "e1", "type": "arrival", "time": "2026-03-02T08:00:00Z",
             "unit": "ED", "patient_id": "MRN0042", "acuity": 3}  # fmt: skip
    with TestClient(create_app(ServiceSettings(home=tmp_path))) as client:
        sent = client.post("/api/v1/twins/ward/events", json=event,
                           headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert sent.status_code < 300, sent.text
        assert client.get("/api/v1/twins").status_code == 401  # a denial: the home's log
        checked = client.get("/api/v1/twins/ward/audit/verify",
                             headers={"Authorization": f"Bearer {admin}"}).json()  # fmt: skip
        assert checked["intact"] and checked["anchor_seq"] == checked["head_seq"] >= 1
    twin = open_twin("ward", home=tmp_path)
    try:
        report = audit.verify(twin.engine)
        assert report.intact and report.entries >= 1 and report.anchor_seq == report.head_seq
    finally:
        twin.close()
    home = AccessStore(tmp_path)
    try:
        report = audit.verify(home.engine)
        assert report.intact and report.anchor_seq == report.head_seq >= 1
        assert (tmp_path / "access.anchor").is_file()
    finally:
        home.close()


def test_a_deleted_anchor_is_reported_once_its_key_exists(store: Engine, tmp_path: Path) -> None:
    anchor = _anchored(store, tmp_path)
    _fill(store, 3)
    anchor.path.unlink()
    problem = audit.verify(store).problem
    assert problem is not None and problem.kind == "anchor" and "deleted" in problem.message
    _fill(store, 1)  # appends do not quietly start a new anchor
    assert audit.verify(store).problem is not None
    report = audit.reanchor(store)  # an operator's explicit, audited decision
    assert report.intact and report.anchor_seq == report.head_seq == 5
