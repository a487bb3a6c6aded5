"""The outbreak twin on the command line: init, ingest, calibrate, forecast and chime, each
with --json, and bad input exiting 2 with the file, the field and the fix."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from twinsight.cli import app

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "outbreak" / "admissions.csv"
READY = ROOT / "examples" / "outbreak" / "twin.yaml"
runner = CliRunner()


def _run(home: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--home", str(home)])
    return result.exit_code, result.output


def test_outbreak_twin_end_to_end(tmp_path: Path) -> None:
    code, out = _run(tmp_path, "init", "metro", "--template", "outbreak", "--json")
    assert code == 0 and json.loads(out)["template"] == "outbreak"
    code, out = _run(tmp_path, "calibrate", "metro")
    assert code == 2 and "no 'outbreak:' section" in out and "population" in out
    config = tmp_path / "metro" / "twin.yaml"
    config.write_text(config.read_text("utf-8") + READY.read_text("utf-8"), "utf-8")
    code, out = _run(tmp_path, "ingest", "metro", str(SAMPLE), "--json")
    counts = json.loads(out)
    assert code == 0 and (counts["accepted"], counts["quarantined"]) == (476, 0)
    assert counts["files"][0]["gaps"]["admissions"] == ["2020-04-11"]
    code, out = _run(tmp_path, "ingest", "metro", str(SAMPLE))
    assert code == 0 and "0 accepted, 476 duplicate" in out and "gap: no admissions" in out
    code, out = _run(tmp_path, "calibrate", "metro", "--json")
    cal = json.loads(out)
    assert code == 0 and cal["kind"] == "outbreak" and cal["watermark"] == "2020-06-29"
    assert set(cal["estimates"]) == {"R0", "seed", "contact_1", "dispersion"}
    assert (tmp_path / "metro" / "outbreak_calibration.json").is_file()
    code, out = _run(tmp_path, "forecast", "metro", "--days", "30", "--reps", "200", "--json")
    fc = json.loads(out)
    assert code == 0 and fc["days"] == 30 and len(fc["metrics"]["census"]) == 30
    code, out = _run(tmp_path, "forecast", "metro", "--days", "3", "--reps", "100")
    assert code == 0 and "beds in use" in out and "2020-07-02" in out
    code, out = _run(tmp_path, "chime", "metro", "--json")
    assert code == 0 and json.loads(out)["mode"] == "chime"
    code, out = _run(tmp_path, "forecast", "metro", "--days", "400")
    assert code == 2 and "1-180" in out


def test_bad_input_exits_2_with_the_fix(tmp_path: Path) -> None:
    _run(tmp_path, "init", "town", "--template", "outbreak")
    bad = tmp_path / "bad.csv"
    bad.write_text("day,admissions\n2020-03-01,1\n", encoding="utf-8")
    code, out = _run(tmp_path, "ingest", "town", str(bad))
    assert code == 2 and "no 'date' column" in out and "examples/outbreak" in out
    rows = tmp_path / "rows.csv"
    rows.write_text("date,admissions\n2020-03-01,-4\n2020-03-02,3\n", encoding="utf-8")
    code, out = _run(tmp_path, "ingest", "town", str(rows))
    assert code == 0 and "1 accepted" in out and "1 quarantined" in out and "negative" in out
    config = tmp_path / "town" / "twin.yaml"
    config.write_text(config.read_text("utf-8") + "outbreak: {population: -5}\n", "utf-8")
    code, out = _run(tmp_path, "calibrate", "town")
    assert code == 2 and "outbreak.population" in out and "twin.yaml" in out
    code, out = _run(tmp_path, "chime", "town")
    assert code == 2 and "no 'chime:' section" in out


def test_deterministic_is_refused_where_there_is_no_such_mode(tmp_path: Path) -> None:
    code, out = _run(tmp_path, "init", "ward", "--json")
    assert code == 0
    code, out = _run(tmp_path, "compare", "ward", "beds.yaml", "--deterministic")
    assert code == 2 and "only an outbreak twin has a deterministic mode" in out
