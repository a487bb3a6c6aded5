"""The deterministic outbreak forecast: the model's equations for each parameter draw, checked
against the equations solved independently and against the stochastic forecast's mean; on the
command line (``forecast --deterministic``, a run record that ``rerun`` reproduces) and over
HTTP (``GET .../outbreak/forecast?deterministic=true``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from _twins import Served, outbreak_twin, role_tokens
from test_outbreak_scenarios import _difference_form, _ode_form
from twinsight.cli import app
from twinsight.decide import load_run, rerun
from twinsight.outbreak import (
    OutbreakCalibration,
    OutbreakConfig,
    calibrate_outbreak,
    forecast_outbreak,
    run_forecast,
)
from twinsight.outbreak._forecast import present_state
from twinsight.service import ServiceSettings, create_app
from twinsight.store import RunRow
from twinsight.twin import init_twin, open_twin

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "outbreak" / "admissions.csv"
METRICS = ("admissions", "census", "icu", "ventilated")


@pytest.fixture(scope="module")
def growing() -> OutbreakCalibration:
    """The sample's first 30 days (before its measure) in a population of 800,000: an
    epidemic still growing, R0 and the seed estimated (Wald intervals: parameter uncertainty)."""
    data = pd.read_csv(SAMPLE, index_col="date", parse_dates=True).iloc[:30]
    config = OutbreakConfig(population=800_000, p_hosp=0.025, capacity={"beds": 2100})
    return calibrate_outbreak(data, config, intervals="wald")


@pytest.mark.parametrize("method", ["difference", "ode"])
def test_deterministic_forecast_is_the_equations_solved_independently(
    growing: OutbreakCalibration, method: str
) -> None:
    # Every run: the template's equations from that run's present state and parameter draw,
    # written out by hand (difference form) or solved by scipy's odeint (LSODA, rtol 1e-10).
    # Tolerance: 1e-9 relative for the difference form (the same arithmetic in another order);
    # 0.02 patients for the ODE (the engine's RK4 with 8 steps a day against LSODA, as in
    # test_outbreak_scenarios). The bands are quantiles of those runs, so they follow.
    cal = growing.__class__(**{**growing.__dict__, "config": growing.config.model_copy(
        update={"method": method})})  # fmt: skip
    days, runs = 40, 60
    fc = forecast_outbreak(cal, days, runs=runs, seed=4, mode="deterministic")
    assert fc.mode == "deterministic" and fc.to_json()["mode"] == "deterministic"
    assert np.ptp(fc.draws["R0"]) > 0  # parameter uncertainty: the runs differ
    present = present_state(cal, fc.draws)
    solve = _difference_form if method == "difference" else _ode_form
    tol = {"rel": 1e-9, "abs": 1e-9} if method == "difference" else {"rel": 0.0, "abs": 0.02}
    for i in range(runs):
        p = {k: float(v[i]) for k, v in fc.draws.items()}
        beds, icu, adm = solve(present[i], p, days, (days, 1.0))
        assert fc.paths["census"][i] == pytest.approx(beds, **tol)
        assert fc.paths["icu"][i] == pytest.approx(icu, **tol)
        assert fc.paths["admissions"][i] == pytest.approx(adm, **tol)
    np.testing.assert_array_equal(fc.admissions_paths, fc.paths["admissions"])  # no count noise
    census = fc.metric("census")
    assert census["mean"].to_numpy() == pytest.approx(fc.paths["census"].mean(axis=0))
    assert census["p50"].to_numpy() == pytest.approx(np.median(fc.paths["census"], axis=0))
    assert fc.metric("census")["p_over"].notna().all()  # capacity configured: the same shape


def test_the_stochastic_mean_converges_to_the_equations(growing: OutbreakCalibration) -> None:
    """Same seed: the same parameter draws and present states, so run i of each mode is a
    pair, and the mean of the paired differences (binomial chain and count noise minus the
    equations) has standard error sd/sqrt(runs). Its size for a population of 800,000 (the
    chain's nonlinearity bias is O(1/N) of counts in the hundreds to thousands) is below the
    noise: every metric on every day within 4.0 standard errors (Bonferroni over 4 metrics x
    28 days at a family-wise 1%: 3.9). Measured (blocks of 64 runs) over seeds 3-7 with and
    without parameter uncertainty: largest |z| per metric 1.3-3.7, typical 2-2.5."""
    runs, days = 2000, 28
    det = forecast_outbreak(growing, days, runs=runs, seed=3, mode="deterministic")
    sto = forecast_outbreak(growing, days, runs=runs, seed=3)
    for name in det.draws:
        np.testing.assert_array_equal(det.draws[name], sto.draws[name])
    for m in METRICS:
        d = sto.paths[m] - det.paths[m]
        se = d.std(axis=0, ddof=1) / np.sqrt(runs)
        assert (se > 0).all(), m
        z = d.mean(axis=0) / se
        assert np.abs(z).max() < 4.0, (m, np.abs(z).max())
    # the means of the answers are those of the paths
    assert sto.metric("census")["mean"].to_numpy() == pytest.approx(sto.paths["census"].mean(0))
    # a wrong deterministic solution would fail: one day's shift of the equations is 30+ SEs
    shifted = np.roll(det.paths["census"], 1, axis=1)[:, 1:] - sto.paths["census"][:, 1:]
    se = shifted.std(axis=0, ddof=1) / np.sqrt(runs)
    assert np.abs(shifted.mean(axis=0) / se).max() > 10


def _cli(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--home", str(home)])
    return result.exit_code, result.output


def test_forecast_deterministic_on_the_command_line_is_recorded_and_rerun(tmp_path: Path) -> None:
    outbreak_twin(tmp_path, "metro", calibrate=True)
    code, out = _cli(tmp_path, "forecast", "metro", "--days", "10", "--reps", "50", "--json",
                     "--deterministic")  # fmt: skip
    assert code == 0, out
    det = json.loads(out)
    code, out = _cli(tmp_path, "forecast", "metro", "--days", "10", "--reps", "50", "--json")
    sto = json.loads(out)
    # the same shape as the stochastic forecast's, with its mode
    assert det["mode"] == "deterministic" and sto["mode"] == "stochastic"
    assert set(det) == set(sto) and set(det["metrics"]) == set(sto["metrics"])
    for m in METRICS:
        assert [set(r) for r in det["metrics"][m]] == [set(r) for r in sto["metrics"][m]]
        assert len(det["metrics"][m]) == 10
    assert det["metrics"]["census"] != sto["metrics"]["census"]
    twin = open_twin("metro", home=tmp_path)
    try:
        record = load_run(twin.engine, det["run_id"])
        assert record.request["mode"] == "deterministic" and record.reps == 50
        assert record.result["metrics"] == det["metrics"]
        report = rerun(twin.engine, record)
        assert report.identical and report.differences == []
        # a record from before the mode was kept (no "mode" in request or answer) is a
        # stochastic one and still reruns exactly
        old = load_run(twin.engine, sto["run_id"])
        request = {k: v for k, v in old.request.items() if k != "mode"}
        result = {k: v for k, v in old.result.items() if k != "mode"}
        with twin.engine.begin() as conn:
            conn.execute(update(RunRow).where(RunRow.run_id == old.run_id).values(
                request=json.dumps(request), result=json.dumps(result)))  # fmt: skip
        assert rerun(twin.engine, load_run(twin.engine, old.run_id)).identical
    finally:
        twin.close()
    code, out = _cli(tmp_path, "rerun", det["run_id"])
    assert code == 0 and "identical" in out
    code, out = _cli(tmp_path, "forecast", "metro", "--days", "3", "--reps", "20",
                     "--deterministic")  # fmt: skip
    assert code == 0 and "the model's equations (deterministic)" in out and "beds in use" in out
    # bad input: another twin has no deterministic mode
    assert _cli(tmp_path, "init", "ward")[0] == 0
    code, out = _cli(tmp_path, "forecast", "ward", "--deterministic")
    assert code == 2 and "only an outbreak twin has a deterministic mode" in out
    assert "Traceback" not in out


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("modes") / "home"
    outbreak_twin(home, "flu", calibrate=True)
    init_twin("ward", home=home).close()
    settings = ServiceSettings(home=home, ingest_rate=None, denied_rate=None)
    with TestClient(create_app(settings)) as client:
        yield Served(client, role_tokens(home), home)


def test_the_api_forecast_takes_deterministic(served: Served) -> None:
    url = "flu/outbreak/forecast?days=7&runs=40&seed=2"
    r = served.call("GET", url + "&deterministic=true", "viewer")
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["mode"] == "deterministic" and got["run_id"]
    twin = open_twin("flu", home=served.home)
    try:
        want = run_forecast(twin, 7, runs=40, seed=2, mode="deterministic", record=False)
        assert got["metrics"] == want.to_json()["metrics"]
        assert load_run(twin.engine, got["run_id"]).request["mode"] == "deterministic"
    finally:
        twin.close()
    again = served.call("GET", url + "&deterministic=true", "viewer").json()
    assert again["run_id"] == got["run_id"]  # an idempotent GET: the same run
    default = served.call("GET", url, "viewer").json()
    assert default["mode"] == "stochastic" and default["run_id"] != got["run_id"]
    assert default["metrics"] != got["metrics"]
    r = served.call("GET", url + "&deterministic=maybe", "viewer")
    assert r.status_code == 422
