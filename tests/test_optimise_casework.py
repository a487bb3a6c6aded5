"""``twinsight optimise`` on a social-services twin's own calibrated model (``twin:`` base):
caseworkers of one team against a deadline target, on an emulated department; the optimum
meets the target and one caseworker fewer does not, each judged by the optimiser's one-sided
test at 95% confidence over replications (with common random numbers); a decision whose
``scale`` is not the caseload is bad input naming the field and the fix."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twinsight.cli import app

ROOT = Path(__file__).resolve().parents[1]
KEY = "ef" * 32

PROBLEM = """
name: caseworkers of team beta
twin: {days: 240}
decisions:
  beta: {path: resources.team_beta.capacity, lower: 2, upper: 9, cost: 1.0, scale: 12}
constraints:
  - {kpi: "journey_within_target[team:beta]", at_least: 0.9}
run: {reps: 8, max_reps: 32, seed: 3, warmup: 90}
search: {confidence: 0.95}
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A social-services twin calibrated on 200 days of the emulated department."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TWINSIGHT_PSEUDONYM_KEY", KEY)
    root = tmp_path_factory.mktemp("cw")
    runner = CliRunner()
    events = root / "cases.csv"
    assert runner.invoke(app, ["emulate", "social-services", "--days", "200", "--seed", "5",
                               "--out", str(events), "--clean"]).exit_code == 0  # fmt: skip
    where = ["--home", str(root)]
    assert (
        runner.invoke(app, ["init", "dept", "--template", "social-services", *where]).exit_code == 0
    )
    config = root / "dept" / "twin.yaml"
    config.write_text(config.read_text("utf-8") + "casework:\n  deadline_days: 63\n"
                      "  workers: {alpha: 7, beta: 6}\n", "utf-8")  # fmt: skip
    assert runner.invoke(app, ["ingest", "dept", str(events), *where]).exit_code == 0
    done = runner.invoke(app, ["calibrate", "dept", *where])
    assert done.exit_code == 0, done.output
    yield root
    mp.undo()


def test_fewest_caseworkers_meeting_the_deadline_target(home: Path) -> None:
    problem = home / "p.yaml"
    problem.write_text(PROBLEM, encoding="utf-8")
    result = CliRunner().invoke(app, ["optimise", "dept", str(problem), "--json",
                                      "--home", str(home)])  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "optimal" and data["run_id"]
    beta = data["best"]["decision"]["beta"]
    assert 2 < beta <= 9
    # the optimum meets the target: the one-sided 95% lower bound of its mean share is >= 0.9
    best = data["best"]["checks"][0]
    assert best["verdict"] == "met" and best["bound"] >= 0.9
    # one caseworker fewer does not: its one-sided 95% upper bound is below the target
    verdicts = {e["decision"]["beta"]: e for e in data["evaluations"]}
    fewer = verdicts[beta - 1]
    assert fewer["feasible"] is False
    assert fewer["checks"][0]["verdict"] == "missed" and fewer["checks"][0]["bound"] < 0.9


def test_the_example_problem_loads_and_a_wrong_scale_is_bad_input(home: Path) -> None:
    from twinsight.optimise import load_problem

    example = load_problem(ROOT / "examples" / "casework" / "staffing-twin.yaml")
    assert example.twin is not None and all(d.scale == 12 for d in example.decisions.values())
    problem = home / "bad.yaml"
    problem.write_text(PROBLEM.replace("scale: 12", "scale: 1"), encoding="utf-8")
    result = CliRunner().invoke(app, ["optimise", "dept", str(problem), "--home", str(home)])
    assert result.exit_code == 2
    assert "decisions.beta.scale" in result.output and "scale: 12" in result.output
