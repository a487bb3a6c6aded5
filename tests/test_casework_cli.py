"""The social-services twin on the command line: emulate, init, ingest, calibrate, forecast,
casework spec and equity (with --json and small cells suppressed), compare and optimise on the
written spec, and bad input exiting 2 with the file, the field and the fix."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from twinsight.cli import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "casework"
runner = CliRunner()


def _run(home: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--home", str(home)])
    return result.exit_code, result.output


def _plain(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_social_services_twin_end_to_end(tmp_path: Path) -> None:
    events = tmp_path / "cases.csv"
    code, out = _plain("emulate", "social-services", "--days", "150", "--seed", "4",
                       "--out", str(events), "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["events"] > 3000
    code, out = _run(tmp_path, "init", "dept", "--template", "social-services", "--json")
    assert code == 0 and json.loads(out)["template"] == "social-services"
    config = tmp_path / "dept" / "twin.yaml"
    config.write_text(
        config.read_text("utf-8") + "casework:\n  deadline_days: 42\n  workers: {alpha: 7}\n",
        "utf-8",
    )
    code, out = _run(tmp_path, "ingest", "dept", str(events), "--json")
    counts = json.loads(out)
    assert code == 0 and counts["accepted"] > 3000 and counts["quarantined"] > 0
    code, out = _run(tmp_path, "ingest", "dept", str(events))
    assert code == 0 and "0 accepted" in out and "quarantined" in out
    code, out = _run(tmp_path, "calibrate", "dept", "--json")
    cal = json.loads(out)
    assert code == 0 and cal["config"]["deadline_days"] == 42
    assert cal["teams"]["alpha"]["workers"] == 7 and cal["workers_estimated"] == ["beta"]
    decided = [row["decisions"] for row in cal["observed"].values() if "decisions" in row]
    assert all(d in ("<5", "[c]") or d == 0 or d >= 5 for d in decided)
    code, out = _run(tmp_path, "forecast", "dept", "--days", "10", "--reps", "20", "--json")
    fc = json.loads(out)
    assert code == 0 and fc["days"] == 10 and len(fc["daily"]) == 20
    code, out = _run(tmp_path, "state", "dept", "--json")
    now = json.loads(out)
    assert code == 0 and set(now["teams"]) == {"alpha", "beta"}
    assert all(
        v in ("<5", "[c]") or v == 0 or v >= 5
        for t in now["teams"].values()
        for v in t["where"].values()
    )
    code, out = _run(tmp_path, "forecast", "dept", "--days", "5", "--reps", "10")
    assert code == 0 and "open cases" in out and "waiting for a slot" in out
    spec = tmp_path / "dept.yaml"
    code, out = _run(tmp_path, "casework", "spec", "dept", "--out", str(spec), "--days", "60",
                     "--warmup", "30", "--workers", "alpha=8")  # fmt: skip
    assert code == 0 and "team_alpha 8x12" in out
    code, out = _plain("validate", str(spec))
    assert code == 0, out
    code, out = _run(tmp_path, "casework", "equity", "dept", "--reps", "3", "--days", "60",
                     "--json")  # fmt: skip
    eq = json.loads(out)
    assert code == 0 and eq["model"][0]["group"] == "all" and eq["k"] == 5
    groups = {r["group"] for r in eq["model"]}
    assert {"district=west", "priority=urgent", "team=beta"} <= groups
    scenario = EXAMPLES / "more-caseworkers.yaml"
    code, out = _run(tmp_path, "compare", "--spec", str(spec), str(scenario), "--reps", "3",
                     "--kpi", "utilisation[team_beta]", "--json")  # fmt: skip
    comp = json.loads(out)
    assert code == 0 and comp["kpis"][0]["scenarios"]["more-caseworkers"]["difference"]["mean"] < 0
    surge = EXAMPLES / "referral-surge.yaml"
    code, out = _run(tmp_path, "compare", "dept", str(surge), "--reps", "3", "--json")
    on_twin = json.loads(out)
    assert code == 0 and "utilisation[team_beta]" in [k["key"] for k in on_twin["kpis"]]
    code, out = _run(tmp_path, "rerun", on_twin["run_id"])
    assert code == 0 and "identical" in out
    problem = tmp_path / "twin_problem.yaml"
    problem.write_text(
        "name: x\ntwin: {days: 30}\ndecisions:\n  a: {path: resources.team_alpha.capacity, "
        "lower: 1, upper: 3, cost: 1}\nconstraints:\n  - {kpi: 'utilisation[team_alpha]', "
        "at_most: 0.9}\n",
        encoding="utf-8",
    )
    code, out = _run(tmp_path, "optimise", "dept", str(problem))
    # the twin is the base now (tests/test_optimise_casework.py); a decision on a team's slots
    # must count caseworkers
    assert code == 2 and "decisions.a.scale" in out and "scale: 12" in out


def test_bad_input_exits_2_with_the_fix(tmp_path: Path) -> None:
    _run(tmp_path, "init", "office", "--template", "social-services")
    bad = tmp_path / "bad.csv"
    bad.write_text("case,type,when\nC1,referral,2026-01-01T00:00:00Z\n", encoding="utf-8")
    code, out = _run(tmp_path, "ingest", "office", str(bad))
    assert code == 2 and "no column case_id, time" in out and "examples/casework" in out
    code, out = _run(tmp_path, "calibrate", "office")
    assert code == 2 and "no case events" in out
    code, out = _run(tmp_path, "forecast", "office", "--days", "400")
    assert code == 2 and "1-180" in out
    code, out = _run(tmp_path, "forecast", "office", "--days", "7", "--reps", "20")
    assert code == 2 and "twinsight calibrate office" in out
    code, out = _run(tmp_path, "casework", "spec", "office", "--out", "x.yaml", "--workers", "a")
    assert code == 2 and "TEAM=N" in out
    config = tmp_path / "office" / "twin.yaml"
    config.write_text(config.read_text("utf-8") + "casework: {deadline: 5}\n", "utf-8")
    code, out = _run(tmp_path, "calibrate", "office")
    assert code == 2 and "casework.deadline" in out and "deadline_days" in out
    code, out = _plain("emulate", "social-services", "--out", str(tmp_path / "x.txt"))
    assert code == 2 and ".csv nor .parquet" in out
    assert "Traceback" not in out
