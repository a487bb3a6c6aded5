"""Release hours (``stations.<s>.release_hours``): services end at times of day drawn from 24
hourly shares, the mean time at the station unchanged (docs/semantics.md, "Release hours").

Validation on both engines, with stated tolerances:

- the clock hours of departures follow the shares: departures of a Poisson stream through an
  infinite-server station are a Poisson process (independent displacements of Poisson points),
  so the counts in the 24 clock-hour windows, given their total, are multinomial with the
  shares; a chi-square goodness-of-fit test at alpha = 0.001 (a correct engine fails one run in
  a thousand), and hours of share 0 must see no departure at all (exact);
- the mean time in system is unchanged: a fixed 36-hour stay, arrivals at a steady rate (so
  natural ends fall evenly over the clock), re-timed to daytime hours: the mean must be 36 h
  within 4 standard errors of the replication means (a correct engine fails with probability
  ~6e-5; a rule that waited for the next drawn clock time would be ~+12 h off, hundreds of
  standard errors).

The reference-vs-fast comparison is tests/differential/test_release_agree.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError
from scipy import stats

from twinsight.engines._calendar import Calendar
from twinsight.experiment import run_experiment
from twinsight.spec import SpecError, parse_spec

SHARES = [0, 0, 0, 0, 0, 0, 0, 1, 2, 5, 8, 8, 6, 5, 4, 3, 3, 2, 1, 1, 0, 0, 0, 0]
ALPHA = 0.001


def _spec(shares: list[float], extra: str = "", **fields: str) -> str:
    text = f"""
twinsight: 1
name: release hours
time_unit: hours
horizon: {fields.get("horizon", "96")}
warmup: 72
stations:
  ward:
    service: {fields.get("service", "{dist: uniform, min: 30, max: 42}")}
    release_hours:
      shares: {shares}
{extra}
arrivals:
  - name: admissions
    to: ward
    {fields.get("arrivals", "rate: 4")}
"""
    return text


# ----- the spec ---------------------------------------------------------------------------------
def test_release_hours_are_validated() -> None:
    spec = parse_spec(_spec(SHARES))
    hours = spec.stations["ward"].release_hours
    assert hours is not None and sum(hours.normalised()) == pytest.approx(1.0)
    assert hours.applies_to("exit") and hours.to == []
    with pytest.raises(SpecError, match="24"):
        parse_spec(_spec(SHARES[:23]))
    with pytest.raises(SpecError, match="sum to 0"):
        parse_spec(_spec([0] * 24))
    with pytest.raises(SpecError, match="greater than or equal to 0"):
        parse_spec(_spec([-1, *SHARES[1:]]))
    with pytest.raises(SpecError, match="unknown target 'home'"):
        parse_spec(_spec(SHARES, "      to: [home]"))
    both = _spec(SHARES, '    release_window: {from: "10:00", to: "17:00"}')
    with pytest.raises(SpecError, match="not both"):
        parse_spec(both)


def test_release_hours_only_for_the_routes_named() -> None:
    from twinsight.spec import ReleaseHours

    hours = ReleaseHours(shares=SHARES, to=["exit"])
    assert hours.applies_to("exit") and not hours.applies_to("ward")
    with pytest.raises(ValidationError):
        ReleaseHours(shares=SHARES, to=["exit"], extra=1)  # type: ignore[call-arg]


# ----- the rule ---------------------------------------------------------------------------------
def _calendar(start: str = "00:00") -> Calendar:
    text = _spec(SHARES).replace("warmup: 72", f"warmup: 72\nstart: {{day: wed, time: '{start}'}}")
    return Calendar(parse_spec(text))


def test_release_at_draws_the_clock_time_on_the_anchored_day() -> None:
    """Exact: the clock time of the result is the inverse-CDF of ``u1`` (uniform within the
    hour), on the 24 hours centred on the anchor that hold the natural end; over natural ends
    spread evenly over a day and clock times drawn from the shares, the shift averages
    ``E[x] - anchor``: 0 with the default anchor (the shares' mean clock time)."""
    from twinsight.spec import ReleaseHours

    cal = _calendar("07:30")
    cum = [0.0, *np.cumsum(np.array(SHARES) / sum(SHARES)).tolist()]
    default = 60.0 * ReleaseHours(shares=SHARES).anchor_hours()
    ends = 100.0 + (np.arange(240) + 0.5) / 10  # natural ends evenly over one day
    u1s = (np.arange(200) + 0.5) / 200  # clock times from the shares (stratified)
    for anchor, mean_shift in ((default, 0.0), (13 * 60.0, default / 60.0 - 13.0)):
        shifts = []
        for u1 in u1s:
            h = int(np.searchsorted(cum, u1, side="right") - 1)
            x = 60.0 * (h + (u1 - cum[h]) / (cum[h + 1] - cum[h]))
            out = np.array([cal.release_at(0.0, end, cum, anchor, u1) for end in ends])
            clock = (450.0 + out * 60.0) % 1440.0
            gap = np.minimum(np.abs(clock - x), 1440.0 - np.abs(clock - x))
            assert gap.max() < 1e-6
            day_start = (ends * 60.0 + 450.0 - anchor + 720.0) % 1440.0  # minutes into its day
            assert np.all(np.abs((out - ends) * 60.0 + day_start - 720.0) <= 720.0 + 1e-6)
            shifts.append(out - ends)
        assert np.mean(shifts) == pytest.approx(mean_shift, abs=0.01)


def test_release_at_never_ends_before_the_decision() -> None:
    cal = _calendar()
    cum = [0.0, *np.cumsum(np.array(SHARES) / sum(SHARES)).tolist()]
    rng = np.random.default_rng(4)
    for _ in range(2000):
        now = float(rng.uniform(0, 100))
        end = now + float(rng.exponential(10.0))
        t = cal.release_at(now, end, cum, 780.0, float(rng.random()))
        assert now <= t <= end + 48.0


# ----- the engines ------------------------------------------------------------------------------
def _hour_counts(engine: str, reps: int) -> np.ndarray:
    """Departures in each clock hour of day 4 (model hours 72-96; model time 0 is Monday
    00:00), summed over replications: one run per hour window, the same paths (same seed)."""
    spec = parse_spec(_spec(SHARES))
    counts = np.zeros(24)
    for h in range(24):
        r = run_experiment(spec, reps, 11, engine, horizon=73.0 + h, warmup=72.0 + h)
        counts[h] = r.per_rep["departures"].sum()
    return counts


@pytest.mark.parametrize(("engine", "reps"), [("fast", 150), ("reference", 20)])
def test_departure_clock_hours_follow_the_shares(engine: str, reps: int) -> None:
    counts = _hour_counts(engine, reps)
    shares = np.array(SHARES, dtype=float) / sum(SHARES)
    zero = shares == 0
    assert counts[zero].sum() == 0, counts
    assert counts.sum() > 1500  # enough for the test: ~4 departures an hour per replication
    expected = counts.sum() * shares[~zero]
    p = stats.chisquare(counts[~zero], expected).pvalue
    assert p > ALPHA, (p, counts.tolist())
    # and it is not the flat pattern of the stays alone (the test has power)
    assert stats.chisquare(counts, np.full(24, counts.sum() / 24)).pvalue < 1e-12


@pytest.mark.parametrize(("engine", "reps"), [("fast", 60), ("reference", 12)])
def test_mean_time_in_system_is_unchanged(engine: str, reps: int) -> None:
    text = _spec(SHARES, horizon="600", service="{dist: fixed, value: 36}")
    r = run_experiment(parse_spec(text), reps, 5, engine)
    values = r.per_rep["time_in_system_mean[default]"]
    # the stays did move (natural ends at every hour, night hours have share 0)
    assert r.per_rep["time_in_system_p50[default]"].min() != 36.0
    se = values.std(ddof=1) / math.sqrt(values.size)
    assert abs(values.mean() - 36.0) < 4 * se, (values.mean(), se)
