"""The outbreak twin: ingest of daily counts (quarantine with reasons, idempotence, gaps),
calibration and forecast on the example data, the link to the hospital twin, settings."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from twinsight.compartments import simulate
from twinsight.experiment import run_experiment
from twinsight.outbreak import (
    SEIR_HOSPITAL,
    Capacity,
    OutbreakCalibration,
    OutbreakCalibrationError,
    OutbreakConfig,
    OutbreakConfigError,
    OutbreakIngestError,
    admissions_to_arrivals,
    calibrate_outbreak,
    forecast_outbreak,
    hospital_arrivals,
    ingest,
    ingest_counts,
    load_counts,
    load_outbreak_calibration,
    outbreak_config,
    run_calibration,
    run_chime,
    run_forecast,
)
from twinsight.spec import FlowSpec, load_spec
from twinsight.store import QuarantineRow, open_store
from twinsight.twin import Twin, init_twin

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "outbreak" / "admissions.csv"
READY = ROOT / "examples" / "outbreak" / "twin.yaml"


@pytest.fixture
def twin(tmp_path: Path) -> Twin:
    t = init_twin("metro", "outbreak", home=tmp_path)
    config = (t.path / "twin.yaml").read_text(encoding="utf-8")
    (t.path / "twin.yaml").write_text(config + READY.read_text(encoding="utf-8"), "utf-8")
    return t


def test_ingest_sample_is_idempotent_and_reports_the_gap(tmp_path: Path) -> None:
    engine = open_store(tmp_path / "s.db")
    first = ingest_counts(SAMPLE, engine)
    assert (first.accepted, first.duplicate, first.quarantined) == (119 * 4, 0, 0)
    assert first.gaps == {m: ["2020-04-11"] for m in ("admissions", "census", "icu", "ventilated")}
    again = ingest_counts(SAMPLE, engine)
    assert (again.accepted, again.duplicate, again.quarantined) == (0, 119 * 4, 0)
    frame = load_counts(engine)
    assert list(frame.columns) == ["admissions", "census", "icu", "ventilated"]
    assert len(frame) == 119 and frame.index[0] == pd.Timestamp("2020-03-02")
    raw = pd.read_csv(SAMPLE, index_col="date", parse_dates=True)
    np.testing.assert_array_equal(frame["admissions"].to_numpy(), raw["admissions"].to_numpy())


def test_bad_counts_are_quarantined_with_reasons(tmp_path: Path) -> None:
    engine = open_store(tmp_path / "s.db")
    wide = tmp_path / "wide.csv"
    wide.write_text(
        "date,admissions,census,icu,oxygen\n"
        "2020-03-01,5,20,4,\n"  # fine
        "2020-03-02,-1,20,4,\n"  # negative
        "2020-03-03,2.5,20,30,\n"  # not whole; icu above census
        "2020-03-04,abc,20,,\n"  # not a number
        "03/05/2020,1,20,,\n"  # not a day
        "2020-03-06,1,20,,7\n"  # unknown metric
        "2020-03-07,3,21,,\n"
        "2020-03-07,4,21,,\n"  # conflicting duplicate (admissions), identical census
        "2020-03-08,1\n",  # short row
        encoding="utf-8",
    )
    report = ingest_counts(wide, engine)
    reasons = "\n".join(report.reasons)
    for text in (
        "negative",
        "not a whole number",
        "icu 30 > census 20",
        "not a number",
        "not a day",
        "unknown metric 'oxygen'",
        "2 different values for admissions",
        "the row has 2 cells",
    ):
        assert text in reasons, text
    assert report.quarantined == 10
    # stored: 03-01 x3, 03-02 census+icu, 03-03 census, 03-04 census, 03-06 adm+census,
    # 03-07 census (once; the second identical one is a duplicate)
    assert report.accepted == 10 and report.duplicate == 1
    with engine.connect() as conn:
        stored = conn.execute(select(QuarantineRow.reason, QuarantineRow.line)).all()
    assert len(stored) == 10 and {line for _, line in stored} >= {3, 4, 5, 6, 7, 8, 9, 10}
    long = tmp_path / "long.csv"
    long.write_text(
        "date,metric,value,unit\n"
        "2020-03-01,admissions,6,patients\n"  # conflicts with the stored 5
        "2020-03-09,admissions,3,kg\n"  # unknown unit
        "2020-03-09,census,25,beds\n",
        encoding="utf-8",
    )
    report = ingest_counts(long, engine)
    assert report.accepted == 1 and report.quarantined == 2
    assert any("in the store" in r for r in report.reasons)
    assert any("unknown unit 'kg'" in r for r in report.reasons)
    assert load_counts(engine).loc["2020-03-01", "admissions"] == 5


def test_unreadable_files_raise_with_a_fix(tmp_path: Path) -> None:
    engine = open_store(tmp_path / "s.db")
    bad = tmp_path / "bad.csv"
    bad.write_text("day,admissions\n2020-03-01,1\n", encoding="utf-8")
    with pytest.raises(OutbreakIngestError, match="no 'date' column"):
        ingest_counts(bad, engine)
    with pytest.raises(OutbreakIngestError, match="cannot read"):
        ingest_counts(tmp_path / "missing.csv", engine)


def test_twin_calibrates_and_forecasts_the_sample(twin: Twin) -> None:
    ingest(twin, [SAMPLE])
    cal = run_calibration(twin)
    assert cal.converged and cal.days == 120 and cal.n_obs == 119
    # the sample was made with R0 2.7, seed 12, contact factor 0.55 (examples/outbreak)
    for name, truth in (("R0", 2.7), ("seed", 12.0), ("contact_1", 0.55)):
        lo, hi = cal.intervals[name]
        assert lo < truth < hi, name
    again = load_outbreak_calibration(twin.path)
    assert again.estimates == cal.estimates and again.watermark == date(2020, 6, 29)
    fc = run_forecast(twin, 21, runs=300, seed=4)
    same = run_forecast(twin, 21, runs=300, seed=4)
    pd.testing.assert_frame_equal(fc.frame, same.frame)
    census = fc.metric("census")
    assert census.index[0] == date(2020, 6, 30) and len(census) == 21
    assert np.all(census["p5"] <= census["p50"]) and np.all(census["p50"] <= census["p95"])
    icu, vent = fc.metric("icu"), fc.metric("ventilated")
    assert np.all(vent["p50"] <= icu["p50"]) and np.all(icu["p50"] <= census["p50"])
    # the forecast starts from the beds observed in use on the last day (2023, ICU 588, 181
    # ventilated): one day of admissions and discharges later the median is within 5%
    assert census["p50"].iloc[0] == pytest.approx(2023, rel=0.05)
    assert icu["p50"].iloc[0] == pytest.approx(588, rel=0.05)
    assert vent["p50"].iloc[0] == pytest.approx(181, rel=0.08)
    out = fc.to_json()
    assert set(out["metrics"]) == {"admissions", "census", "icu", "ventilated"}
    # the ready file's capacity gives P(over) for census, ICU and ventilators, not admissions
    assert "p_over" in out["metrics"]["census"][0]
    assert "p_over" not in out["metrics"]["admissions"][0]
    # with the beds at day 10's median, about half the runs (the same runs: same seed) need
    # more: at most 50% (ties at the median count as not over), at least 35% with 300 runs
    median = int(census["p50"].iloc[9])
    config = cal.config.model_copy(update={"capacity": Capacity(beds=median)})
    again = forecast_outbreak(replace(cal, config=config), 21, runs=300, seed=4)
    assert 0.35 <= again.metric("census")["p_over"].iloc[9] <= 0.5
    np.testing.assert_array_equal(again.metric("census")["p50"], census["p50"])


def test_forecast_bands_cover_the_truth_ahead() -> None:
    # Fit to the first 80 days of a model run, forecast 20: the truth's census stays inside
    # the 90% bands on most days (a smoke check of the bands' width, not of calibration).
    config = OutbreakConfig(population=500_000, R0=2.2, seed=5, p_hosp=0.03, noise="poisson")
    truth = {**config.fixed(), "R0": 2.4, "seed": 8.0}
    tr = simulate(SEIR_HOSPITAL, truth, 100)
    rng = np.random.default_rng(11)
    adm = rng.poisson(tr.flow("I->H")[0])
    frame = pd.DataFrame({"admissions": adm[:80]}, index=pd.date_range("2021-01-01", periods=80))
    cal = calibrate_outbreak(frame, config, intervals="wald")
    fc = forecast_outbreak(cal, 20, runs=400, seed=2).metric("census")
    actual = tr.compartment("H", "C", "V")[0, 81:101]
    inside = np.mean((fc["p5"].to_numpy() <= actual) & (actual <= fc["p95"].to_numpy()))
    assert inside >= 0.8


def test_link_turns_admissions_into_hospital_arrivals() -> None:
    arrivals = admissions_to_arrivals([24.0, 48.0, 0.0], date(2026, 3, 2))  # a Monday
    assert arrivals.days == 3 and arrivals.hourly.sum() == pytest.approx(72.0)
    assert arrivals.rate_at(datetime(2026, 3, 3, 5, tzinfo=UTC)) == pytest.approx(2.0)
    table = arrivals.hour_of_week(datetime(2026, 3, 2, tzinfo=UTC))
    assert table[:24] == [1.0] * 24 and table[24:48] == [2.0] * 24 and sum(table[48:]) == 0
    shares = [0.0] * 8 + [1.0] * 8 + [0.0] * 8
    daytime = admissions_to_arrivals([16.0], date(2026, 3, 2), shares)
    assert daytime.hourly[8:16].tolist() == [2.0] * 8 and daytime.hourly[:8].sum() == 0
    spec = load_spec(ROOT / "examples" / "hospital.yaml")
    unit = list(spec.stations)[2]
    fed = arrivals.add_to(
        spec,
        datetime(2026, 3, 2, tzinfo=UTC),
        to=unit,
        entity_class=next(iter(spec.classes)),
        form="weekly",
    )
    assert len(fed.arrivals) == len(spec.arrivals) + 1
    stream = fed.arrivals[-1]
    assert stream.to == unit and stream.profile is not None
    with pytest.raises(ValueError, match="finite"):
        admissions_to_arrivals([1.0, -2.0], date(2026, 3, 2))


def test_hospital_arrivals_from_the_twin(twin: Twin) -> None:
    ingest(twin, [SAMPLE])
    run_calibration(twin)  # saved: both forecasts below start from it
    arrivals = hospital_arrivals(twin, 7, runs=200, seed=3)
    fc = run_forecast(twin, 7, runs=200, seed=3)
    assert arrivals.first_day == date(2020, 6, 30)
    assert arrivals.hourly.sum() == pytest.approx(fc.metric("admissions")["mean"].sum())


def test_settings_errors_name_file_field_and_fix(tmp_path: Path) -> None:
    t = init_twin("bare", "outbreak", home=tmp_path)
    with pytest.raises(OutbreakConfigError, match="no 'outbreak:' section") as exc:
        outbreak_config(t)
    assert "population" in exc.value.hint
    (t.path / "twin.yaml").write_text(
        "twinsight: 1\nname: bare\ntemplate: outbreak\nstore: sqlite\n"
        "outbreak: {population: 1000, p_hosp: 1.5}\n",
        encoding="utf-8",
    )
    with pytest.raises(OutbreakConfigError, match=r"twin.yaml: outbreak\.p_hosp"):
        outbreak_config(t)
    with pytest.raises(OutbreakConfigError, match="no 'chime:' section"):
        run_chime(t)


def test_calibration_needs_data(twin: Twin) -> None:
    with pytest.raises(OutbreakCalibrationError, match="ingest"):
        run_calibration(twin)


def test_chime_mode_from_the_ready_file(twin: Twin) -> None:
    result = run_chime(twin)
    assert result.doubling_time == 4.0
    out = result.to_dict()
    assert out["days"][0] == 0 and len(out["census"]["hospitalized"]) == 61


def test_calibration_round_trips_through_json(twin: Twin) -> None:
    ingest(twin, [SAMPLE])
    cal = run_calibration(twin, until=date(2020, 5, 31), save=False)
    back = OutbreakCalibration.from_dict(cal.to_dict())
    assert back.to_dict() == cal.to_dict() and cal.days == 91


def test_census_fit_recovers_the_sample_truth() -> None:
    # The sample's census is the model's own (rounded, no noise): a census fit lands on the
    # truth up to the rounding (R0 2.7, seed 12, contact factor 0.55), k at its Poisson bound.
    data = pd.read_csv(SAMPLE, index_col="date", parse_dates=True)
    config = OutbreakConfig(
        population=800_000, p_hosp=0.025, series=["census"], measures=[{"date": "2020-04-06"}]
    )
    cal = calibrate_outbreak(data, config, intervals="wald")
    assert cal.series == ["census"] and cal.converged
    assert cal.estimates["R0"] == pytest.approx(2.7, rel=0.02)
    assert cal.estimates["contact_1"] == pytest.approx(0.55, rel=0.02)
    assert cal.estimates["seed"] == pytest.approx(12.0, rel=0.1)


def test_a_measure_after_the_data_needs_its_factor() -> None:
    data = pd.read_csv(SAMPLE, index_col="date", parse_dates=True).iloc[:30]
    config = OutbreakConfig(population=800_000, measures=[{"date": "2020-04-06"}])
    with pytest.raises(OutbreakCalibrationError, match="give its contact_factor"):
        calibrate_outbreak(data, config)
    scenario = OutbreakConfig(
        population=800_000, measures=[{"date": "2020-04-06", "contact_factor": 0.5}]
    )
    cal = calibrate_outbreak(data, scenario, intervals="wald")
    assert "contact_1" not in cal.estimates and cal.params()["contact_1"] == 0.5


def test_linked_arrivals_reach_the_flow_engine_on_the_right_days() -> None:
    # A ward that starts on Tuesday 00:00 fed with 24 admissions on Tuesday 3 March 2026 and
    # 48 on Wednesday: over its first 24 hours the reference engine must see 24 arrivals a
    # run on average (100 runs: sd of the mean 0.49; 4 sd = 2; a table shifted by a day would
    # give 48 or ~0). The ward's own stream is negligible (1e-6 an hour).
    ward = FlowSpec.model_validate(
        {
            "name": "ward",
            "time_unit": "hours",
            "horizon": 24,
            "start": {"day": "tue", "time": "00:00"},
            "resources": {"beds": {"capacity": 1000}},
            "stations": {
                "ward": {"resources": {"beds": 1}, "service": {"dist": "exponential", "mean": 48}}
            },
            "arrivals": [{"name": "own", "to": "ward", "rate": 1e-6}],
        }
    )
    link = admissions_to_arrivals([24.0, 48.0, 0, 0, 0, 0, 0], date(2026, 3, 3))
    fed = link.add_to(ward, datetime(2026, 3, 3, tzinfo=UTC), to="ward", entity_class="default")
    result = run_experiment(fed, reps=100, seed=1, engine="reference", horizon=24, warmup=0)
    assert abs(result.summary()["arrivals"].mean - 24.0) < 2.0


def test_auto_noise_picks_the_model_that_fits() -> None:
    # Poisson counts: the negative binomial's extra parameter buys < 1 of log-likelihood, so
    # AIC keeps Poisson; the sample (negative binomial, k = 30) keeps the negative binomial.
    config = OutbreakConfig(population=500_000, seed=5, p_hosp=0.03)
    tr = simulate(SEIR_HOSPITAL, {**config.fixed(), "R0": 2.4, "seed": 8.0}, 90)
    adm = np.random.default_rng(8).poisson(tr.flow("I->H")[0])
    frame = pd.DataFrame({"admissions": adm}, index=pd.date_range("2021-01-01", periods=90))
    cal = calibrate_outbreak(frame, config, intervals="wald")
    assert cal.noise == "poisson" and set(cal.aic) == {"poisson", "negbin"}
    assert "dispersion" not in cal.estimates
    sample = pd.read_csv(SAMPLE, index_col="date", parse_dates=True)
    config = OutbreakConfig(population=800_000, p_hosp=0.025, measures=[{"date": "2020-04-06"}])
    cal = calibrate_outbreak(sample, config, intervals="wald")
    assert cal.noise == "negbin" and cal.aic["negbin"] < cal.aic["poisson"] - 10
