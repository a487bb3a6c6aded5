"""The optimisation problem file (every problem with its place and a fix), the search's rules
(monotone or not: the same answer), and ``twinsight optimise`` (JSON, exit codes, the run
record). The Erlang C validation is in tests/validation/test_optimise_erlang.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twinsight.cli import app
from twinsight.decide import list_runs, rerun
from twinsight.optimise import (
    OptimisationProblem,
    ProblemFileError,
    base_spec,
    load_problem,
    optimise,
    parse_problem,
    spec_builder,
)
from twinsight.twin import init_twin

ROOT = Path(__file__).resolve().parents[1]
ERLANG = ROOT / "examples" / "optimise" / "erlang_c_staffing.yaml"
HOSPITAL = ROOT / "examples" / "optimise" / "hospital_beds.yaml"
SPEC = (ROOT / "examples" / "optimise" / "mmc_staffing.yaml").as_posix()
runner = CliRunner()

GOOD = f"""
name: test
spec: {SPEC}
decisions:
  agents: {{path: resources.agents.capacity, lower: 5, upper: 10, cost: 2}}
constraints:
  - {{kpi: "wait_within_target[desk]", at_least: 0.8}}
run: {{reps: 10, max_reps: 20, seed: 3, horizon: 300, warmup: 30}}
"""


def _problems(text: str) -> list[str]:
    with pytest.raises(ProblemFileError) as info:
        parse_problem(text, "p.yaml")
    return [p.render("p.yaml") for p in info.value.problems]


def test_a_good_problem_parses() -> None:
    problem = parse_problem(GOOD)
    assert problem.cost({"agents": 7}) == 14.0
    assert problem.overrides({"agents": 7}) == ["resources.agents.capacity=7"]


def test_problem_file_mistakes_are_all_reported_with_place_and_hint() -> None:
    text = GOOD.replace("decisions:", "decisons:").replace(
        "at_least: 0.8", "at_least: 0.8, at_most: 1"
    )
    text = text.replace("run: {", "run: {repz: 3, ")
    rows = _problems(text)
    joined = "\n".join(rows)
    assert "p.yaml:4:1: decisons: unknown field 'decisons'; did you mean 'decisions'?" in joined
    assert "p.yaml:8:7: run.repz: unknown field 'repz'; did you mean 'reps'?" in joined
    assert "constraints.0: give exactly one of 'at_least' or 'at_most'" in joined
    assert "decisions: 'decisions' is missing" in joined
    bounds = _problems(GOOD.replace("lower: 5, upper: 10", "lower: 9, upper: 4"))
    assert any("upper (4) is below lower (9); swap them" in r for r in bounds)
    assert any("exactly one base" in r for r in _problems(GOOD.replace(f"spec: {SPEC}", "")))


def test_paths_and_kpis_are_checked_against_the_spec() -> None:
    text = GOOD.replace("resources.agents.capacity", "resources.agent.capacity")
    text = text.replace("wait_within_target[desk]", "wait_within_target[dsk]")
    problem = parse_problem(text)
    with pytest.raises(ProblemFileError) as info:
        spec_builder(problem, base_spec(problem, "p.yaml"), "p.yaml")
    rows = [p.render("p.yaml") for p in info.value.problems]
    assert any(
        "decisions.agents.path: there is no 'agent' in resources; did you mean 'agents'?" in r
        for r in rows
    )
    assert any(
        "constraints.0.kpi: the spec has no KPI 'wait_within_target[dsk]'; "
        "did you mean 'wait_within_target[desk]'?" in r
        for r in rows
    )


def test_the_search_without_monotone_finds_the_same_decision() -> None:
    mono = parse_problem(GOOD)
    plain = OptimisationProblem.model_validate({**mono.model_dump(), "search": {"monotone": False}})
    results = [optimise(p, spec_builder(p, base_spec(p, "t"), "t")) for p in (mono, plain)]
    assert [r.status for r in results] == ["optimal", "optimal"]
    assert results[0].best is not None and results[1].best is not None
    assert results[0].best.decision == results[1].best.decision
    # cost order without the bisection: every cheaper decision was simulated and missed
    cheaper = [e for e in results[1].evaluations if e.cost < results[1].best.cost]
    assert cheaper and not any(e.feasible for e in cheaper)


def test_the_bundled_problems_load_and_fit_their_specs() -> None:
    for path in (ERLANG, HOSPITAL):
        problem = load_problem(path)
        spec_builder(problem, base_spec(problem, str(path)), str(path))


def _cli(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_cli_json_and_the_run_record(tmp_path: Path) -> None:
    problem = tmp_path / "p.yaml"
    problem.write_text(GOOD, encoding="utf-8")
    code, out, err = _cli("optimise", "desk", problem, "--json", "--home", tmp_path)
    assert code == 0, err
    data = json.loads(out)
    assert data["status"] == "optimal" and data["run_id"] is None
    assert data["best"]["decision"] == {"agents": 8}  # short runs; Erlang C: 8 too
    init_twin("desk", home=tmp_path).close()
    code, out, _ = _cli("optimise", "desk", problem, "--json", "--home", tmp_path)
    run_id = json.loads(out)["run_id"]
    assert code == 0 and run_id
    from twinsight.twin import open_twin

    twin = open_twin("desk", home=tmp_path)
    try:
        (record,) = list_runs(twin.engine, twin="desk", kind="optimise")
        again = rerun(twin.engine, record)  # from the stored problem and base spec
    finally:
        twin.close()
    assert again.identical, again.differences
    assert record.run_id == run_id and record.result["best"] == data["best"]
    assert record.seeds == [3]


def test_cli_infeasible_exits_1_with_the_closest_decision(tmp_path: Path) -> None:
    problem = tmp_path / "p.yaml"
    problem.write_text(GOOD.replace("at_least: 0.8", "at_least: 0.999"), encoding="utf-8")
    code, out, err = _cli("optimise", "desk", problem, "--home", tmp_path)
    assert code == 1
    assert "no feasible decision" in out and "closest decision found: agents=10" in out
    assert "how far it misses each target" in out and "Traceback" not in out + err
    code, out, _ = _cli("optimise", "desk", problem, "--json", "--home", tmp_path)
    data = json.loads(out)
    assert (
        code == 1
        and data["status"] == "infeasible"
        and data["closest"]["decision"] == {"agents": 10}
    )
    assert data["closest"]["checks"][0]["miss"] > 0


def test_cli_bad_problem_file_exits_2(tmp_path: Path) -> None:
    problem = tmp_path / "p.yaml"
    problem.write_text(
        GOOD.replace("wait_within_target[desk]", "wait_target[desk]"), encoding="utf-8"
    )
    code, out, err = _cli("optimise", "desk", problem, "--home", tmp_path)
    assert code == 2 and out == "" and "Traceback" not in err
    assert "constraints.0.kpi: the spec has no KPI 'wait_target[desk]'" in err
    code, _, err = _cli("optimise", "desk", tmp_path / "missing.yaml", "--home", tmp_path)
    assert code == 2 and "cannot read it" in err
