"""Twins feeding twins over the whole forecast horizon: the outbreak twin's admissions as the
hospital twin's arrivals, beyond the 7 days a weekly profile covers (``form="dated"``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from twinsight.experiment import run_experiment
from twinsight.outbreak import admissions_to_arrivals, hospital_arrivals, ingest, run_forecast
from twinsight.outbreak._dated import expected_dated_arrivals
from twinsight.spec import FlowSpec, load_spec
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
    assert fed.arrivals == spec.arrivals  # no weekly stream: the dated form
    for d in range(1, days - skip + 1):
        upto = fed.model_copy(update={"horizon": 24.0 * d})
        want = daily[skip : skip + d].sum()
        assert expected_dated_arrivals(upto) == pytest.approx(want, rel=1e-9, abs=1e-9)
    week = spec.model_copy(update={"horizon": 168, "warmup": 0})
    weekly = link.add_to(week, start, to="medical_ward", entity_class="medical")
    assert len(weekly.arrivals) == len(spec.arrivals) + 1  # up to 7 days: the weekly profile


def test_dated_arrivals_reach_the_flow_engine_on_the_right_days() -> None:
    # 21 days, admissions 0 on week 1, 3 a day on week 2, 1 a day on week 3, with daytime hour
    # shares; the reference engine's arrivals at the ward (served at the hour stations) per
    # week and per clock hour must match. 200 runs; each week's count is binomial with mean m
    # and variance m (1 - q) <= m: the mean of 200 runs has sd <= sqrt(m / 200); 4 sd bounds.
    daily = [0.0] * 7 + [3.0] * 7 + [1.0] * 7
    shares = [0.0] * 8 + [1.0] * 12 + [0.0] * 4
    link = admissions_to_arrivals(daily, date(2026, 3, 3), shares)  # a Tuesday
    start = datetime(2026, 3, 3, tzinfo=UTC)
    spec = _ward(21)
    fed = link.add_to(spec, start, to="ward", entity_class="default", draws=5)
    assert expected_dated_arrivals(fed) == pytest.approx(28.0, rel=1e-12)
    reps = 200
    counts = np.zeros((3, reps))
    for week in range(3):
        upto = fed.model_copy(update={"horizon": 168.0 * (week + 1)})
        r = run_experiment(upto, reps=reps, seed=7, engine="reference", warmup=0)
        counts[week] = sum(v for k, v in r.per_rep.items() if k.startswith("served[outbreak:h"))
    weekly = np.diff(np.vstack([np.zeros(reps), counts]), axis=0).mean(axis=1)
    for got, want in zip(weekly, [0.0, 21.0, 7.0], strict=True):
        assert abs(got - want) <= 4 * np.sqrt(max(want, 1e-9) / reps) + 1e-12
    # a day's count is binomial(N_k, L_k / N_k): the total's variance is sum L_k (1 - L_k / N_k)
    # = 7 x 3 x 0.8 + 7 x 1 x 0.8 = 22.4 (Poisson's would be 28); a sample variance of n runs
    # has a relative sd of sqrt(2 / (n - 1)): 4 of them bound it
    total = counts[-1]
    assert abs(total.var(ddof=1) / 22.4 - 1) < 4 * np.sqrt(2 / (reps - 1))
    # the fast engine places the same candidates: the same mean and variance
    fast = run_experiment(fed, reps=reps, seed=7, engine="fast", warmup=0)
    got = sum(v for k, v in fast.per_rep.items() if k.startswith("served[outbreak:h"))
    assert abs(got.mean() - 28.0) <= 4 * np.sqrt(22.4 / reps)
    assert abs(got.var(ddof=1) / 22.4 - 1) < 4 * np.sqrt(2 / (reps - 1))
    # nobody arrives at night: the hour stations used are 08..19 only
    assert {s for s in fed.stations if ":hour" in s} == {f"outbreak:hour{h:02d}" for h in
                                                         range(8, 20)}  # fmt: skip


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
