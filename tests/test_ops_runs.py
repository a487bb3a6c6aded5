"""Social-services forecasts and comparisons, and contact-centre forecasts, as reproducible run
records (issue 4): recorded with their content hash (model + calibration), the calibration as
parameters, the data watermark (latest ingest and ``received_at``), the seed and the version;
``twinsight rerun`` reproduces every number; a changed calibration in a record is reported as a
difference; an idempotent GET reuses an identical stored run; ``twinsight runs NAME`` lists
them."""

from __future__ import annotations

import json
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from _twins import casework_twin, contact_twin
from twinsight.casework import ingest, load_casework_calibration
from twinsight.casework import run_forecast as casework_forecast
from twinsight.casework._runs import casework_watermark, model_hash
from twinsight.cli import app
from twinsight.contact import run_forecast as contact_forecast
from twinsight.contact._runs import contact_watermark
from twinsight.decide import list_runs, load_run, rerun
from twinsight.store import RunRow
from twinsight.twin import Twin, open_twin

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _cli(home: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--home", str(home)])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A calibrated social-services twin 'ss' and contact-centre twin 'cc'."""
    home = tmp_path_factory.mktemp("ops-runs")
    casework_twin(home, "ss")
    contact_twin(home, "cc")
    return home


def _set_parameters(twin: Twin, run_id: str, parameters: dict[str, Any]) -> None:
    with twin.engine.begin() as conn:
        conn.execute(
            update(RunRow).where(RunRow.run_id == run_id).values(parameters=json.dumps(parameters))
        )


def test_casework_forecast_is_recorded_and_rerun_exactly(home: Path) -> None:
    with closing(open_twin("ss", home=home)) as twin:
        fc = casework_forecast(twin, 7, reps=12, seed=4)
        assert fc.run_id is not None
        record = load_run(twin.engine, fc.run_id)
        cal = load_casework_calibration(twin)
        ingest_id, received = casework_watermark(twin.engine)
        assert record.kind == "forecast" and record.twin == "ss"
        assert record.request["source"] == "casework" and record.request["groups"] == 40
        assert record.spec_hash == model_hash(cal) and len(record.spec_hash) == 64
        assert record.parameters["referrals"] == cal.referrals_
        assert record.data_at == fc.at and record.data_received == received
        assert ingest_id is not None and record.request["ingest_id"] == ingest_id
        assert record.seeds == [4] and record.reps == 12 and record.version
        assert record.result["daily"] == fc.to_dict()["daily"]
        report = rerun(twin.engine, record)
        assert report.identical and report.spec_identical and report.differences == []
        # a changed calibration in the record: another hash and other numbers
        params = dict(record.parameters)
        params["referrals"] = {k: [2.0 * x for x in v] for k, v in params["referrals"].items()}
        _set_parameters(twin, fc.run_id, params)
        changed = rerun(twin.engine, load_run(twin.engine, fc.run_id))
        assert not changed.identical and not changed.spec_identical
        assert any(d.startswith("daily[") or d.startswith("summary[") for d in changed.differences)


def test_casework_forecast_get_reuses_an_identical_run(home: Path) -> None:
    with closing(open_twin("ss", home=home)) as twin:
        first = casework_forecast(twin, 5, reps=10, seed=9, reuse=True)
        again = casework_forecast(twin, 5, reps=10, seed=9, reuse=True)
        other = casework_forecast(twin, 5, reps=10, seed=10, reuse=True)
        fresh = casework_forecast(twin, 5, reps=10, seed=9)
        assert first.run_id == again.run_id != other.run_id
        assert fresh.run_id not in (first.run_id, other.run_id)
        assert again.to_dict() == first.to_dict()


def test_contact_forecast_is_recorded_and_rerun_exactly(home: Path) -> None:
    with closing(open_twin("cc", home=home)) as twin:
        out = contact_forecast(twin, 2, reps=4, seed=3)
        record = load_run(twin.engine, out["run_id"])
        ingest_id, received = contact_watermark(twin.engine)
        assert record.kind == "forecast" and record.request["source"] == "contact"
        assert record.request["staffed_by"] == "erlang plan" and record.request["agents"]
        assert record.request["ingest_id"] == ingest_id and record.data_received == received
        assert record.data_at is not None and record.data_at.date().isoformat() == out["start"]
        assert record.parameters["calibration"]["interval_minutes"] == 30
        assert record.seeds == [3] and record.reps == 4 and len(record.spec_hash) == 64
        assert record.result["queues"] == json.loads(json.dumps(out["queues"]))
        report = rerun(twin.engine, record)
        assert report.identical and report.spec_identical, report.differences
        # the same GET again: the same run, no new row
        again = contact_forecast(twin, 2, reps=4, seed=3, reuse=True)
        assert again["run_id"] == out["run_id"] and again["queues"] == out["queues"]
        # a changed calibration (20 % more calls in every interval): another hash, other numbers
        params = json.loads(json.dumps(record.parameters))
        table = params["calibration"]["arrivals"]["table"]
        table["rate"] = [1.2 * r for r in table["rate"]]
        _set_parameters(twin, out["run_id"], params)
        changed = rerun(twin.engine, load_run(twin.engine, out["run_id"]))
        assert not changed.identical and not changed.spec_identical
        assert any(d.startswith("queues.") for d in changed.differences)


def test_cli_json_carries_run_ids_and_runs_lists_them(home: Path) -> None:
    code, out = _cli(home, "forecast", "ss", "--days", "5", "--reps", "10", "--json")
    assert code == 0, out
    fc = json.loads(out)
    scenario = ROOT / "examples" / "casework" / "more-caseworkers.yaml"
    code, out = _cli(home, "compare", "ss", str(scenario), "--reps", "3", "--json")
    assert code == 0, out
    comp = json.loads(out)
    code, out = _cli(home, "forecast", "cc", "--days", "1", "--reps", "3", "--json")
    assert code == 0, out
    cc = json.loads(out)
    assert fc["run_id"] and comp["run_id"] and cc["run_id"]
    fewer = ROOT / "examples" / "contact" / "fewer-agents.yaml"
    code, out = _cli(home, "compare", "cc", str(fewer), "--days", "1", "--reps", "3", "--json")
    assert code == 0, out
    cc_comp = json.loads(out)
    code, out = _cli(home, "runs", "ss", "--json")
    listed = {r["run_id"] for r in json.loads(out)["runs"]}
    assert code == 0 and {fc["run_id"], comp["run_id"]} <= listed
    code, out = _cli(home, "runs", "cc", "--json")
    assert code == 0 and {cc["run_id"], cc_comp["run_id"]} <= {
        r["run_id"] for r in json.loads(out)["runs"]
    }
    with closing(open_twin("cc", home=home)) as twin:
        record = load_run(twin.engine, cc_comp["run_id"])
        assert record.kind == "compare" and record.parameters["calibration"]["arrivals"]
        assert record.data_at is not None and record.data_received is not None
    with closing(open_twin("ss", home=home)) as twin:
        record = load_run(twin.engine, comp["run_id"])
        assert record.twin == "ss" and record.parameters["config"]["deadline_days"] == 28.0
        assert record.data_received is not None
        assert {r.kind for r in list_runs(twin.engine, "ss")} == {"forecast", "compare"}
    for run_id in (fc["run_id"], comp["run_id"], cc["run_id"], cc_comp["run_id"]):
        code, out = _cli(home, "rerun", run_id, "--json")
        assert code == 0 and json.loads(out)["identical"], out


def test_casework_rerun_sees_only_the_data_below_its_watermark(home: Path, tmp_path: Path) -> None:
    """A case referred before the forecast's present but ingested after it: a new forecast
    counts it, the rerun of the old one does not (events stored by later ingests are left
    out) and stays identical."""
    with closing(open_twin("ss", home=home)) as twin:
        fc = casework_forecast(twin, 3, reps=10, seed=6, groups=0)
        assert fc.run_id is not None
        late = tmp_path / "late.csv"
        when = (fc.at - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        late.write_text(
            "event_id,case_id,type,time,team,district,group,priority\n"
            f"late-1,late-case-1,referral,{when},,{fc.state.cases['district'].iloc[0]},,\n",
            "utf-8",
        )
        assert ingest(twin, [late])[0].accepted == 1
        now = casework_forecast(twin, 3, reps=10, seed=6, groups=0, at=fc.at)
        assert now.to_dict()["open_cases"] == fc.to_dict()["open_cases"] + 1
        report = rerun(twin.engine, load_run(twin.engine, fc.run_id))
        assert report.identical, report.differences
