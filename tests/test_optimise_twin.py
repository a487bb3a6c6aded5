"""``twinsight optimise`` on a hospital twin's own calibrated model (``twin:`` base): beds of one
unit against an occupancy target, on a small emulated history; the run is recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import twinsight
from twinsight.cli import app
from twinsight.emulate import emulate_hospital, write_events

KEY = "cd" * 32

PROBLEM = """
name: MED1 beds
twin: {days: 21}
decisions:
  med1_beds: {path: resources.MED1_beds.capacity, lower: 5, upper: 40, cost: 1.0}
constraints:
  - {kpi: "utilisation[MED1_beds]", at_most: 0.85}
run: {reps: 6, max_reps: 12, seed: 2, warmup: 168}
"""


def test_beds_of_a_twin_unit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINSIGHT_PSEUDONYM_KEY", KEY)
    em = emulate_hospital(60, 11, beds=80)
    write_events(em.rows, tmp_path / "events.csv")
    home = tmp_path / "home"
    with twinsight.HospitalTwin("general", home=home, create=True) as twin:
        twin.ingest(tmp_path / "events.csv")
    problem = tmp_path / "p.yaml"
    problem.write_text(PROBLEM, encoding="utf-8")
    result = CliRunner().invoke(app, ["optimise", "general", str(problem), "--json",
                                      "--home", str(home)])  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "optimal" and data["run_id"]
    beds = data["best"]["decision"]["med1_beds"]
    assert 5 < beds < 40
    # the answer is the least number of beds judged feasible: one fewer was judged infeasible
    verdicts = {e["decision"]["med1_beds"]: e["feasible"] for e in data["evaluations"]}
    assert verdicts[beds] and verdicts[beds - 1] is False
    # without a twin of that name, a twin base is bad input
    missing = CliRunner().invoke(app, ["optimise", "nobody", str(problem), "--home", str(home)])
    assert missing.exit_code == 2 and "no twin 'nobody'" in missing.output
