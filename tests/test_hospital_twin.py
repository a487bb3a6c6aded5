"""The hospital twin's commands end to end on an emulated history: forecast, backtest, drift,
and the same operations from Python (``twinsight.HospitalTwin``) as DataFrames."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

import twinsight
from twinsight.cli import app
from twinsight.connect import RecordSink
from twinsight.emulate import emulate_hospital, write_events
from twinsight.store import AdtEventRow, AlarmRow

KEY = "cd" * 32
runner = CliRunner()


@dataclass
class Home:
    home: Path
    name: str = "general"

    def run(self, *args: str) -> tuple[int, str]:
        result = runner.invoke(app, [*args, "--home", str(self.home)])
        return result.exit_code, result.output


@pytest.fixture(scope="module")
def twin_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    tmp = tmp_path_factory.mktemp("hospital")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWINSIGHT_PSEUDONYM_KEY", KEY)
        em = emulate_hospital(100, 11, beds=150)
        path = tmp / "events.csv"
        write_events(em.rows, path)
        with twinsight.HospitalTwin("general", home=tmp / "home", create=True) as twin:
            counts = twin.ingest(path)
            assert int(counts["accepted"].sum()) > 10_000
        yield Home(tmp / "home")


def test_forecast_json_is_ordered_bands_for_every_unit_and_reproducible(twin_home: Home) -> None:
    code, out = twin_home.run("forecast", "general", "--days", "3", "--reps", "100", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert {"ED", "MED1", "MED2", "SURG", "ORTHO", "ICU"} <= set(data["units"])
    for unit, entry in data["units"].items():
        assert len(entry["days"]) == 3, unit
        for d in entry["days"]:
            assert d["p5"] <= d["p25"] <= d["p50"] <= d["p75"] <= d["p95"], (unit, d)
    assert data["units"]["MED1"]["beds"] > 0
    indicators = {row["indicator"]: row for row in data["indicators"]}
    four_hours = indicators["ED 4-hour performance"]
    assert 0.0 <= four_hours["p5"] <= four_hours["mean"] <= four_hours["p95"] <= 1.0
    assert {"time to bed, mean", "boarding hours per day", "elective cancellations"} <= set(
        indicators
    )
    again = json.loads(
        twin_home.run("forecast", "general", "--days", "3", "--reps", "100", "--json")[1]
    )
    assert again == data
    assert (twin_home.home / "general" / "forecasts" / "latest.json").is_file()
    # the model the forecast ran is a valid flow spec anyone can simulate
    model = twin_home.home / "general" / "forecasts" / "model.yaml"
    result = runner.invoke(app, ["validate", str(model)])
    assert result.exit_code == 0 and "OK" in result.output, result.output


def test_forecast_text_and_bad_input(twin_home: Home) -> None:
    code, out = twin_home.run("forecast", "general", "--days", "1", "--reps", "50")
    assert code == 0, out
    assert "MED1" in out and "P(>85%)" in out and "90%" in out and "ED 4-hour" in out
    code, out = twin_home.run("forecast", "general", "--days", "20")
    assert code == 2 and "outside 1-14" in out and "Traceback" not in out
    code, out = twin_home.run("forecast", "nobody")
    assert code == 2 and "no twin 'nobody'" in out
    code, out = twin_home.run("forecast", "general", "--at", "2026-03-01T00:00")
    assert code == 2 and "UTC offset" in out


def test_backtest_json_has_the_twin_and_both_baselines(twin_home: Home) -> None:
    code, out = twin_home.run(
        "backtest", "general", "--days", "2", "--origins", "2", "--reps", "40",
        "--window-days", "42", "--json",
    )  # fmt: skip
    assert code == 0, out
    data = json.loads(out)
    assert data["origins"] == 2
    assert 0.0 <= data["coverage_90"] <= 1.0 and data["mae"] > 0
    assert data["baselines"]["last_value"]["mae"] > 0
    assert data["baselines"]["same_hour_last_week"]["mae"] > 0
    code, out = twin_home.run("backtest", "general", "--window-days", "400")
    assert code == 2 and "too short" in out


def test_drift_finds_an_arrival_surge_and_records_it_once(twin_home: Home) -> None:
    code, out = twin_home.run("calibrate", "general", "--json")
    assert code == 0, out
    with twinsight.HospitalTwin("general", home=twin_home.home) as twin:
        engine = twin.twin.engine
        with engine.connect() as conn:
            latest = conn.execute(select(func.max(AdtEventRow.time))).scalar_one()
        # a surge: 300 extra ED arrivals over the last day (the 150-bed hospital sees ~80 a day)
        with RecordSink(engine, twin.twin.pseudonymise, "surge", "test") as sink:
            for i in range(300):
                t = latest - timedelta(hours=24 * i / 300)
                sink.add({"v": 1, "event_id": f"surge-{i}", "type": "arrival", "unit": "ED",
                          "time": t.isoformat(), "patient_id": f"S{i}", "acuity": 4})  # fmt: skip
    code, out = twin_home.run("drift", "general", "--json")
    assert code == 0, out
    alarms = json.loads(out)["alarms"]
    kinds = {a["kind"] for a in alarms}
    assert "arrivals" in kinds, alarms
    code, out = twin_home.run("drift", "general")
    assert code == 0 and "ALARM" in out and "more than the calibrated" in out
    with (
        twinsight.HospitalTwin("general", home=twin_home.home) as twin,
        twin.twin.engine.connect() as conn,
    ):
        rows = conn.execute(select(AlarmRow.kind).where(AlarmRow.kind == "arrivals")).all()
    assert len(rows) == 1  # found twice, recorded once


def test_python_api_returns_dataframes(twin_home: Home) -> None:
    with twinsight.HospitalTwin("general", home=twin_home.home) as twin:
        state = twin.state()
        assert {"unit", "census", "beds", "median_hours_in_unit"} == set(state.columns)
        assert "ED" in set(state["unit"])
        patients = twin.patients()
        assert len(patients) == int(state["census"].sum())
        frame = twin.forecast(days=1, reps=30)
        assert {"time", "unit", "beds", "mean", "p5", "p25", "p50", "p75", "p95"} <= set(
            frame.columns
        )
        assert len(frame) == 24 * len(set(frame["unit"]))
        assert "discharges per day" in set(twin.indicators()["indicator"])
        cal = twin.calibrate(window_days=42)
        assert "MED1" in cal.los
