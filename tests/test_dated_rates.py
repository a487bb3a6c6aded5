"""Dated (non-repeating) arrival rates, ``profile.dated``: spec validation, and both engines
against theory.

Theory: a Poisson process with piecewise-constant rate ``lambda(t)`` puts a Poisson number of
arrivals with mean ``int lambda`` in any window. Counts come from the ``arrivals`` KPI of a run
with ``warmup = a`` and ``horizon = b`` (arrivals in ``[a, b)``); a stream's draws do not depend
on the horizon, so every window of one replication sees the same path.

Tolerances (each check can fail): the mean count over ``R`` replications is within 4 standard
errors ``sqrt(mean / R)`` of the integral (a correct engine fails one such check with
probability 6e-5); the dispersion statistic ``(R - 1) s^2 / mean`` lies inside the central
99.9% of chi-square(R - 1) (a count that is not Poisson, e.g. binomial from a fixed pool of
candidates, fails it); a window of zero rate has exactly no arrivals.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import stats

from twinsight.engines import get_engine
from twinsight.spec import FlowSpec, SpecError, validate_dict

ENGINES = ["reference", "fast"]
REPS = 120
#: Rates per hour for each of the first five days; after them the weekly table (1 per hour).
DAILY = [2.0, 5.0, 0.0, 1.0, 10.0]


def _spec(profile: dict[str, Any], horizon: float = 24.0 * 7) -> dict[str, Any]:
    return {
        "twinsight": 1,
        "name": "dated",
        "time_unit": "hours",
        "start": {"day": "wed", "time": "06:00"},
        "horizon": horizon,
        "stations": {"desk": {"service": {"dist": "fixed", "value": 0.01}}},
        "arrivals": [{"name": "walk_in", "to": "desk", "profile": profile}],
    }


def _counts(spec: FlowSpec, engine: str, a: float, b: float, seed: int = 5) -> np.ndarray:
    runs = get_engine(engine).run(spec, seed, range(REPS), horizon=b, warmup=a)
    return np.array([r.kpis["arrivals"] for r in runs])


def _check_poisson(counts: np.ndarray, mean: float, what: str) -> None:
    se = np.sqrt(mean / counts.size)
    assert abs(counts.mean() - mean) < 4 * se, f"{what}: mean {counts.mean():.3f} vs {mean:g}"
    dof = counts.size - 1
    q = dof * counts.var(ddof=1) / mean
    lo, hi = stats.chi2.ppf([0.0005, 0.9995], dof)
    assert lo < q < hi, f"{what}: dispersion {q:.1f} outside ({lo:.1f}, {hi:.1f})"


@pytest.mark.parametrize("engine", ENGINES)
def test_daily_counts_equal_the_integral_of_the_rate(engine: str) -> None:
    spec = validate_dict(
        _spec({"hour_of_day": [1.0] * 24, "dated": {"step": "days", "rates": DAILY}}), "test"
    )
    for day in range(7):
        rate = DAILY[day] if day < len(DAILY) else 1.0  # the weekly table after the dated rates
        counts = _counts(spec, engine, 24.0 * day, 24.0 * (day + 1))
        if rate == 0:
            assert counts.max() == 0, f"{engine}: arrivals on a day of rate 0"
        else:
            _check_poisson(counts, 24.0 * rate, f"{engine}, day {day}")


@pytest.mark.parametrize("engine", ENGINES)
def test_hourly_steps_and_rate_zero_after_the_dated_rates(engine: str) -> None:
    """Step ``hours``, rates per day (``per: days``), no weekly table: rate 0 after them."""
    rates = [240.0, 0.0, 96.0, 480.0]  # per day: 10, 0, 4, 20 per hour
    spec = validate_dict(_spec({"per": "days", "dated": {"rates": rates}}, horizon=48.0), "t")
    for hour, per_day in enumerate(rates):
        counts = _counts(spec, engine, float(hour), hour + 1.0)
        if per_day == 0:
            assert counts.max() == 0
        else:
            _check_poisson(counts, per_day / 24.0, f"{engine}, hour {hour}")
    assert _counts(spec, engine, 4.0, 48.0).max() == 0, "arrivals after the dated rates ended"


def test_the_dated_rates_of_a_minutes_model_step_in_model_time() -> None:
    """time_unit minutes, step days: rate k holds in [1440 k, 1440 (k + 1)) minutes."""
    data = _spec({"per": "days", "dated": {"step": "days", "rates": [1440.0, 0.0]}}, 2880.0)
    data["time_unit"] = "minutes"
    data["stations"]["desk"]["service"]["value"] = 0.5
    spec = validate_dict(data, "t")
    for engine in ENGINES:
        counts = _counts(spec, engine, 0.0, 1440.0)
        _check_poisson(counts, 1440.0, f"{engine}, minutes")
        assert _counts(spec, engine, 1440.0, 2880.0).max() == 0


@pytest.mark.parametrize(
    ("profile", "needle"),
    [
        ({"dated": {"rates": []}}, "rates"),
        ({"dated": {"rates": [0.0, 0.0]}}, "zero"),
        ({"dated": {"rates": [1.0, -1.0]}}, "rates"),
        ({"dated": {"step": "weeks", "rates": [1.0]}}, "step"),
        ({"dated": {"rates": [1.0], "then": 0}}, "then"),
        ({"day_factor": [1.0] * 7, "dated": {"rates": [1.0]}}, "day_factor"),
        ({"per": "hours"}, "dated"),
    ],
)
def test_bad_dated_profiles_are_refused_naming_the_field(
    profile: dict[str, Any], needle: str
) -> None:
    with pytest.raises(SpecError) as info:
        validate_dict(_spec(profile), "t")
    text = "; ".join(f"{p.path}: {p.message}" for p in info.value.problems)
    assert needle in text


@pytest.mark.parametrize(
    ("example", "engine", "arrivals", "time_in_system"),
    [
        ("time_varying", "fast", [4341.0, 4150.0], [1.0, 1.0]),
        ("time_varying", "reference", [4265.0, 4309.0], [1.0, 1.0]),
        ("hospital", "fast", [246.0, 265.0], [3.703562837667018, 4.279345216737105]),
        ("hospital", "reference", [241.0, 263.0], [3.789614485961982, 3.273403485135657]),
    ],
)
def test_specs_without_dated_rates_give_the_numbers_they_gave_before(
    example: str, engine: str, arrivals: list[float], time_in_system: list[float]
) -> None:
    """Pinned from the commit before dated rates existed (seed 11, replications 0 and 1, the
    first 3 days, no warm-up): every one of the 624 KPIs of these two examples and mm1 was
    identical before and after the change; these are a few of them, compared exactly."""
    from pathlib import Path

    from twinsight.spec import load_spec

    spec = load_spec(Path(__file__).resolve().parents[1] / "examples" / f"{example}.yaml")
    horizon = 3 * 1440 / spec.time_unit.minutes_per_unit
    runs = get_engine(engine).run(spec, 11, [0, 1], horizon=horizon, warmup=0)
    assert [r.kpis["arrivals"] for r in runs] == arrivals
    assert [r.kpis["time_in_system_mean"] for r in runs] == time_in_system
