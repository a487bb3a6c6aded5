"""The forecast machinery against queueing theory, the observed census by hand, drift tests.

Theory: with no bed limits the twin's model is an M_t/G/inf network started from the present, so
the number present at time t is the present patients still there (each independently, with the
conditional survival of their stay) plus a Poisson count of the arrivals since (mean
lambda * integral of S), exactly; see e.g. Eick, Massey & Whitt (1993), "The physics of the
M_t/G/inf queue".
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from twinsight.assimilate import ED, HospitalState, PresentPatient, census_series
from twinsight.connect import RecordSink
from twinsight.forecast import EXIT, HOME, HospitalModel, UnitModel, forecast
from twinsight.forecast._drift import arrival_alarm, band_alarms, los_alarm
from twinsight.govern import Pseudonymiser
from twinsight.store import open_store

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday
EXP2 = {"dist": "exponential", "mean": 2.0}


def _patient(unit: str, elapsed: float, key: str) -> PresentPatient:
    since = T0 - timedelta(hours=elapsed)
    return PresentPatient(key, unit, since, since, elapsed, elapsed)


def _model(rate: float, units: dict[str, UnitModel], ed_next: dict[str, float]) -> HospitalModel:
    return HospitalModel([rate] * 168, ed_next, EXP2, {"dist": "exponential", "mean": 1.0}, units)


def test_ed_census_matches_the_mt_g_inf_law() -> None:
    # lambda = 10/h, ED stays Exp(mean 2 h), 5 patients present: N(t) = Poisson(20 (1 - e^{-t/2}))
    # + Binomial(5, e^{-t/2}). Bins of 0.05 h make a bin's average the census at that instant to
    # within 3 minutes.
    model = _model(10.0, {}, {EXIT: 1.0})
    state = HospitalState(T0, {ED: 5}, [_patient(ED, 1.0, f"p{i}") for i in range(5)])
    fc = forecast(model, state, days=0.5, reps=2000, seed=3, interval=0.05)
    ed = fc.samples[ED]
    for b in (0, 10, 40, 200):
        t = (b + 0.5) * 0.05
        mean = 20 * (1 - math.exp(-t / 2)) + 5 * math.exp(-t / 2)
        se = ed[:, b].std(ddof=1) / math.sqrt(ed.shape[0])
        assert abs(ed[:, b].mean() - mean) < 4 * se + 0.05, (b, ed[:, b].mean(), mean)
    # after 10 hours the census is Poisson(20) to 0.7%: its quantiles within one patient
    q = fc.quantiles(ED)[:, 220]
    want = stats.poisson(20).ppf([0.05, 0.25, 0.5, 0.75, 0.95])
    assert np.all(np.abs(q - want) <= 1.0), (q, want)


def test_ward_census_after_a_week_is_poisson_with_mean_lambda_times_los() -> None:
    # ED -> ward W (no bed limit), ward stays Exp(mean 24 h), lambda = 10/h: census -> Poisson(240)
    # (the start-up term e^{-7} is negligible at 168 h).
    model = _model(10.0, {"W": UnitModel(10**6, {"dist": "exponential", "mean": 24.0})}, {"W": 1})
    state = HospitalState(T0, {}, [])
    fc = forecast(model, state, days=7, reps=600, seed=5, interval=1.0)
    last = fc.samples["W"][:, -1]
    se = last.std(ddof=1) / math.sqrt(len(last))
    assert abs(last.mean() - 240.0) < 4 * se
    # the time-average over the last hour has a little less spread than a point value
    assert 0.8 * math.sqrt(240) < last.std(ddof=1) < 1.1 * math.sqrt(240)


def test_same_arguments_same_numbers_and_rate_uncertainty_widens_the_band() -> None:
    model = _model(10.0, {}, {EXIT: 1.0})
    state = HospitalState(T0, {}, [])
    a = forecast(model, state, days=1, reps=200, seed=9)
    b = forecast(model, state, days=1, reps=200, seed=9)
    assert np.array_equal(a.samples[ED], b.samples[ED])
    wide = forecast(model, state, days=1, reps=200, seed=9, rate_cv=0.3)
    width = a.quantiles(ED)[4] - a.quantiles(ED)[0]
    wider = wide.quantiles(ED)[4] - wide.quantiles(ED)[0]
    assert wider[12:].mean() > 1.2 * width[12:].mean()


def test_ed_patients_are_given_destinations_by_their_time_so_far() -> None:
    # admitted patients stay longer in the ED: the longest-waiting get the admitted classes
    model = HospitalModel(
        [1.0] * 168,
        {EXIT: 0.7, "W": 0.3},
        {"dist": "exponential", "mean": 2.0},
        {"dist": "exponential", "mean": 8.0},
        {"W": UnitModel(10, {"dist": "exponential", "mean": 48.0})},
    )
    classes = model.ed_allocation([0.1, 12.0, 0.2, 9.0, 0.3, 0.1, 0.5, 0.2, 0.4, 0.3])
    assert classes[1] == "to:W" and classes[3] == "to:W"
    assert classes.count(HOME) >= 6
    spec = model.spec(HospitalState(T0, {ED: 2}, [_patient(ED, 12.0, "a")]), 1.0)
    assert spec.initial_state[0].entity_class == "to:W"
    assert spec.start.day == "mon" and spec.start.time == "00:00"


def test_a_model_that_routes_to_an_unknown_unit_is_refused() -> None:
    with pytest.raises(ValueError, match="not a unit"):
        _model(1.0, {}, {"W": 1.0})


def _store_with(tmp_path: Path, events: list[dict[str, object]]) -> object:
    engine = open_store(tmp_path / "s.db")
    with RecordSink(engine, Pseudonymiser(b"sixteen bytes or more!"), "t", "test") as sink:
        for i, e in enumerate(events):
            sink.add({"v": 1, "event_id": f"e{i}", **e})
    return engine


def test_observed_census_by_hand(tmp_path: Path) -> None:
    def at(h: float) -> str:
        return (T0 + timedelta(hours=h)).isoformat()

    engine = _store_with(
        tmp_path,
        [
            {"type": "arrival", "time": at(0.5), "unit": "ED", "patient_id": "a"},
            {"type": "admit", "time": at(2.0), "unit": "W", "from_unit": "ED", "patient_id": "a"},
            {"type": "discharge", "time": at(3.25), "unit": "W", "patient_id": "a"},
            {"type": "arrival", "time": at(1.0), "unit": "ED", "patient_id": "b"},
            {"type": "discharge", "time": at(1.5), "unit": "ED", "patient_id": "b"},
        ],
    )
    got = census_series(engine, T0, T0 + timedelta(hours=4), 1.0)  # type: ignore[arg-type]
    # ED: a in [0.5, 2), b in [1, 1.5); W: a in [2, 3.25)
    assert got["ED"].tolist() == [0.5, 1.5, 0.0, 0.0]
    assert got["W"].tolist() == [0.0, 0.0, 1.0, 0.25]
    assert got.index[0] == pd.Timestamp(T0)


def test_log_rank_drift_false_alarm_rate_and_power() -> None:
    dist = {"dist": "lognormal", "mean": 100.0, "sd": 80.0}
    sigma2 = math.log1p(0.64)
    mu = math.log(100.0) - sigma2 / 2
    rng = np.random.default_rng(1)

    def sample(scale: float) -> tuple[np.ndarray, np.ndarray]:
        true = scale * np.exp(mu + math.sqrt(sigma2) * rng.standard_normal(300))
        follow = rng.uniform(0, 400, 300)  # censored at a random follow-up time
        return np.minimum(true, follow), true <= follow

    # under the calibrated distribution: false alarms at z = 3 have rate 0.27%; in 300 checks
    # 4 or more alarms has probability < 1%
    false = sum(los_alarm("W", dist, *sample(1.0), T0) is not None for _ in range(300))
    assert false <= 3
    hits = sum(los_alarm("W", dist, *sample(1.4), T0) is not None for _ in range(50))
    assert hits >= 45  # stays 40% longer: found nearly always
    alarm = los_alarm("W", dist, *sample(1.4), T0)
    assert alarm is not None and alarm.statistic < 0 and "longer" in alarm.message


def test_arrival_drift() -> None:
    rates = [10.0] * 168
    start, end = T0, T0 + timedelta(days=2)  # 480 expected
    normal = [start + timedelta(hours=float(h)) for h in np.linspace(0, 47.9, 480)]
    assert arrival_alarm(rates, 1.5, normal, start, end) is None
    surge = [start + timedelta(hours=float(h)) for h in np.linspace(0, 47.9, 600)]
    alarm = arrival_alarm(rates, 1.5, surge, start, end)
    assert alarm is not None and alarm.statistic > 3 and "more" in alarm.message


def test_band_alarm_needs_a_run_outside() -> None:
    times = pd.date_range(T0, periods=24, freq="h")
    fc = pd.DataFrame({"time": times, "unit": "W", "p5": 10.0, "p95": 20.0})
    observed = pd.DataFrame({"W": [15.0] * 24}, index=times)
    observed.iloc[3, 0] = 25.0  # one excursion: normal
    assert band_alarms(fc, observed) == []
    observed.iloc[10:17, 0] = 30.0  # seven hours above
    (alarm,) = band_alarms(fc, observed)
    assert alarm.unit == "W" and alarm.statistic == 7.0 and "above" in alarm.message
    assert alarm.since == times[10].to_pydatetime()


def test_varying_a_spec_equals_building_it_with_the_factors() -> None:
    model = HospitalModel(
        [2.0] * 168,
        {EXIT: 0.6, "W": 0.4},
        {"dist": "lognormal", "mean": 3.0, "sd": 2.0},
        {"dist": "gamma", "mean": 5.0, "sd": 3.0},
        {"W": UnitModel(20, {"dist": "weibull", "shape": 1.3, "scale": 90.0})},
        electives={"W": [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0]},
    )
    state = HospitalState(T0, {"W": 1}, [_patient("W", 30.0, "a"), _patient(ED, 2.0, "b")])
    base = model.spec(state, 2.0)
    factors = {"W": 1.1, ED: 0.9}
    built = model.spec(state, 2.0, rate_factor=1.3, los_factors=factors)
    assert model.vary(base, 1.3, factors).model_dump() == built.model_dump()
    assert model.vary(base).model_dump() == base.model_dump()


def test_expected_ghosts_follow_the_posterior_and_free_beds_in_the_model() -> None:
    # stays Exp(mean 24 h); 1% of discharges lost. A patient in for 24 h is a ghost with
    # probability 0.01 / (0.01 + 0.99 e^-1) = 2.7%; one in for 30 days almost surely.
    unit = UnitModel(10, {"dist": "exponential", "mean": 24.0})
    model = HospitalModel([1.0] * 168, {EXIT: 1.0}, EXP2, EXP2, {"W": unit}, lost_share=0.01)
    patients = [_patient("W", 24.0, f"r{i}") for i in range(10)]
    patients += [_patient("W", 720.0, f"g{i}") for i in range(3)]
    state = HospitalState(T0, {"W": 13}, patients)
    p_real = 0.01 / (0.01 + 0.99 * math.exp(-1.0))
    assert model.expected_ghosts(state) == {"W": round(10 * p_real + 3.0)}
    spec = model.spec(state, 1.0)
    assert spec.resources["W_beds"].capacity == 10 + 3
    clean = HospitalModel([1.0] * 168, {EXIT: 1.0}, EXP2, EXP2, {"W": unit})
    assert clean.expected_ghosts(state) == {}


def test_groups_side_by_side_give_the_numbers_of_groups_one_after_the_other() -> None:
    model = _model(6.0, {"W": UnitModel(30, {"dist": "lognormal", "mean": 20.0, "sd": 15.0})},
                   {EXIT: 0.7, "W": 0.3})  # fmt: skip
    model = HospitalModel(
        model.ed_rate_per_hour, model.ed_next, model.ed_exit_los, model.ed_admit_los,
        model.units, los_se={"W": 0.1},
    )  # fmt: skip
    state = HospitalState(T0, {"W": 2}, [_patient("W", 5.0, "a"), _patient("W", 50.0, "b")])
    pooled = forecast(model, state, 1.0, reps=60, seed=4, rate_cv=0.2, groups=6)
    one_by_one = forecast(model, state, 1.0, reps=60, seed=4, rate_cv=0.2, groups=6, pool=False)
    for unit in pooled.samples:
        assert np.array_equal(pooled.samples[unit], one_by_one.samples[unit])
    for name in pooled.per_rep:
        assert np.array_equal(pooled.per_rep[name], one_by_one.per_rep[name], equal_nan=True)
