"""The contact-centre twin on the command line: emulate, init, ingest, calibrate, staffing,
forecast and compare, each with --json, and bad input exiting 2 with the field and the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twinsight.cli import app
from twinsight.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "contact"
runner = CliRunner()


def _run(home: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--home", str(home)])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("contact") / "calls.csv"
    result = runner.invoke(app, ["emulate", "contact-centre", "--days", "14", "--calls", "500",
                                 "--seed", "2", "--out", str(out), "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["records"] > 5000 and summary["defects"]["malformed"] > 0
    return out


def test_contact_twin_end_to_end(tmp_path: Path, history: Path) -> None:
    code, out = _run(tmp_path, "init", "acme", "--template", "contact-centre", "--json")
    assert code == 0 and json.loads(out)["template"] == "contact-centre"
    config = tmp_path / "acme" / "twin.yaml"
    config.write_text(config.read_text("utf-8") + (EXAMPLES / "twin.yaml").read_text("utf-8"))
    code, out = _run(tmp_path, "ingest", "acme", str(history), "--json")
    counts = json.loads(out)
    assert code == 0 and counts["accepted"] > 5000 and counts["quarantined"] > 0
    code, out = _run(tmp_path, "ingest", "acme", str(history))
    assert code == 0 and "0 accepted" in out
    code, out = _run(tmp_path, "calibrate", "acme", "--json")
    cal = json.loads(out)
    assert code == 0 and cal["kind"] == "contact-centre" and cal["interval_minutes"] == 30
    assert set(cal["handle"]) == {"billing", "sales", "technical"}
    code, out = _run(tmp_path, "calibrate", "acme")
    assert code == 0 and "patience (min)" in out and "satisfaction =" in out
    spec_file = tmp_path / "week.yaml"
    code, out = _run(tmp_path, "staffing", "acme", "--day", "mon", "--method", "erlang",
                     "--spec-out", str(spec_file), "--json")  # fmt: skip
    plan = json.loads(out)["intervals"]
    assert code == 0 and {r["weekday"] for r in plan} == {"mon"}
    assert all(r["service_level"] >= 0.8 and r["abandon"] <= 0.05 for r in plan)
    assert all(r["rostered"] >= r["agents"] / 0.7 - 1e-9 for r in plan)
    assert load_spec(spec_file).resources["agents_billing"].schedule is not None
    code, out = _run(tmp_path, "staffing", "acme", "--day", "tue", "--at", "10:00")
    assert code == 0 and "billing" in out and "10:00" in out
    # the window ends on Sunday (closed: no calls), so two days reach Monday
    code, out = _run(tmp_path, "forecast", "acme", "--days", "2", "--reps", "4", "--json")
    fc = json.loads(out)
    assert code == 0 and set(fc["queues"]) == {"billing", "sales", "technical"}
    assert fc["start"] == "2026-01-18"
    assert 0.5 < fc["queues"]["billing"]["service_level"]["mean"] <= 1.0
    scenarios = [str(EXAMPLES / "handle-time-10.yaml"), str(EXAMPLES / "callback.yaml")]
    code, out = _run(tmp_path, "compare", "acme", *scenarios, "--days", "2", "--reps", "4",
                     "--json")  # fmt: skip
    comp = json.loads(out)
    assert code == 0 and comp["run_id"]
    names = [s["name"] for s in comp["scenarios"]]
    assert names == ["handle-time-10", "callback-billing"]
    row = next(k for k in comp["kpis"] if k["key"] == "utilisation[agents_billing]")
    assert row["scenarios"]["handle-time-10"]["difference"]["mean"] < 0  # shorter handles
    sat = next(k for k in comp["kpis"] if k["key"] == "satisfaction[billing]")
    assert sat["scenarios"]["handle-time-10"]["difference"]["mean"] > 0  # shorter waits
    code, out = _run(tmp_path, "runs", "acme", "--json")
    assert code == 0 and json.loads(out)["runs"][0]["run_id"] == comp["run_id"]
    code, out = _run(tmp_path, "rerun", comp["run_id"])
    assert code == 0 and "identical" in out


def test_bad_input_exits_2_with_the_fix(tmp_path: Path, history: Path) -> None:
    code, out = _run(tmp_path, "init", "town", "--template", "contact-centre")
    assert code == 0
    code, out = _run(tmp_path, "calibrate", "town")
    assert code == 2 and "no interactions stored" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("time,skill,waited\n2026-01-05T09:00:00Z,billing,3\n", encoding="utf-8")
    code, out = _run(tmp_path, "ingest", "town", str(bad))
    assert code == 2 and "wait_seconds" in out and "examples/contact" in out
    config = tmp_path / "town" / "twin.yaml"
    config.write_text(config.read_text("utf-8") + "contact:\n  shrinkage: 1.5\n")
    _run(tmp_path, "ingest", "town", str(history))
    code, out = _run(tmp_path, "calibrate", "town")
    assert code == 2 and "contact.shrinkage" in out and "docs/contact-centre.md" in out
    code, out = _run(tmp_path, "staffing", "town", "--day", "someday")
    assert code == 2 and "--day" in out
    code, out = _run(tmp_path, "staffing", "town", "--method", "guess")
    assert code == 2 and "--method" in out
    _run(tmp_path, "init", "general", "--template", "hospital")
    code, out = _run(tmp_path, "staffing", "general")
    assert code == 2 and "contact-centre" in out
    code, out = _run(tmp_path, "forecast", "town", "--days", "30")
    assert code == 2 and "1-14" in out
    problem = tmp_path / "p.yaml"
    problem.write_text(
        "name: x\ntwin: {days: 7}\ndecisions:\n  a: {path: resources.agents_billing.capacity,"
        " lower: 1, upper: 3, cost: 1}\nconstraints:\n  - {kpi: abandon_share, at_most: 0.1}\n"
    )
    code, out = _run(tmp_path, "optimise", "town", str(problem))  # 'town' is not calibrated
    assert code == 2 and "no calibration yet" in out and "twinsight calibrate" in out
    result = runner.invoke(app, ["emulate", "contact-centre", "--out", str(tmp_path / "a.txt")])
    assert result.exit_code == 2 and ".parquet" in result.output
