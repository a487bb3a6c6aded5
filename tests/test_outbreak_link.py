"""Twins feeding twins over the whole forecast horizon: the outbreak twin's admissions as the
hospital twin's arrivals, beyond the 7 days a weekly profile covers (``form="dated"``: a
Poisson stream with the spec's dated rates, ``profile.dated``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from twinsight.experiment import run_experiment
from twinsight.outbreak import admissions_to_arrivals, hospital_arrivals, ingest, run_forecast
from twinsight.outbreak._dated import expected_dated_arrivals
from twinsight.spec import FlowSpec, PoissonArrivals, load_spec
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


def _ward(days: int, unit: str = "hours") -> FlowSpec:
    per_day = {"hours": 24, "days": 1, "minutes": 1440}[unit]
    return FlowSpec.model_validate(
        {
            "name": "ward",
            "time_unit": unit,
            "horizon": days * per_day,
            "start": {"day": "tue", "time": "00:00"},
            "resources": {"beds": {"capacity": 100000}},
            "stations": {
                "ward": {
                    "resources": {"beds": 1},
                    "service": {"dist": "exponential", "mean": 2 * per_day},
                }
            },
            "arrivals": [{"name": "own", "to": "ward", "rate": 1e-9}],
        }
    )


def test_the_spec_expects_the_forecast_admissions_over_the_whole_horizon(twin: Twin) -> None:
    # A 42-day forecast of the sample twin fed to the example hospital (its horizon set to 42
    # days): the expected arrivals the spec implies up to every day d equal the forecast's
    # mean admissions of days 1..d, to 1e-9 (sums of the same floats; nothing is rounded).
    ingest(twin, [SAMPLE])
    days = 42
    link = hospital_arrivals(twin, days, runs=200, seed=3)
    fc = run_forecast(twin, days, runs=200, seed=3)
    daily = fc.metric("admissions")["mean"].to_numpy()
    spec = load_spec(ROOT / "examples" / "hospital.yaml").model_copy(update={"horizon": 24 * days})
    first = link.first_day  # the spec starts on Monday 00:00: feed from the first Monday
    monday = first.toordinal() + (7 - first.weekday()) % 7
    skip = monday - first.toordinal()
    start = datetime.fromordinal(monday).replace(tzinfo=UTC)
    fed = link.add_to(spec, start, to="medical_ward", entity_class="medical")
    stream = fed.arrivals[-1]  # the dated form: hourly rates from model time 0
    assert isinstance(stream, PoissonArrivals) and stream.profile is not None
    assert stream.profile.dated is not None and stream.profile.hour_of_week is None
    assert len(stream.profile.dated.rates) == 24 * days
    for d in range(1, days - skip + 1):
        upto = fed.model_copy(update={"horizon": 24.0 * d})
        want = daily[skip : skip + d].sum()
        assert expected_dated_arrivals(upto) == pytest.approx(want, rel=1e-9, abs=1e-9)
    week = spec.model_copy(update={"horizon": 168, "warmup": 0})
    weekly = link.add_to(week, start, to="medical_ward", entity_class="medical")
    assert len(weekly.arrivals) == len(spec.arrivals) + 1  # up to 7 days: the weekly profile


def test_dated_arrivals_reach_the_flow_engine_on_the_right_days() -> None:
    # 21 days, admissions 0 on week 1, 3 a day on week 2, 1 a day on week 3, with daytime hour
    # shares; both engines' arrivals per week must match. 200 runs; each week's count is
    # Poisson with mean m: the mean of 200 runs has sd sqrt(m / 200); 4 sd bounds. The ward's
    # own stream (1e-9 an hour) is negligible.
    daily = [0.0] * 7 + [3.0] * 7 + [1.0] * 7
    shares = [0.0] * 8 + [1.0] * 12 + [0.0] * 4
    link = admissions_to_arrivals(daily, date(2026, 3, 3), shares)  # a Tuesday
    start = datetime(2026, 3, 3, tzinfo=UTC)
    spec = _ward(21)
    fed = link.add_to(spec, start, to="ward", entity_class="default")
    assert expected_dated_arrivals(fed) == pytest.approx(28.0, rel=1e-12)
    reps = 200
    for engine in ("reference", "fast"):
        totals = np.zeros(reps)
        for week, want in enumerate([0.0, 21.0, 7.0]):
            a, b = 168.0 * week, 168.0 * (week + 1)
            r = run_experiment(fed, reps=reps, seed=7, engine=engine, horizon=b, warmup=a)
            got = r.per_rep["arrivals"]
            totals += got
            assert abs(got.mean() - want) <= 4 * np.sqrt(max(want, 1e-9) / reps) + 1e-12
        # the total is Poisson (no longer binomial from a pool of candidates): variance 28;
        # a sample variance of n runs has a relative sd of about sqrt(2 / (n - 1)): 4 bound it
        assert abs(totals.var(ddof=1) / 28.0 - 1) < 4 * np.sqrt(2 / (reps - 1)), engine
        # nobody arrives at night: 20:00-08:00 of a week-2 day sees no arrival
        night = run_experiment(
            fed, reps=reps, seed=7, engine=engine, horizon=24.0 * 8 + 8, warmup=24.0 * 7 + 20
        )
        assert night.per_rep["arrivals"].max() == 0
    stream = fed.arrivals[-1]
    assert isinstance(stream, PoissonArrivals) and stream.profile is not None
    assert stream.profile.dated is not None
    assert {h % 24 for h, r in enumerate(stream.profile.dated.rates) if r > 0} == set(range(8, 20))


def test_dated_form_in_other_time_units_and_bad_input() -> None:
    link = admissions_to_arrivals([2.0] * 10 + [4.0] * 10, date(2026, 3, 3))
    start = datetime(2026, 3, 3, tzinfo=UTC)
    for unit in ("days", "minutes"):
        fed = link.add_to(_ward(20, unit), start, to="ward", entity_class="default")
        assert expected_dated_arrivals(fed) == pytest.approx(60.0, rel=1e-12)
        half = fed.model_copy(update={"horizon": fed.horizon * 12.5 / 20})  # mid-day 12
        assert expected_dated_arrivals(half) == pytest.approx(20 + 2 * 4 + 2.0, rel=1e-12)
    with pytest.raises(ValueError, match="model time 0"):
        link.add_to(_ward(20), datetime(2026, 3, 4, tzinfo=UTC), to="ward", entity_class="default")
    with pytest.raises(ValueError, match="unknown station"):
        link.add_to(_ward(20), start, to="icu", entity_class="default")
    with pytest.raises(ValueError, match="form"):
        link.add_to(_ward(20), start, to="ward", entity_class="default", form="monthly")
