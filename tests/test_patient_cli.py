"""The patient twin on the command line: init, ingest, calibrate, forecast, recommend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twinsight.cli import app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "patient"
KEY = "ab" * 32
BANNER = "Decision support for clinicians, not medical advice"
runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TWINSIGHT_PSEUDONYM_KEY", KEY)
    return tmp_path / "home"


def _run(home: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--home", str(home)])
    return result.exit_code, result.output


def test_patient_twin_end_to_end(home: Path) -> None:
    code, out = _run(home, "init", "alice", "--template", "patient", "--json")
    assert code == 0 and json.loads(out)["template"] == "patient"
    code, out = _run(home, "ingest", "alice", str(EXAMPLES / "readings.csv"),
                     str(EXAMPLES / "profile.yaml"), "--json")  # fmt: skip
    assert code == 0, out
    counts = json.loads(out)
    assert (counts["accepted"], counts["duplicate"], counts["quarantined"]) == (79, 1, 5)
    assert counts["files"][1]["format"] == "profile"

    code, out = _run(home, "ingest", "alice", str(EXAMPLES / "readings_fhir.json"), "--json")
    assert code == 0, out
    assert (json.loads(out)["accepted"], json.loads(out)["quarantined"]) == (4, 1)

    code, out = _run(home, "calibrate", "alice")
    assert code == 0, out
    assert BANNER in out and "response_thiazide" in out and "gap: no readings for 3.5 days" in out
    code, out = _run(home, "calibrate", "alice", "--json")
    assert code == 0 and json.loads(out)["readings"] == 83

    code, out = _run(home, "forecast", "alice", "--days", "7", "--json")
    assert code == 0, out
    forecast = json.loads(out)
    assert forecast["disclaimer"].startswith(BANNER)
    assert len(forecast["forecasts"][0]["days"]) == 7

    code, out = _run(home, "recommend", "alice")
    assert code == 0, out
    assert out.startswith(BANNER)
    assert "10-year ASCVD risk" in out
    code, out = _run(home, "recommend", "alice", "--json", "--seed", "4", "--target", "135/85",
                     "--contraindication", "ccb")  # fmt: skip
    assert code == 0, out
    rec = json.loads(out)
    assert rec["disclaimer"].startswith(BANNER)
    assert rec["target"] == {"systolic": 135.0, "diastolic": 85.0}
    assert all("ccb" not in o["drugs"] and "beta_blocker" not in o["drugs"] for o in rec["options"])
    code, out = _run(home, "audit", "alice", "--json")
    assert code == 0, out
    assert all(action in out for action in ('"ingest"', '"profile"', '"calibrate"'))
    assert "P-0042" not in out
    _, again = _run(home, "recommend", "alice", "--json", "--seed", "4", "--target", "135/85",
                    "--contraindication", "ccb")  # fmt: skip
    again_out = json.loads(again)
    assert again_out.pop("run_id") != rec.pop("run_id")  # each stored as a run of its own
    assert again_out == rec  # the same numbers


def test_bad_input_exits_2_with_the_fix(home: Path, tmp_path: Path) -> None:
    _run(home, "init", "bob", "--template", "patient")
    code, out = _run(home, "recommend", "bob")
    assert code == 2 and "no profile" in out and "Traceback" not in out
    bad = tmp_path / "p.yaml"
    bad.write_text("age: 58\nsex: x\n", encoding="utf-8")
    code, out = _run(home, "ingest", "bob", str(bad))
    assert code == 2 and "sex" in out
    code, out = _run(home, "ingest", "bob", str(EXAMPLES / "profile.yaml"))
    assert code == 0
    code, out = _run(home, "recommend", "bob")
    assert code == 2 and "no blood pressure readings" in out
    code, out = _run(home, "recommend", "bob", "--target", "130")
    assert code == 2 and "--target" in out
    code, out = _run(home, "recommend", "bob", "--contraindication", "aspirin")
    assert code == 2 and "unknown class aspirin" in out
    _run(home, "init", "general")
    code, out = _run(home, "recommend", "general")
    assert code == 2 and "patient twins" in out


def test_patient_twin_for_notebooks(home: Path) -> None:
    from twinsight.patient import PatientTwin

    with PatientTwin("carol", home=home, create=True) as twin:
        counts = twin.ingest(EXAMPLES / "readings.csv", EXAMPLES / "profile.yaml")
        assert list(counts["format"]) == ["bp-csv", "profile"]
        assert twin.calibrate().readings == 79
        days = twin.forecast(5, regimen={"thiazide": "standard", "ccb": "half"}, seed=1)
        assert len(days) == 5 and {"time", "systolic_median", "p_target"} <= set(days.columns)
        options = twin.options(seed=1, top=3)
        assert len(options) == 3 and "p_target" in options.columns
        assert twin.recommend(seed=1).to_dict()["warnings"] == []
    _run(home, "init", "dave")
    with pytest.raises(ValueError, match="not a patient twin"):
        PatientTwin("dave", home=home)
