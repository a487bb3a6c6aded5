"""Current state of the hospital from the stored events, against the emulator's ground truth."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from twinsight.assimilate import ED, HospitalState, StateError, current_state
from twinsight.cli import app
from twinsight.emulate import UNITS, Defects, Emulation, emulate_hospital, write_events
from twinsight.spec import FlowSpec
from twinsight.store import open_store
from twinsight.twin import Twin, init_twin

KEY = "ab" * 32
#: Hours into the window (start + k hours) at which the census is checked.
HOURS = (0, 1, 7, 100, 333, 500, 777, 900, 959)


@dataclass
class Loaded:
    emulation: Emulation
    twin: Twin
    home: Path


def _load(tmp: Path, monkeypatch: pytest.MonkeyPatch, defects: Defects, seed: int = 7) -> Loaded:
    monkeypatch.setenv("TWINSIGHT_PSEUDONYM_KEY", KEY)
    em = emulate_hospital(40, seed, beds=150, defects=defects)
    path = tmp / "events.csv"
    write_events(em.rows, path)
    home = tmp / "home"
    twin = init_twin("general", home=home)
    twin.ingest([path])
    return Loaded(em, twin, home)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    with pytest.MonkeyPatch.context() as mp:
        loaded = _load(tmp_path_factory.mktemp("clean"), mp, Defects.none())
    yield loaded  # type: ignore[misc]
    loaded.twin.close()


@pytest.fixture(scope="module")
def defective(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    with pytest.MonkeyPatch.context() as mp:
        loaded = _load(tmp_path_factory.mktemp("defects"), mp, Defects())
    yield loaded  # type: ignore[misc]
    loaded.twin.close()


def _census(state: HospitalState) -> list[int]:
    return [state.census.get(u, 0) for u in UNITS]


def test_census_equals_ground_truth_on_a_clean_feed(clean: Loaded) -> None:
    truth = clean.emulation.truth
    for k in HOURS:
        state = current_state(clean.twin.engine, truth.start + timedelta(hours=k))
        assert _census(state) == truth.census[k].tolist(), f"hour {k}"
        assert state.dropped_stale == 0
        assert len(state.patients) == int(truth.census[k].sum())
        # everyone boarding at T is in the ED at T and admitted from it later
        assert state.awaiting_admission >= int(truth.boarding[k])
        assert state.awaiting_admission <= state.in_ed


def test_elapsed_stays_are_consistent(clean: Loaded) -> None:
    at = clean.emulation.truth.start + timedelta(hours=500)
    state = current_state(clean.twin.engine, at)
    assert state.at == at
    for p in state.patients:
        assert 0 <= p.in_unit_hours <= p.in_hospital_hours
        assert p.unit_since <= at and p.hospital_since <= p.unit_since
        assert p.in_unit_hours == pytest.approx((at - p.unit_since).total_seconds() / 3600)
        assert len(p.patient_key) == 64 and not p.patient_key.startswith("MRN")
        if p.unit == ED:
            assert p.acuity is not None and p.admitted_later is not None
        else:
            assert p.specialty is not None and p.admitted_later is None


def test_events_at_exactly_t_count(clean: Loaded) -> None:
    """An arrival at exactly T is present at T; a discharge at exactly T has left."""
    rows = clean.emulation.truth.events
    arrival = next(r for r in rows[len(rows) // 2 :] if r["type"] == "arrival")
    t = datetime.fromisoformat(arrival["time"])
    before = current_state(clean.twin.engine, t - timedelta(seconds=1))
    at = current_state(clean.twin.engine, t)
    assert at.events > before.events
    discharge = next(r for r in rows[len(rows) // 2 :] if r["type"] == "discharge")
    t = datetime.fromisoformat(discharge["time"])
    gone = current_state(clean.twin.engine, t)
    there = current_state(clean.twin.engine, t - timedelta(seconds=1))
    unit = discharge["unit"]
    assert gone.census.get(unit, 0) <= there.census.get(unit, 0)


def test_default_instant_is_the_latest_event(clean: Loaded) -> None:
    state = current_state(clean.twin.engine)
    latest = max(datetime.fromisoformat(r["time"]) for r in clean.emulation.rows)
    assert state.at == latest
    assert state.events == len(clean.emulation.rows)


def test_late_events_are_replayed_by_event_time(defective: Loaded) -> None:
    """Late rows sit later in the file but count at their own time: the replay is by time."""
    assert defective.emulation.defects.late
    truth = defective.emulation.truth
    errors = []
    for k in HOURS:
        state = current_state(defective.twin.engine, truth.start + timedelta(hours=k))
        errors.append(np.abs(np.array(_census(state)) - truth.census[k]))
    err = np.array(errors)
    # ~0.7% of true events are lost (missing 0.5% + malformed 0.2%): a lost discharge leaves a
    # ghost until the stale horizon, a lost admit keeps a boarder in the ED until discharge.
    assert err.mean(axis=0).max() <= 5.0, err
    assert err.max() <= 12, err


def test_recent_only_gives_the_same_present_from_fewer_events(defective: Loaded) -> None:
    # with short stale horizons most of the history is older than them: only patients with a
    # recent event can be present, so replaying just those gives the same state
    short = {"stale_after_hours": 24 * 10.0, "ed_stale_after_hours": 48.0, "ed_window_hours": 72.0}
    for k, options in [(400, short), (777, short), (959, short), (600, {}), (959, {})]:
        at = defective.emulation.truth.start + timedelta(hours=k)
        full = current_state(defective.twin.engine, at, **options)
        recent = current_state(defective.twin.engine, at, recent_only=True, **options)
        assert recent.census == full.census
        assert recent.patients == full.patients
        assert recent.ed_stale_after_hours == full.ed_stale_after_hours
        assert recent.events < full.events


def test_stale_ghosts_are_dropped(defective: Loaded) -> None:
    at = defective.emulation.truth.start + timedelta(hours=959)
    loose = current_state(defective.twin.engine, at)
    strict = current_state(
        defective.twin.engine, at, stale_after_hours=24 * 20, ed_stale_after_hours=24.0
    )
    assert strict.dropped_stale > loose.dropped_stale
    assert len(strict.patients) + strict.dropped_stale == len(loose.patients) + (
        loose.dropped_stale
    )
    assert sum(strict.dropped_by_unit.values()) == strict.dropped_stale


def test_a_missing_arrival_starts_the_stay_at_the_admit(tmp_path: Path) -> None:
    engine = open_store(tmp_path / "t.db")
    from twinsight.connect import ingest_file

    path = tmp_path / "ev.jsonl"
    lines = [
        {"type": "admit", "time": "2026-03-02T10:00:00Z", "unit": "MED1", "from_unit": "ED",
         "patient_id": "P1", "specialty": "medicine"},
        {"type": "transfer", "time": "2026-03-03T10:00:00Z", "unit": "ICU", "from_unit": "MED1",
         "patient_id": "P1"},
        {"type": "arrival", "time": "2026-03-01T10:00:00Z", "unit": "ED", "patient_id": "P2",
         "acuity": 2},
        {"type": "discharge", "time": "2026-03-02T10:00:00Z", "unit": "ED", "patient_id": "P2"},
        {"type": "arrival", "time": "2026-01-01T10:00:00Z", "unit": "ED", "patient_id": "P3"},
    ]  # fmt: skip
    path.write_text("".join(json.dumps({"v": 1, **x}) + "\n" for x in lines), encoding="utf-8")
    ingest_file(path, engine, lambda raw: f"{raw:0>64}")
    state = current_state(engine)
    assert state.at == datetime(2026, 3, 3, 10, tzinfo=UTC)
    assert state.census == {"ICU": 1}
    (p1,) = state.patients
    assert p1.unit == "ICU" and p1.in_unit_hours == 0.0 and p1.in_hospital_hours == 24.0
    assert p1.specialty == "medicine"
    assert state.dropped_stale == 1 and state.dropped_by_unit == {"ED": 1}
    earlier = current_state(engine, datetime(2026, 3, 2, 9, tzinfo=UTC))
    assert earlier.census == {"ED": 1} and earlier.dropped_stale == 1  # P2 in, P3 stale
    assert current_state(engine, datetime(2026, 1, 2, tzinfo=UTC)).census == {"ED": 1}
    with pytest.raises(StateError, match="UTC offset"):
        current_state(engine, datetime(2026, 3, 2))
    engine.dispose()


def test_an_empty_store_is_an_error(tmp_path: Path) -> None:
    engine = open_store(tmp_path / "empty.db")
    with pytest.raises(StateError, match="no events"):
        current_state(engine)
    engine.dispose()


def test_initial_state_validates_in_a_flow_spec(clean: Loaded) -> None:
    state = current_state(clean.twin.engine, clean.emulation.truth.start + timedelta(hours=333))
    groups = state.to_initial_state("hours")
    assert len(groups) == len(state.patients)
    spec = FlowSpec.model_validate(
        {
            "name": "warm",
            "time_unit": "hours",
            "horizon": 168,
            "resources": {f"{u}_beds": {"capacity": 200} for u in UNITS},
            "stations": {
                u: {"resources": {f"{u}_beds": 1}, "service": {"dist": "exponential", "mean": 48}}
                for u in UNITS
            },
            "initial_state": groups,
        }
    )
    assert len(spec.initial_state) == len(groups)
    for g, p in zip(spec.initial_state, state.patients, strict=True):
        assert g.station == p.unit and g.elapsed == pytest.approx(p.in_unit_hours)
        assert g.in_system is not None and g.in_system >= g.elapsed
    in_days = state.to_initial_state("days")
    assert in_days[0]["elapsed"] == pytest.approx(groups[0]["elapsed"] / 24)


def test_cli_json_and_text(clean: Loaded, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINSIGHT_PSEUDONYM_KEY", KEY)
    truth = clean.emulation.truth
    at = (truth.start + timedelta(hours=100)).isoformat()
    runner = CliRunner()
    result = runner.invoke(
        app, ["state", "general", "--home", str(clean.home), "--at", at, "--json", "--exact"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["census"] == {u: int(n) for u, n in zip(UNITS, truth.census[100], strict=True) if n}
    assert out["patients"] == int(truth.census[100].sum())
    assert out["dropped_stale"] == 0
    assert out["at"] == "2026-01-09T04:00:00Z"
    text = runner.invoke(app, ["state", "general", "--home", str(clean.home), "--at", at])
    assert text.exit_code == 0, text.output
    assert "MED1" in text.stdout and "in the ED" in text.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuch"], "no twin 'nosuch'"),
        (["general", "--at", "yesterday"], "--at"),
        (["general", "--at", "2026-01-09T04:00:00"], "UTC offset"),
    ],
)
def test_cli_errors_exit_2(
    clean: Loaded, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.setenv("TWINSIGHT_PSEUDONYM_KEY", KEY)
    result = CliRunner().invoke(app, ["state", *args, "--home", str(clean.home)])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_postgresql(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINSIGHT_PSEUDONYM_KEY", KEY)
    em = emulate_hospital(10, 3, beds=60, defects=Defects.none())
    path = tmp_path / "events.jsonl"
    write_events(em.rows, path)
    twin = init_twin("pg", home=tmp_path / "home", db_url=pg_url)
    try:
        twin.ingest([path])
        for k in (0, 50, 200):
            state = current_state(twin.engine, em.truth.start + timedelta(hours=k), batch=100)
            assert _census(state) == em.truth.census[k].tolist()
    finally:
        twin.close()


def test_the_ed_stale_limit_follows_recent_ed_stays(tmp_path: Path) -> None:
    """ED limit = 2 x the longest ED stay ended in the past 7 days, at least 24 h, at most 14 d."""
    from twinsight.connect import ingest_file

    engine = open_store(tmp_path / "t.db")
    lines = [
        {"type": "arrival", "time": "2026-03-10T00:00:00Z", "unit": "ED", "patient_id": "A"},
        {"type": "discharge", "time": "2026-03-10T03:00:00Z", "unit": "ED", "patient_id": "A"},
        {"type": "arrival", "time": "2026-03-08T00:00:00Z", "unit": "ED", "patient_id": "B"},
        {"type": "admit", "time": "2026-03-09T12:00:00Z", "unit": "MED1", "from_unit": "ED",
         "patient_id": "B"},  # a 36-hour ED stay: limit 72 h
        {"type": "arrival", "time": "2026-03-09T00:00:00Z", "unit": "ED", "patient_id": "C"},
        {"type": "arrival", "time": "2026-03-10T06:00:00Z", "unit": "ED", "patient_id": "D"},
    ]  # fmt: skip
    path = tmp_path / "ev.jsonl"
    path.write_text("".join(json.dumps({"v": 1, **x}) + "\n" for x in lines), encoding="utf-8")
    ingest_file(path, engine, lambda raw: f"{raw:0>64}")
    at = datetime(2026, 3, 12, 0, 30, tzinfo=UTC)  # C 72.5 h in the ED, D 42.5 h
    state = current_state(engine, at)
    assert state.ed_stale_after_hours == 72.0
    assert state.census == {"ED": 1, "MED1": 1} and state.dropped_by_unit == {"ED": 1}
    assert current_state(engine, at, ed_stale_factor=3.0).census == {"ED": 2, "MED1": 1}
    engine.dispose()
