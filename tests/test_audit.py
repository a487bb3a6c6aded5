"""The audit log: appends chain by hash, concurrent appends serialise, verify names the entry
that was edited, removed or reordered (SQLite and PostgreSQL, through the ``store`` fixture)."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from twinsight.govern import audit


def _fill(engine: Engine, n: int) -> list[audit.AuditEntry]:
    return [
        audit.append(engine, actor="token:abc", action="ingest", target=f"f{i}.csv",
                     detail={"accepted": i, "duplicate": 0})
        for i in range(n)
    ]  # fmt: skip


def _unguard(engine: Engine) -> None:
    """What someone with full database access could do: drop the append-only triggers."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))


def test_entries_chain_and_verify_intact(store: Engine) -> None:
    written = _fill(store, 4)
    assert [e.seq for e in written] == [1, 2, 3, 4]
    assert written[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(written))
    report = audit.verify(store)
    assert report.intact and report.entries == 4
    assert (report.head_seq, report.head_hash) == (4, written[-1].hash)
    listed = audit.entries(store)
    assert [e.to_json() for e in listed] == [e.to_json() for e in written]
    assert [e.seq for e in audit.entries(store, limit=2)] == [3, 4]


def test_the_table_refuses_updates_and_deletes(store: Engine) -> None:
    _fill(store, 2)
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), store.begin() as conn:
            conn.execute(text(statement))
    assert audit.verify(store).intact


def test_an_edited_entry_is_named(store: Engine) -> None:
    _fill(store, 5)
    _unguard(store)
    with store.begin() as conn:
        conn.execute(text("UPDATE audit_log SET detail = '{\"accepted\": 99}' WHERE seq = 3"))
    problem = audit.verify(store).problem
    assert problem is not None and (problem.kind, problem.seq) == ("edited", 3)


def test_an_edited_and_rehashed_entry_is_named(store: Engine) -> None:
    _fill(store, 5)
    _unguard(store)
    row = audit.entries(store)[2]
    forged = '{"accepted":99}'
    digest = audit.entry_hash(row.prev_hash, 3, row.at, row.actor, row.action, row.target, forged)
    with store.begin() as conn:
        conn.execute(
            text("UPDATE audit_log SET detail = :d, hash = :h WHERE seq = 3"),
            {"d": forged, "h": digest},
        )
    problem = audit.verify(store).problem
    assert problem is not None and (problem.kind, problem.seq) == ("edited", 3)


def test_a_removed_entry_is_named(store: Engine) -> None:
    _fill(store, 5)
    _unguard(store)
    with store.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    problem = audit.verify(store).problem
    assert problem is not None and (problem.kind, problem.seq) == ("removed", 2)
    assert "entry 2 was removed" in problem.message


def test_reordered_entries_are_named(store: Engine) -> None:
    _fill(store, 5)
    _unguard(store)
    columns = ("at", "actor", "action", "target", "detail", "prev_hash", "hash")
    rows = {e.seq: e for e in audit.entries(store)}
    with store.begin() as conn:
        for seq, other in ((2, 3), (3, 2)):
            source = rows[other]
            values = {c: getattr(source, c) for c in columns}
            values["detail"] = audit._canonical(source.detail)
            sets = ", ".join(f"{c} = :{c}" for c in columns)
            conn.execute(text(f"UPDATE audit_log SET {sets} WHERE seq = :seq"),
                         {**values, "seq": seq, "at": source.at.replace(tzinfo=None)
                          if store.dialect.name == "sqlite" else source.at})  # fmt: skip
    problem = audit.verify(store).problem
    assert problem is not None and (problem.kind, problem.seq) == ("reordered", 2)


def test_removing_the_newest_entries_needs_the_recorded_head(store: Engine) -> None:
    _fill(store, 4)
    head = audit.verify(store)
    _unguard(store)
    with store.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq >= 3"))
    assert audit.verify(store).intact  # a shorter chain is still a chain
    problem = audit.verify(store, head=(head.head_seq, head.head_hash)).problem
    assert problem is not None and (problem.kind, problem.seq) == ("removed", 3)


def test_concurrent_appends_never_fork_the_chain(store: Engine) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(10):
                audit.append(store, actor=f"token:w{worker}", action="ingest", target=str(i))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = audit.verify(store)
    assert report.intact and report.entries == 40 and report.head_seq == 40


def test_a_file_ingest_is_audited_with_its_counts_and_no_identifiers(tmp_path: Path) -> None:
    from twinsight.twin import init_twin

    events = tmp_path / "events.jsonl"
    lines = [
        '{"v": 1, "event_id": "a1", "type": "arrival", "time": "2026-03-02T08:00:00Z", '
        '"unit": "ED", "patient_id": "MRN0042", "acuity": 3}',
        '{"v": 1, "type": "teleport", "patient_id": "MRN0043"}',
    ]
    events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    twin = init_twin("ward", home=tmp_path)
    try:
        twin.ingest([events])
        (entry,) = audit.entries(twin.engine)
    finally:
        twin.close()
    assert (entry.action, entry.target) == ("ingest", "jsonl:events.jsonl")
    assert entry.actor.startswith("cli:")
    assert (entry.detail["accepted"], entry.detail["quarantined"]) == (1, 1)
    assert "MRN004" not in json.dumps(entry.to_json())


def test_appends_without_waiting_for_the_disk_chain_the_same(store: Engine) -> None:
    for durable in (False, True, False):
        audit.append(store, actor="token:abc", action="ingest", durable=durable)
    assert audit.verify(store).intact and audit.verify(store).entries == 3
    if store.dialect.name == "sqlite":  # the connection goes back to the pool fully synced
        with store.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2


def test_a_calibration_through_the_cli_is_audited(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from twinsight.cli import app as cli
    from twinsight.emulate import emulate_hospital, write_events
    from twinsight.twin import init_twin

    path = tmp_path / "events.csv"
    write_events(emulate_hospital(30, 11, beds=60).rows, path)
    init_twin("ward", home=tmp_path).close()
    home = ["--home", str(tmp_path)]
    assert CliRunner().invoke(cli, ["ingest", "ward", str(path), *home]).exit_code == 0
    done = CliRunner().invoke(cli, ["calibrate", "ward", "--window-days", "21", *home])
    assert done.exit_code == 0, done.output
    listed = CliRunner().invoke(cli, ["audit", "ward", *home, "--json"])
    entries = json.loads(listed.stdout)["entries"]
    assert [(e["action"], e["target"]) for e in entries] == [
        ("ingest", "csv:events.csv"), ("calibrate", "calibration.json")
    ]  # fmt: skip
    assert entries[1]["detail"]["window_days"] == 21
    verified = CliRunner().invoke(cli, ["audit", "verify", "ward", *home])
    assert verified.exit_code == 0 and "intact: 2 entries" in verified.stdout
