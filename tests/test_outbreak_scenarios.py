"""Outbreak scenarios against the baseline: measures from a day, paired runs with common random
numbers, checked against the model's own equations solved independently, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import odeint
from typer.testing import CliRunner

from twinsight.cli import app
from twinsight.outbreak import (
    OutbreakCalibration,
    OutbreakConfig,
    OutbreakScenarioError,
    calibrate_outbreak,
    compare_outbreak,
    parse_outbreak_scenario,
)
from twinsight.outbreak._forecast import present_state

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "outbreak" / "admissions.csv"
READY = ROOT / "examples" / "outbreak" / "twin.yaml"
CAPACITY = {"beds": 2100, "icu": 620}


@pytest.fixture(scope="module")
def growing() -> OutbreakCalibration:
    """The sample's first 30 days (before its measure): an epidemic still growing."""
    data = pd.read_csv(SAMPLE, index_col="date", parse_dates=True).iloc[:30]
    config = OutbreakConfig(population=800_000, p_hosp=0.025, capacity=CAPACITY)
    return calibrate_outbreak(data, config, intervals="wald")


Series = tuple[np.ndarray, np.ndarray, np.ndarray]


def _difference_form(
    x0: np.ndarray, p: dict[str, float], days: int, cut: tuple[int, float]
) -> Series:
    """The template's difference equations written out by hand (docs/outbreak.md): each
    compartment loses 1 - exp(-h) of its people a day, split in proportion to the rates;
    R0 times ``cut[1]`` from step ``cut[0]`` on. Returns beds, ICU beds (end of each day) and
    admissions per day."""
    s, e, i, r, h, c, v = (float(a) for a in x0)
    n = s + e + i + r + h + c + v
    beds, icu, adm = [], [], []
    for t in range(days):
        r0 = p["R0"] * (cut[1] if t >= cut[0] else 1.0)
        lam = r0 / p["infectious_days"] * i / n
        se = s * -np.expm1(-lam)
        ei = e * -np.expm1(-1 / p["incubation_days"])
        i_out = i * -np.expm1(-1 / p["infectious_days"])
        ih = i_out * p["p_hosp"]
        h_out = h * -np.expm1(-1 / p["los_ward_days"])
        hc = h_out * p["p_icu"]
        c_out = c * -np.expm1(-1 / p["los_icu_days"])
        cv = c_out * p["p_vent"]
        v_out = v * -np.expm1(-1 / p["los_vent_days"])
        s, e, i = s - se, e + se - ei, i + ei - i_out
        h, c, v = h + ih - h_out, c + hc - c_out, v + cv - v_out
        beds.append(h + c + v)
        icu.append(c + v)
        adm.append(ih)
    return np.array(beds), np.array(icu), np.array(adm)


def _ode_form(x0: np.ndarray, p: dict[str, float], days: int, cut: tuple[int, float]) -> Series:
    """The same model as an ODE, solved by scipy's odeint (LSODA) in two pieces around the
    measure, with admissions as an accumulating eighth state."""

    def rhs(y: np.ndarray, _t: float, r0: float) -> list[float]:
        s, e, i, _r, h, c, v, _a = y
        n = y[:7].sum()
        se = r0 / p["infectious_days"] * i / n * s
        ei, i_out = e / p["incubation_days"], i / p["infectious_days"]
        h_out, c_out, v_out = h / p["los_ward_days"], c / p["los_icu_days"], v / p["los_vent_days"]
        ih = i_out * p["p_hosp"]
        hc, cv = h_out * p["p_icu"], c_out * p["p_vent"]
        return [-se, se - ei, ei - i_out, i_out - ih + h_out - hc + c_out - cv + v_out,
                ih - h_out, hc - c_out, cv - v_out, ih]  # fmt: skip

    y0 = [*map(float, x0), 0.0]
    a = odeint(rhs, y0, np.arange(cut[0] + 1.0), args=(p["R0"],), rtol=1e-10, atol=1e-8)
    b = odeint(rhs, a[-1], np.arange(cut[0], days + 1.0), args=(p["R0"] * cut[1],),
               rtol=1e-10, atol=1e-8)  # fmt: skip
    y = np.vstack([a, b[1:]])[1:]
    return y[:, 4:7].sum(axis=1), y[:, 5:7].sum(axis=1), np.diff(np.r_[0.0, y[:, 7]])


@pytest.mark.parametrize("method", ["difference", "ode"])
def test_deterministic_difference_is_the_equations_difference(
    growing: OutbreakCalibration, method: str
) -> None:
    # At the estimates (no parameter uncertainty) every run is the same solution, so the paired
    # difference of each KPI is that of the equations solved independently: exactly (1e-9) for
    # the difference form, within 0.02 patients for the ODE (RK4, 8 steps a day, vs LSODA).
    cal = growing.__class__(**{**growing.__dict__, "config": growing.config.model_copy(
        update={"method": method})})  # fmt: skip
    days, cut = 90, (9, 0.7)  # day 10: 9 days after the first forecast day
    scenario = parse_outbreak_scenario("distancing=30%@10")
    comp = compare_outbreak(cal, [scenario], days=days, reps=3, mode="deterministic",
                            parameter_uncertainty=False)  # fmt: skip
    p = cal.params()
    x0 = present_state(cal, {k: np.full(1, x) for k, x in p.items()})[0]
    solve = _difference_form if method == "difference" else _ode_form
    base, scen = solve(x0, p, days, (days, 1.0)), solve(x0, p, days, cut)
    want = {
        "peak_beds": scen[0].max() - base[0].max(),
        "peak_icu": scen[1].max() - base[1].max(),
        "admissions": scen[2].sum() - base[2].sum(),
        "days_over_beds": float((scen[0] > 2100).sum() - (base[0] > 2100).sum()),
        "days_over_icu": float((scen[1] > 620).sum() - (base[1] > 620).sum()),
    }
    tol = 1e-9 if method == "difference" else 0.02
    for kpi, diff in want.items():
        got = comp.difference(1, kpi)
        assert np.ptp(got) == 0.0  # identical runs
        assert got[0] == pytest.approx(diff, rel=tol, abs=tol), kpi
    # the measure matters here: fewer admissions, a lower peak, fewer days over capacity
    assert want["admissions"] < -1000 and want["peak_beds"] < -100
    assert base[0].max() > 2100 and want["days_over_beds"] < 0


def test_common_random_numbers_narrow_the_paired_interval(growing: OutbreakCalibration) -> None:
    # Var(D) = Var(X) + Var(Y) - 2 Cov(X, Y): with the same parameter draws, present and daily
    # streams the covariance is positive, so the paired interval is narrower than with
    # independent seeds (where Cov = 0). Same seed: the same numbers.
    scenario = parse_outbreak_scenario("distancing=30%@10")
    crn = compare_outbreak(growing, [scenario], days=90, reps=200, seed=5)
    ind = compare_outbreak(growing, [scenario], days=90, reps=200, seed=5, common=False)
    again = compare_outbreak(growing, [scenario], days=90, reps=200, seed=5)
    out_crn, out_ind = crn.to_json(), ind.to_json()
    for row_c, row_i in zip(out_crn["kpis"], out_ind["kpis"], strict=True):
        hw_c = row_c["scenarios"]["distancing"]["difference"]["half_width"]
        hw_i = row_i["scenarios"]["distancing"]["difference"]["half_width"]
        if row_c["key"] in ("peak_beds", "peak_icu", "admissions"):
            # measured on the blocked streams: 0.20, 0.31, 0.52 (seed 5)
            assert hw_c < 0.8 * hw_i, row_c["key"]
    assert again.to_json() == out_crn
    # the stochastic mean difference agrees in sign and size with the deterministic one
    det = compare_outbreak(growing, [scenario], days=90, reps=200, seed=5, mode="deterministic")
    d_sto, d_det = crn.difference(1, "admissions").mean(), det.difference(1, "admissions").mean()
    assert d_sto < 0 and d_sto == pytest.approx(d_det, rel=0.1)
    sentences = [r["scenarios"]["distancing"]["sentence"] for r in out_crn["kpis"]]
    assert any(s.startswith("distancing (contacts -30%@10) cuts peak beds") for s in sentences)
    assert out_crn["scenarios"][0]["interventions"] == ["contacts x0.7 from day 10"]


def test_scenarios_from_files_names_and_bad_input(
    growing: OutbreakCalibration, tmp_path: Path
) -> None:
    f = tmp_path / "lockdown.yaml"
    f.write_text("description: Lockdown\nmeasures:\n  - {date: 2020-04-10, contact_factor: 0.5}\n")
    sc = parse_outbreak_scenario(str(f))
    assert sc.name == "lockdown" and sc.measures[0].offset(growing.watermark) == 9
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "mild.yaml").write_text("measures: [{day: 5, reduction: 0.1}]\n")
    assert parse_outbreak_scenario("mild", tmp_path / "scenarios").measures[0].factor == 0.9
    two = parse_outbreak_scenario("both=30%@10,20%@40")
    assert [m.day for m in two.measures] == [10, 40]
    for bad, match in [("nothing", "no scenario"), ("x=30@10", "REDUCTION%@DAY"),
                       ("x=30%@0", "day")]:  # fmt: skip
        with pytest.raises(OutbreakScenarioError, match=match):
            parse_outbreak_scenario(bad)
    early = tmp_path / "early.yaml"
    early.write_text("measures: [{date: 2020-03-01, reduction: 0.3}]\n")
    with pytest.raises(ValueError, match="not in the forecast"):
        compare_outbreak(growing, [parse_outbreak_scenario(str(early))], days=30, reps=10)


def test_compare_on_the_command_line(tmp_path: Path) -> None:
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, [*args, "--home", str(tmp_path)])
        return result.exit_code, result.output

    assert run("init", "metro", "--template", "outbreak")[0] == 0
    config = tmp_path / "metro" / "twin.yaml"
    config.write_text(config.read_text("utf-8") + READY.read_text("utf-8"), "utf-8")
    assert run("ingest", "metro", str(SAMPLE))[0] == 0
    code, out = run("compare", "metro", "distancing=30%@10", "--days", "60", "--reps", "20",
                    "--json")  # fmt: skip
    assert code == 0, out
    got = json.loads(out)
    assert got["kind"] == "outbreak" and got["days"] == 60 and got["reps"] == 20
    assert {k["key"] for k in got["kpis"]} == {
        "peak_beds", "peak_icu", "admissions", "days_over_beds", "days_over_icu"}  # fmt: skip
    code, out = run("compare", "metro", "distancing=30%@10", "--days", "30", "--reps", "20")
    assert code == 0 and "peak beds in use" in out and "95% CI" in out
    code, out = run("compare", "metro", "distancing=30@10")
    assert code == 2 and "REDUCTION%@DAY" in out and "Traceback" not in out
    code, out = run("compare", "metro", "x=30%@10", "--days", "200")
    assert code == 2 and "1-180" in out
