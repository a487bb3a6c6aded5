"""``twinsight scenario``, ``compare``, ``runs`` and ``rerun`` end to end: on a hospital twin
built from emulated events, and on the Erlang-C staffing spec of ``examples/scenarios``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

import twinsight
from twinsight.cli import app
from twinsight.emulate import emulate_hospital, write_events

KEY = "ef" * 32
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "scenarios"
runner = CliRunner()


@dataclass
class Home:
    home: Path

    def run(self, *args: str) -> tuple[int, str]:
        result = runner.invoke(app, [*args, "--home", str(self.home)])
        return result.exit_code, result.output


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    """A calibrated 120-bed twin 'ward' (70 emulated days)."""
    tmp = tmp_path_factory.mktemp("compare")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWINSIGHT_PSEUDONYM_KEY", KEY)
        em = emulate_hospital(70, 9, beds=120)
        path = tmp / "events.csv"
        write_events(em.rows, path)
        with twinsight.HospitalTwin("ward", home=tmp / "home", create=True) as twin:
            twin.ingest(path)
            twin.calibrate()
        yield Home(tmp / "home")


def test_scenarios_are_added_checked_and_listed(home: Home, tmp_path: Path) -> None:
    code, out = home.run("scenario", "ward", "add", str(EXAMPLES / "hospital" / "open-beds.yaml"))
    assert code == 0 and "added scenario 'open-beds'" in out, out
    code, out = home.run(
        "scenario", "ward", "add", str(EXAMPLES / "hospital" / "surge.yaml"), "--json"
    )
    assert code == 0 and json.loads(out)["added"]["name"] == "surge", out
    code, out = home.run("scenario", "ward", "add", str(EXAMPLES / "hospital" / "surge.yaml"))
    assert code == 2 and "--replace" in out
    code, out = home.run("scenario", "ward", "list", "--json")
    assert code == 0, out
    listed = json.loads(out)["scenarios"]
    assert [s["name"] for s in listed] == ["open-beds", "surge"]
    assert listed[1]["interventions"] == ["surge: percent=20.0, days=3.0, from_day=0.0"]
    # bad input: a misspelt field (with its line), a unit and a spec path that do not exist
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ninterventions:\n  - beds: {unit: MED1, chnage: 2}\n")
    code, out = home.run("scenario", "ward", "add", str(bad))
    assert code == 2 and "bad.yaml:3" in out and "did you mean 'change'" in out, out
    bad.write_text("name: bad\ninterventions:\n  - beds: {unit: MED3, change: 2}\n")
    code, out = home.run("scenario", "ward", "add", str(bad))
    assert code == 2 and "no unit 'MED3'" in out and "MED1" in out and "Traceback" not in out
    bad.write_text("name: bad\ninterventions:\n  - set: {stations.ED.dicipline: fifo}\n")
    code, out = home.run("scenario", "ward", "add", str(bad))
    assert code == 2 and "did you mean 'discipline'" in out, out
    code, out = home.run("scenario", "ward", "remove")
    assert code == 2 and "unknown action" in out


def test_compare_on_the_twin_is_recorded_and_reruns_identically(home: Home, tmp_path: Path) -> None:
    home.run("scenario", "ward", "add", str(EXAMPLES / "hospital" / "open-beds.yaml"), "--replace")
    chart = tmp_path / "chart.html"
    code, out = home.run(
        "compare",
        "ward",
        "open-beds",
        str(EXAMPLES / "hospital" / "divert.yaml"),
        "--days",
        "2",
        "--reps",
        "40",
        "--json",
        "--chart",
        str(chart),
    )
    assert code == 0, out
    data = json.loads(out)
    assert data["reps"] == 40 and [s["name"] for s in data["scenarios"]] == ["open-beds", "divert"]
    rows = {r["key"]: r for r in data["kpis"]}
    assert {"ed_4h", "boarding", "time_to_bed", "cancellations", "occupancy[MED1]"} <= set(rows)
    divert = rows["boarding"]["scenarios"]["divert"]
    # the difference is paired: the mean difference is the difference of the means
    assert divert["difference"]["mean"] == pytest.approx(
        divert["mean"] - rows["boarding"]["baseline"]["mean"]
    )
    sentence = divert["sentence"]
    assert sentence.startswith("Divert 10% of ambulances and walk-ins ")
    assert "ED boarding" in sentence and "95% CI" in sentence and "hours a day" in sentence
    html = chart.read_text()
    assert "<svg" in html and "http" not in html and "ED boarding" in html
    code, out = home.run("runs", "ward", "--json")
    assert code == 0, out
    recorded = [r for r in json.loads(out)["runs"] if r["run_id"] == data["run_id"]]
    assert recorded and recorded[0]["kind"] == "compare" and recorded[0]["reps"] == 40
    assert recorded[0]["scenarios"] == ["open-beds", "divert"] and recorded[0]["seeds"] == [1]
    code, out = home.run("rerun", data["run_id"])
    assert code == 0 and "identical" in out, out
    # text output: a table per scenario and its sentences
    code, out = home.run("compare", "ward", "open-beds", "--days", "1", "--reps", "10")
    assert code == 0 and "Open 6 beds on MED1" in out and "run " in out, out
    code, out = home.run("compare", "ward", "opne-beds")
    assert code == 2 and "did you mean 'open-beds'" in out, out
    code, out = home.run("rerun", "0000zzzz")
    assert code == 2 and "no run" in out


def test_compare_on_a_spec_to_a_precision(home: Home) -> None:
    code, out = home.run(
        "compare",
        "--spec",
        str(EXAMPLES / "staffing.yaml"),
        str(EXAMPLES / "staffing-one-more-agent.yaml"),
        str(EXAMPLES / "staffing-day-shift.yaml"),
        "--reps",
        "6",
        "--precision",
        "wait_mean=0.3",
        "--json",
    )
    assert code == 0, out
    data = json.loads(out)
    assert data["precision_met"] is True and data["reps"] >= 6
    wait = next(r for r in data["kpis"] if r["key"] == "wait_mean")
    for name in ("one-more-agent", "day-shift"):
        assert wait["scenarios"][name]["difference"]["half_width"] <= 0.3
        assert " cuts the mean wait from " in wait["scenarios"][name]["sentence"]
    code, out = home.run("runs", "staffing", "--json")
    assert code == 0 and json.loads(out)["runs"][0]["run_id"] == data["run_id"], out
    code, out = home.run("rerun", data["run_id"], "--json")
    assert code == 0 and json.loads(out)["identical"] is True, out
    code, out = home.run(
        "compare",
        "--spec",
        str(EXAMPLES / "staffing.yaml"),
        str(EXAMPLES / "hospital" / "divert.yaml"),
    )
    assert code == 2 and "needs a hospital twin" in out, out
    code, out = home.run(
        "compare",
        "--spec",
        str(EXAMPLES / "staffing.yaml"),
        str(EXAMPLES / "staffing-day-shift.yaml"),
        "--precision",
        "wait=1",
    )
    assert code == 2 and "no compared KPI 'wait'" in out, out


def test_a_scenario_that_changes_nothing_differs_by_exactly_zero(
    home: Home, tmp_path: Path
) -> None:
    # common random numbers, exactly: replication i has the same streams (and, with parameter
    # uncertainty, the same draw of the arrival level and stays) in every variant
    same = tmp_path / "same.yaml"
    same.write_text("name: same\ninterventions:\n  - set: {stations.ED.discipline: priority}\n")
    for extra in ([], ["--parameter-uncertainty"]):
        code, out = home.run(
            "compare", "ward", str(same), "--days", "1", "--reps", "8", "--json", *extra
        )
        assert code == 0, out
        data = json.loads(out)
        for row in data["kpis"]:
            d = row["scenarios"]["same"]["difference"]
            assert d["mean"] in (0.0, None) and d["half_width"] in (0.0, None), row
            assert "makes no clear change" in row["scenarios"]["same"]["sentence"]
        code, out = home.run("rerun", data["run_id"])
        assert code == 0 and "identical" in out, out


def test_a_cli_forecast_is_recorded_and_reruns_identically(home: Home) -> None:
    code, out = home.run("forecast", "ward", "--days", "1", "--reps", "20", "--seed", "4")
    assert code == 0, out
    code, out = home.run("runs", "ward", "--json")
    assert code == 0, out
    latest = json.loads(out)["runs"][0]
    assert latest["kind"] == "forecast" and latest["seeds"] == [4] and latest["reps"] == 20
    assert len(latest["spec_hash"]) == 64 and latest["data_received"] is not None
    code, out = home.run("rerun", latest["run_id"][:8], "--json")
    assert code == 0 and json.loads(out)["identical"] is True, out
    code, out = home.run("runs", "ward")
    assert code == 0 and latest["run_id"] in out and "forecast" in out


def test_a_cli_forecast_on_a_process_pool_gives_the_in_process_numbers(home: Home) -> None:
    # the hospital forecast's groups, each with the present as warm start, go to the workers
    outs = []
    for where in (["--executor", "inprocess"], ["--executor", "processes", "--workers", "2"]):
        code, out = home.run("forecast", "ward", "--days", "1", "--reps", "30", "--json", *where)
        assert code == 0, out
        outs.append(json.loads(out))
    assert outs[0] == outs[1]
    code, out = home.run("runs", "ward", "--json")
    latest = json.loads(out)["runs"][0]
    assert latest["kind"] == "forecast" and latest["reps"] == 30
    code, out = home.run("rerun", latest["run_id"], "--executor", "processes", "--workers", "2")
    assert code == 0 and "identical" in out, out
