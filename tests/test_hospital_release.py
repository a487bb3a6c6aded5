"""The hospital model's discharge hours: the engine sends patients home at the calibrated
times of day (``release_hours`` on the units' exits), and the forecast no longer corrects those
units' census after the fact (no double counting).

Theory for the census check: a unit with Poisson admissions at a constant rate (lambda per
hour) and stays much longer than a day, whose discharges happen at clock times with shares
``s(h)``, has in steady state a census at clock time ``h`` above its daily mean by
``24 lambda (h / 24 - F(h))`` less that term's daily mean (``F`` the cumulative shares: net
inflow ``lambda - 24 lambda s(h)`` integrated over the day), which is what
``HospitalModel.discharge_offsets`` computes for the post-hoc correction. The engine-timed
census must show that pattern: per clock hour, the replication mean of (census at hour h minus
the replication's daily mean) within 4 standard errors (over replications) of the theory.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from twinsight.experiment import run_experiment
from twinsight.forecast import EXIT, HospitalModel, UnitModel
from twinsight.forecast._forecast import _discharge_times

pytest.importorskip("twinsight.engines.fast", reason="the fast engine is not built yet")

HOURS = [0.0] * 8 + [1.0, 2.0, 4.0, 6.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0] + [0.5] * 4 + [0.0] * 2
LOS = {"dist": "lognormal", "mean": 96.0, "sd": 50.0}
RATE = 1.0  # ED arrivals per hour, all admitted to W


def _model(hours: list[float] | None) -> HospitalModel:
    units = {"W": UnitModel(1000, LOS, {EXIT: 1.0}, hours)}
    return HospitalModel(
        [RATE] * 168,
        {"W": 1.0},
        {"dist": "exponential", "mean": 2.0},
        {"dist": "exponential", "mean": 0.01},
        units,
        discharge_shares=HOURS,
    )


def test_units_with_discharge_hours_get_release_hours_on_the_way_home() -> None:
    spec = _model(HOURS).spec(None, 3.0)
    release = spec.stations["W"].release_hours
    assert release is not None and release.to == [EXIT]
    assert release.shares == HOURS
    assert _model(None).spec(None, 3.0).stations["W"].release_hours is None
    with pytest.raises(ValueError, match="24 shares"):
        _model(HOURS[:23])


def test_the_census_correction_skips_units_the_engine_times() -> None:
    start = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    raw = np.full((3, 48), 90.0)
    timed = {"W": raw.copy()}
    _discharge_times(_model(HOURS), start, 1.0, timed)
    assert np.array_equal(timed["W"], raw)
    corrected = {"W": raw.copy()}
    _discharge_times(_model(None), start, 1.0, corrected)
    assert np.abs(corrected["W"] - raw).max() > 3.0


def test_engine_timed_census_follows_the_daily_pattern_of_the_correction() -> None:
    model = _model(HOURS)
    days = 16
    spec = model.spec(None, float(days))
    reps = 40
    r = run_experiment(spec, reps, 3, "fast")
    census = r.series["occupancy[W]"][:, 24 * 8 :]  # days 8-15: steady state (stays ~4 days)
    by_hour = census.reshape(reps, -1, 24).mean(axis=1)  # (reps, clock hour); start Mon 00:00
    pattern = by_hour - by_hour.mean(axis=1, keepdims=True)
    mids = np.arange(24) + 0.5
    theory = model.discharge_offsets(mids, 24.0 * RATE)
    se = pattern.std(axis=0, ddof=1) / math.sqrt(reps)
    err = pattern.mean(axis=0) - theory
    assert np.all(np.abs(err) < 4 * se + 0.05), (err.round(2).tolist(), se.round(2).tolist())
    assert theory.max() - theory.min() > 10  # a pattern worth testing: ~14 patients peak to dip


def test_discharge_before_noon_moves_the_same_stays_earlier_on_the_same_day() -> None:
    """With the anchor fixed at the calibrated pattern's, moving a share of afternoon
    discharges to 10:00-12:00 shortens the mean stay by exactly the mean clock time moved,
    ``share * sum_{h >= 12} s(h) (h + 0.5 - 11)`` (natural ends evenly over the clock): the
    paired difference (same seeds) of the mean time in hospital within 4 standard errors."""
    from twinsight.decide._apply import apply_to_model
    from twinsight.decide._scenario import parse_scenario

    base = _model(HOURS)
    scenario = parse_scenario(
        "name: dbn\ninterventions: [{discharge_before_noon: {share: 0.3}}]\n", "dbn.yaml"
    )
    moved = apply_to_model(base, scenario)
    shares = np.array(HOURS) / sum(HOURS)
    saved = 0.3 * sum(shares[h] * (h + 0.5 - 11.0) for h in range(12, 24))
    days, reps = 20, 40
    key = "time_in_system_mean[inpatient]"
    a = run_experiment(base.spec(None, float(days)), reps, 9, "fast").per_rep[key]
    b = run_experiment(moved.spec(None, float(days)), reps, 9, "fast").per_rep[key]
    diff = b - a
    se = diff.std(ddof=1) / math.sqrt(reps)
    assert abs(diff.mean() + saved) < 4 * se, (diff.mean(), -saved, se)
    assert saved > 4 * se, (saved, se)  # ~0.7 h: no change at all would fail the test
