"""Small-cell suppression of person counts, and retention (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from twinsight.assimilate import current_state
from twinsight.cli import app as cli
from twinsight.connect import RecordSink
from twinsight.govern import (
    CONFIDENTIAL,
    Pseudonymiser,
    audit,
    protect_census,
    suppress,
    suppress_counts,
    suppress_frame,
)
from twinsight.govern.retention import apply_retention
from twinsight.store import AdtEventRow, DailyAggregateRow
from twinsight.twin import init_twin


def test_counts_below_k_are_shown_as_less_than_k() -> None:
    assert [suppress(n) for n in range(7)] == [0, "<5", "<5", "<5", "<5", 5, 6]
    assert suppress(2, k=3) == "<3" and suppress(3, k=3) == 3
    assert suppress(1, k=1) == 1  # k = 1: off
    with pytest.raises(ValueError, match="at least 1"):
        suppress(3, k=0)
    with pytest.raises(ValueError, match="negative"):
        suppress(-1)


def test_dicts_and_frames() -> None:
    assert suppress_counts({"ED": 14, "ICU": 2, "MED": 0}) == {"ED": 14, "ICU": "<5", "MED": 0}
    frame = pd.DataFrame(
        {"unit": ["ED", "ICU", "X"], "census": [14, 2, math.nan], "beds": [2, 2, 2]}
    )
    out = suppress_frame(frame, ["census"])
    assert out["census"].tolist()[:2] == [14, "<5"] and math.isnan(out["census"].tolist()[2])
    assert out["beds"].tolist() == [2, 2, 2]  # not a person count
    assert frame["census"].tolist()[1] == 2  # the input is left alone


P = Pseudonymiser(b"k" * 32)
DAY = datetime(2026, 3, 1, tzinfo=UTC)


def _at(day: int, hour: int) -> str:
    return (DAY + timedelta(days=day - 1, hours=hour)).isoformat()


def _events() -> list[dict[str, object]]:
    def ev(
        i: str, kind: str, day: int, hour: int, unit: str, who: str, **x: object
    ) -> dict[str, object]:
        return {"v": 1, "event_id": i, "type": kind, "time": _at(day, hour), "unit": unit,
                "patient_id": who, **x}  # fmt: skip

    return [
        ev("a1", "arrival", 1, 8, "ED", "A", acuity=3),  # closed on day 3: deleted
        ev("a2", "admit", 1, 12, "MED1", "A", from_unit="ED", admission="emergency"),
        ev("a3", "discharge", 3, 10, "MED1", "A"),
        ev("b1", "arrival", 1, 9, "ED", "B", acuity=2),  # still present: kept whole
        ev("b2", "admit", 2, 1, "MED1", "B", from_unit="ED", admission="emergency"),
        ev("d1", "arrival", 2, 5, "ED", "D", acuity=4),  # ends after the cutoff: kept
        ev("d2", "discharge", 8, 5, "ED", "D"),
        ev("c1", "arrival", 6, 5, "ED", "C", acuity=4),  # recent
        ev("c2", "discharge", 6, 9, "ED", "C"),
    ]


def test_retention_keeps_open_stays_and_aggregates_what_it_deletes(store: Engine) -> None:
    with RecordSink(store, P, "test", "jsonl") as sink:
        for event in _events():
            sink.add(event)
        sink.add(b'{"v": 1, "type": "teleport"}')
    now = DAY + timedelta(days=9, hours=12)  # day 10; 5 days kept: cutoff day 5 midnight
    before = current_state(store, now)
    report = apply_retention(store, 5, now=now, actor="token:test")
    assert report.cutoff == DAY + timedelta(days=4)
    assert (report.events_deleted, report.quarantine_deleted) == (3, 0)  # quarantined today
    assert report.days_aggregated == 4
    with store.connect() as conn:
        kept = set(conn.execute(select(AdtEventRow.event_key)).scalars())
        order = (DailyAggregateRow.day, DailyAggregateRow.unit)
        rows = conn.execute(select(DailyAggregateRow).order_by(*order)).all()
    assert kept == {f"id:{i}" for i in ("b1", "b2", "d1", "d2", "c1", "c2")}
    after = current_state(store, now)
    assert after.census == before.census and after.patients == before.patients
    table = {(r.day.day, r.unit): (r.admissions, r.discharges, round(r.mean_census, 3))
             for r in rows}  # fmt: skip
    assert table[(1, "ED")][0] == 2 and table[(1, "MED1")][0] == 1
    assert table[(3, "MED1")][1] == 1
    # day 1 in MED1: A from 12:00 (12 h) -> mean 0.5; day 2: A all day, B from 01:00 -> 1.958
    assert table[(1, "MED1")][2] == 0.5 and table[(2, "MED1")][2] == round(1 + 23 / 24, 3)
    again = apply_retention(store, 5, now=now)
    assert (again.days_aggregated, again.events_deleted) == (0, 0)
    log = [e for e in audit.entries(store) if e.action == "retention"]
    assert [e.detail["events_deleted"] for e in log] == [3, 0] and log[0].actor == "token:test"
    assert "A" not in {str(v) for e in log for v in e.detail.values()}


def test_the_retention_command(tmp_path: Path) -> None:
    init_twin("ward", home=tmp_path).close()
    runner = CliRunner()
    done = runner.invoke(cli, ["retention", "ward", "--days", "30", "--home", str(tmp_path),
                               "--json"])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["events_deleted"] == 0
    bad = runner.invoke(cli, ["retention", "ward", "--days", "0", "--home", str(tmp_path)])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_a_state_with_its_total_hides_what_the_total_gives_away() -> None:
    shown = protect_census({"ED": 3, "MED1": 9, "ICU": 8}, 20, {"ED": 0}, 0)
    # 20 - 9 - 8 would be the ED's 3: the smaller other unit is hidden too
    assert shown["census"] == {"ED": "<5", "MED1": 9, "ICU": CONFIDENTIAL}
    assert (shown["patients"], shown["in_ed"], shown["dropped_stale"]) == (20, "<5", 0)
    exact = protect_census({"ED": 3, "MED1": 9}, 12, {}, 0, k=1)
    assert exact["census"] == {"ED": 3, "MED1": 9}


def test_the_state_command_suppresses_unless_exact_is_asked_and_audited(tmp_path: Path) -> None:
    twin = init_twin("ward", home=tmp_path)
    try:
        with RecordSink(twin.engine, P, "test", "jsonl") as sink:
            for event in _events():
                sink.add(event)
    finally:
        twin.close()
    runner = CliRunner()
    args = ["state", "ward", "--home", str(tmp_path), "--at", _at(2, 12), "--json"]
    shown = json.loads(runner.invoke(cli, args).stdout)
    assert shown["census"] == {"ED": "<5", "MED1": "<5"} and shown["exact"] is False
    assert shown["patients"] == "<5" and shown["in_ed"] == "<5"
    text = runner.invoke(cli, args[:-1])
    assert text.exit_code == 0 and "<5 patients in hospital" in text.stdout
    assert audit.entries(open_twin_engine(tmp_path)) == []  # nothing exact was shown
    exact = runner.invoke(cli, [*args, "--exact"])
    assert exact.exit_code == 0, exact.output
    assert json.loads(exact.stdout)["census"] == {"ED": 1, "MED1": 2}
    (entry,) = audit.entries(open_twin_engine(tmp_path))
    assert (entry.action, entry.target, entry.actor) == ("exact-counts", "state", audit.cli_actor())


def open_twin_engine(home: Path) -> Engine:
    from twinsight.twin import open_twin

    return open_twin("ward", home=home).engine
