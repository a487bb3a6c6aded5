"""The social-services twin's library: case events with quarantine (SQLite and PostgreSQL),
case histories, the emulated department, calibration against the emulator's truth, the present
as a warm start, the forecast, and small-cell suppression of the equity table."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, select

from twinsight.calibrate import wilson
from twinsight.casework import (
    CaseworkCalibration,
    CaseworkModel,
    Team,
    case_history,
    case_state,
    emulate_casework,
    equity_table,
    forecast_casework,
    ingest_case_events,
    load_case_events,
    write_case_events,
)
from twinsight.casework._emulate import DepartmentParams
from twinsight.govern import Pseudonymiser
from twinsight.store import CaseEventRow, QuarantineRow

KEY = Pseudonymiser(b"k" * 32)
HEADER = "event_id,case_id,type,time,team,district,group,priority\n"


def _model(**kw: object) -> CaseworkModel:
    base: dict[str, object] = {
        "teams": {"a": Team(2, 3, ("n",)), "b": Team(1, 4, ("s",))},
        "referrals": {"n": [0.5] * 5 + [0, 0], "s": [0.3] * 7},
        "priority_mix": {"n": {"urgent": 0.3, "standard": 0.7}, "s": {"standard": 1.0}},
        "priorities": ("urgent", "standard"),
        "assessment": {
            "urgent": {"dist": "exponential", "mean": 4.0},
            "standard": {"dist": "exponential", "mean": 6.0},
        },
        "rework": {"urgent": 0.1, "standard": 0.3},
        "deadline_days": 20.0,
    }
    base.update(kw)
    return CaseworkModel(**base)  # type: ignore[arg-type]


def test_the_spec_holds_one_slot_per_case_and_ranks_open_cases_first() -> None:
    spec = _model().spec(100.0, warmup=10.0)
    assert spec.resources["team_a"].capacity == 6 and spec.resources["team_b"].capacity == 4
    assert spec.classes["n_urgent_open"].priority == 0 < spec.classes["n_urgent"].priority
    assert spec.classes["n_urgent"].priority < spec.classes["n_standard"].priority
    for step in ("assess", "info", "decide", "close"):
        assert dict(spec.stations[f"{step}_a"].resources) == {"team_a": 1}
    assert spec.kpis.journeys["dl:n:urgent"].target == 20.0
    with pytest.raises(ValueError, match="exactly one team"):
        _model(teams={"a": Team(2, 3, ("n",))})
    with pytest.raises(ValueError, match="rework"):
        _model(rework={"urgent": 1.0})


def _write(tmp_path: Path, rows: str, name: str = "ev.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


ROWS = (
    "1,C1,referral,2026-03-02T09:00:00Z,,north,children,\n"
    "2,C1,triage,2026-03-02T15:00:00Z,,north,children,urgent\n"
    "3,C1,assessment_start,2026-03-03T10:00:00+01:00,alpha,north,children,urgent\n"
    "4,C2,referral,2026-03-02T10:00:00Z,,,adults,\n"  # no district
    "5,C3,sideways,2026-03-02T10:00:00Z,,north,adults,\n"  # unknown type
    "6,C4,referral,2026-03-02 10:00,,north,adults,\n"  # no offset
    "7,C5,triage,2026-03-02T10:00:00Z,,north,adults,\n"  # no priority
    "1,C1,referral,2026-03-02T09:00:00Z,,north,children,\n"  # duplicate in the file
)


def test_ingest_quarantines_with_reasons_and_replays_add_nothing(
    store: Engine, tmp_path: Path
) -> None:
    path = _write(tmp_path, ROWS)
    report = ingest_case_events(path, store, KEY)
    assert (report.accepted, report.duplicate, report.quarantined) == (3, 1, 4)
    text = " | ".join(report.reasons)
    assert "referral event needs its district" in text and "'sideways'" in text
    assert "with an offset" in text and "triage event needs its priority" in text
    again = ingest_case_events(path, store, KEY)
    assert (again.accepted, again.duplicate, again.quarantined) == (0, 4, 4)
    with store.connect() as conn:
        keys = conn.execute(select(CaseEventRow.case_key)).scalars().all()
        raws = conn.execute(select(QuarantineRow.raw)).scalars().all()
    assert "C1" not in keys and KEY("C1") in keys  # only the keyed hash is stored
    assert not any(",C2," in r or ",C3," in r for r in raws)
    frame = load_case_events(store)
    start = frame[frame["type"] == "assessment_start"]["time"].iloc[0]
    assert start == pd.Timestamp("2026-03-03T09:00:00Z")  # offsets become UTC


def test_parquet_gives_the_same_rows_as_csv(tmp_path: Path) -> None:
    from twinsight.store import open_store

    rows = emulate_casework(20, 5).rows
    csv_path, pq_path = tmp_path / "a.csv", tmp_path / "a.parquet"
    write_case_events(rows, csv_path)
    write_case_events(rows, pq_path)
    one, two = open_store(tmp_path / "one.db"), open_store(tmp_path / "two.db")
    a, b = ingest_case_events(csv_path, one, KEY), ingest_case_events(pq_path, two, KEY)
    assert (a.accepted, a.duplicate, a.quarantined) == (b.accepted, b.duplicate, b.quarantined)
    assert a.format == "cases-csv" and b.format == "cases-parquet"
    pd.testing.assert_frame_equal(load_case_events(one), load_case_events(two))


def test_emulator_is_reproducible_and_its_cases_are_consistent() -> None:
    first, again = emulate_casework(60, 11), emulate_casework(60, 11)
    assert first.rows == again.rows and first.events == again.events
    assert emulate_casework(60, 12).events != first.events
    frame = pd.DataFrame(first.events)
    order = {"referral": 0, "triage": 1, "assessment_start": 2, "decision": 5, "closed": 6}
    for _, g in frame.groupby("case_id"):
        ranks = [order[t] for t in g["type"] if t in order]
        assert ranks == sorted(ranks)  # milestones in order within every case
    clean = emulate_casework(30, 1, defects=None).defects
    assert sum(clean.values()) > 0  # defects by default


@pytest.fixture(scope="module")
def year() -> pd.DataFrame:
    """The true events of 240 days of the emulated department, as the store returns them."""
    events = pd.DataFrame(emulate_casework(240, 3).events)
    events = events.rename(columns={"group": "client_group", "case_id": "case_key"})
    events["time"] = pd.to_datetime(events["time"], utc=True)
    return events.replace({"": None})


def test_calibration_recovers_the_emulators_rework_by_district(year: pd.DataFrame) -> None:
    cal = CaseworkCalibration(window_days=200, workers={"alpha": 7, "beta": 6}).fit(year)
    truth = DepartmentParams()
    assert cal.priorities_ == ("urgent", "standard")
    assert {t: x.districts for t, x in cal.teams_.items()} == {
        t: tuple(sorted(ds, key=list(cal.referrals_).index)) for t, (_, ds) in truth.teams.items()
    }
    hist = case_history(year, cal.until_)
    passes = hist.spells[(hist.spells["kind"] == "assessment") & ~hist.spells["censored"]]
    for d, g in passes.groupby("district"):
        lo, hi = wilson(int(g["rework"].sum()), len(g), 0.99)
        assert lo <= truth.rework[str(d)] <= hi, d  # a pass asks for information w.p. p_d
    west, east = cal.rework_by_class_["west_standard"][0], cal.rework_by_class_["east_standard"][0]
    assert west > east  # the complex district asks for more information
    back = CaseworkCalibration.from_dict(cal.to_dict())
    assert back.model() == cal.model() and back.model(recent=True) == cal.model(recent=True)
    assert all(0.3 < f < 3.0 for f in cal.recent_factor_.values())
    recent = cal.model(recent=True).referrals["west"][0] / cal.model().referrals["west"][0]
    level, se = cal.recent_level("west")
    assert recent == pytest.approx(level) and se > 0
    raw = cal.recent_factor_["west"]
    assert min(1.0, raw) - 1e-12 <= level <= max(1.0, raw) + 1e-12  # shrunk towards the window
    # absences: the emulated workers take leave and are sick, so a full team staffs fewer slots
    assert all(0.5 < a <= 1.0 for a in cal.availability_.values())
    assert back.availability_ == cal.availability_
    assert "requests for information" in cal.report()


def test_the_present_places_each_open_case_and_the_forecast_has_bands(
    year: pd.DataFrame,
) -> None:
    cal = CaseworkCalibration(window_days=200, workers={"alpha": 7, "beta": 6}).fit(year)
    model = cal.model()
    at = cal.until_
    state = case_state(case_history(year, at), model, at)
    cases = state.cases
    assert len(cases) > 20 and (cases["elapsed"] >= 0).all()
    assert (cases["in_system"] >= cases["elapsed"] - 1e-9).all()
    waiting = cases[cases["state"] == "triage"]
    assert (waiting["status"] == "waiting").all() and waiting["station"].str.startswith(
        "assess_"
    ).all()
    info = cases[cases["state"] == "info_requested"]
    assert info["cls"].str.endswith("_open").all() and info["station"].str.startswith("info_").all()
    fc = forecast_casework(model, state, 14, reps=20, seed=3)
    daily = fc.daily[fc.daily["measure"] == "backlog"]
    assert len(daily) == 14
    q = daily[["p5", "p25", "p50", "p75", "p95"]].to_numpy()
    assert np.all(np.diff(q, axis=1) >= 0)
    assert abs(daily["p50"].iloc[0] - len(cases)) <= 0.1 * len(cases) + 5  # starts from the present
    again = forecast_casework(model, state, 14, reps=20, seed=3)
    pd.testing.assert_frame_equal(fc.daily, again.daily)


def test_equity_table_suppresses_small_cells() -> None:
    model = _model()
    kpis = {
        "decisions": np.array([30.0, 32.0]),
        "time_to_decision": np.array([10.0, 12.0]),
        "within_deadline": np.array([0.9, 0.8]),
        "decisions[district=s]": np.array([3.0, 4.0]),
        "time_to_decision[district=s]": np.array([5.0, 7.0]),
        "within_deadline[district=s]": np.array([1.0, 1.0]),
    }
    table = equity_table(model, kpis).set_index("group")
    assert table.loc["all", "decisions"] == 31
    assert table.loc["all", "within_deadline"] == pytest.approx(0.85)
    assert table.loc["district=s", "decisions"] == "<5"
    hidden = table["within_deadline"].to_dict()["district=s"]  # rates of a small cell hidden
    assert hidden != hidden
    assert equity_table(model, kpis, k=1).set_index("group").loc["district=s", "decisions"] == 4


def test_a_case_history_leaves_out_spells_with_a_missing_event() -> None:
    t = pd.Timestamp("2026-03-02T09:00:00Z")
    day = pd.Timedelta(days=1)
    events = pd.DataFrame(
        {
            "case_key": ["x"] * 4,
            "type": ["referral", "triage", "assessment_start", "closed"],  # no decision
            "time": [t, t + day, t + 2 * day, t + 20 * day],
            "team": [None, None, "a", "a"],
            "district": ["n"] * 4,
            "client_group": ["g"] * 4,
            "priority": [None, "urgent", "urgent", "urgent"],
        }
    )
    hist = case_history(events, datetime(2026, 4, 1, tzinfo=UTC))
    assert set(hist.spells["kind"]) == {"triage"}  # the assessment's end is unknown
    assert hist.cases["state"].tolist() == ["closed"]


def test_the_python_facade_returns_frames(tmp_path: Path) -> None:
    from twinsight.casework import CaseworkTwin
    from twinsight.twin import TwinError

    events = tmp_path / "cases.parquet"
    write_case_events(emulate_casework(120, 8).rows, events)
    with CaseworkTwin("dept", home=tmp_path, create=True) as twin:
        (report,) = twin.ingest(events)
        assert report.accepted > 1000
        cal = twin.calibrate()
        assert set(cal.teams_) == {"alpha", "beta"}
        state = twin.state()
        assert {"district", "priority", "station", "elapsed", "past_deadline"} <= set(state)
        table = twin.equity(reps=2, days=30)
        assert table["group"].iloc[0] == "all"
        assert twin.spec(tmp_path / "dept.yaml").is_file()
    with pytest.raises(TwinError, match="not social-services"):
        from twinsight.twin import init_twin

        init_twin("wards", "hospital", home=tmp_path).close()
        CaseworkTwin("wards", home=tmp_path)


def test_teams_may_serve_client_groups_instead_of_districts(year: pd.DataFrame) -> None:
    from twinsight.experiment import run_experiment

    cal = CaseworkCalibration(window_days=200, segment="group").fit(year)
    model = cal.model()
    assert set(model.districts) == {"children", "adults", "older"} and model.segment == "group"
    assert "group=children" in cal.observed_ and "district=west" in cal.observed_
    kpis = model.kpis(run_experiment(model.spec(60.0, warmup=10.0), reps=2, seed=1).per_rep)
    assert "within_deadline[group=older]" in kpis
    assert CaseworkCalibration.from_dict(cal.to_dict()).model() == model
