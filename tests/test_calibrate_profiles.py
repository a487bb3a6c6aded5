"""Arrival rates by hour of week (coverage, dispersion) and the discharge hour pattern."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from twinsight.calibrate import ArrivalRates, DischargeHours

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
#: A known weekly profile (arrivals per hour): a daytime peak, busier Mondays, quiet nights.
HOUR = np.array([0.5, 0.4, 0.35, 0.3, 0.3, 0.35, 0.5, 0.8, 1.1, 1.4, 1.5, 1.5,
                 1.45, 1.4, 1.35, 1.3, 1.3, 1.25, 1.2, 1.1, 1.0, 0.9, 0.75, 0.6])  # fmt: skip
DAY = np.array([1.15, 1.05, 1.0, 1.0, 1.0, 0.92, 0.88])
PROFILE = 2.5 * np.outer(DAY, HOUR).ravel()  # index = hour of week, Monday 00:00 first


def _arrivals(
    rng: np.random.Generator, days: int, daily_factor: np.ndarray | None = None
) -> pd.DatetimeIndex:
    """A non-homogeneous Poisson process, piecewise constant by hour (times uniform within)."""
    hours = np.arange(days * 24)
    mean = PROFILE[hours % 168] * (1.0 if daily_factor is None else daily_factor[hours // 24])
    counts = rng.poisson(mean)
    at = np.repeat(hours, counts) + rng.random(int(counts.sum()))
    return pd.DatetimeIndex(pd.Timestamp(START) + pd.to_timedelta(at, unit="h"))


def test_interval_coverage_of_the_hour_of_week_rates() -> None:
    # Poisson data: the 90% intervals of the 168 hours cover the truth for 90% of them,
    # within the binomial 99% margin 2.576 * sqrt(0.9 * 0.1 / 168) = 0.060 (per seed; the
    # Garwood interval is slightly conservative, so coverage sits a little above 0.9).
    margin = 2.576 * math.sqrt(0.09 / 168)
    for seed in range(3):
        rng = np.random.default_rng(seed)
        fit = ArrivalRates(window_days=56, level=0.9).fit(
            _arrivals(rng, 56), until=START + timedelta(days=56)
        )
        covered = float(np.mean((fit.lower_ <= PROFILE) & (fit.upper_ >= PROFILE)))
        assert abs(covered - 0.9) <= margin, f"seed {seed}: coverage {covered:.3f}"
        assert fit.rate_per_hour_.shape == (168,)
        assert fit.n_days_ == 56
        assert fit.exposure_hours_.tolist() == [8.0] * 168
        assert fit.per_day == pytest.approx(PROFILE.sum() / 7, rel=0.03)


def test_daily_dispersion_is_one_for_poisson_and_large_for_a_gamma_mixture() -> None:
    poisson, mixed = [], []
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        until = START + timedelta(days=56)
        poisson.append(ArrivalRates().fit(_arrivals(rng, 56), until=until).daily_dispersion_)
        # each day's intensity x Gamma(shape 10, mean 1): var of a total = m + m^2 / 10,
        # so the dispersion is about 1 + m / 10 = 1 + 60 / 10 = 7
        factor = rng.gamma(10.0, 0.1, size=56)
        fit = ArrivalRates().fit(_arrivals(rng, 56, factor), until=until)
        mixed.append(fit.daily_dispersion_)
        assert fit.overdispersion_ == fit.daily_dispersion_  # the intervals are widened
    # the Poisson estimate has sd ~ sqrt(2 / 49) = 0.2 per fit: mean of 20 within 4 sd of 1
    assert abs(np.mean(poisson) - 1.0) < 4 * 0.2 / math.sqrt(20)
    assert 4.0 < np.mean(mixed) < 10.0


def test_window_and_partial_hours() -> None:
    rng = np.random.default_rng(9)
    times = _arrivals(rng, 70)
    until = START + timedelta(days=70, minutes=-30)
    fit = ArrivalRates(window_days=14).fit(times, until=until)
    assert fit.start_ == until - timedelta(days=14)
    assert fit.exposure_hours_.sum() == pytest.approx(14 * 24)
    assert fit.n_ == int(((times >= fit.start_) & (times <= until)).sum())
    assert ArrivalRates.from_dict(fit.to_dict()).to_dict() == fit.to_dict()
    with pytest.raises(ValueError, match="naive"):
        ArrivalRates().fit([datetime(2026, 1, 5, 8)])


def test_discharge_window_and_shares() -> None:
    rng = np.random.default_rng(1)
    # clock times: normal around 13:00 with sd 2 h -> a central 90% of 09:43-16:17
    clock = rng.normal(13.0, 2.0, size=20_000)
    days = rng.integers(0, 60, size=20_000)
    times = pd.DatetimeIndex(pd.Timestamp(START) + pd.to_timedelta(days * 24 + clock, unit="h"))
    fit = DischargeHours().fit(times)
    assert fit.shares_.sum() == pytest.approx(1.0)
    assert int(np.argmax(fit.shares_)) in (12, 13)
    lo, hi = fit.window_
    assert lo in ("09:42", "09:43", "09:44", "09:45") and hi in ("16:15", "16:16", "16:17", "16:18")
    assert fit.coverage_ == pytest.approx(0.9, abs=0.005)
    # a night-time pattern: the window runs across midnight
    night = pd.DatetimeIndex(
        pd.Timestamp(START)
        + pd.to_timedelta(days * 24 + 24 + rng.normal(0.0, 1.0, 20_000), unit="h")
    )
    lo, hi = DischargeHours().fit(night).window_
    assert lo.startswith("22:") and hi.startswith("01:")
    assert DischargeHours.from_dict(fit.to_dict()).to_dict() == fit.to_dict()
