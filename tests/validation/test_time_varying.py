"""Time-varying Poisson arrivals (examples/time_varying.yaml): counts and hourly occupancy
follow the rate profile, with the wall clock offset (start Saturday 06:00) and day factors."""

from __future__ import annotations

import numpy as np
from scipy import stats

from twinsight import theory

from ._support import check, example, simulate

# 8 replications of two weeks (about 23 300 arrivals each). Everything here is exact for the
# non-homogeneous Poisson process started empty at t = 0 (no warm-up, no steady-state
# assumption), so the bias allowance is zero.
REPS, SEED = 8, 18
FAMILY = 0.01  # family-wise error of the 24 hour-of-day comparisons (Bonferroni)


def test_time_varying_arrivals(engine: str) -> None:
    spec = example("time_varying")
    horizon = spec.horizon
    r = simulate(spec, engine, REPS, SEED, horizon, 0.0)
    # total arrivals: Poisson with mean = integral of the rate table (23 311.2); the 99 %
    # half-width is ~0.8 % of it, so an error of 2 % in the rates is caught
    check("arrivals", r.per_rep["arrivals"], theory.expected_arrivals(spec), 0.0, 0.01)

    # hourly occupancy of the 1-hour pure delay = arrivals of the last hour, smoothed
    occ = r.series["occupancy[lounge]"]
    edges = np.arange(0.0, horizon + 1.0)
    expect = theory.delay_occupancy(spec, 1.0, edges)
    assert occ.shape == (REPS, expect.size)
    ratio = occ / expect  # bins are independent unless adjacent; theory differs by day
    # pool each clock hour (bin k starts at wall-clock hour (6 + k) mod 24) over days and reps:
    # bins 24 apart share no arrivals, so the 14 x 8 ratios of an hour are independent
    conf = 1.0 - FAMILY / 24
    worst = 0.0
    for k in range(24):
        x = ratio[:, k::24].ravel()
        n = x.size
        hw = float(stats.t.ppf(0.5 + conf / 2, n - 1)) * float(x.std(ddof=1)) / np.sqrt(n)
        hour = (6 + k) % 24
        print(f"hour {hour:02d}: occupancy / theory = {x.mean():.4f} +- {hw:.4f}")
        assert abs(x.mean() - 1.0) <= hw, f"hour {hour:02d}: ratio {x.mean():.4f} +- {hw:.4f}"
        assert hw <= 0.15, f"hour {hour:02d}: too few arrivals to test ({hw:.3f})"
        worst = max(worst, hw)
    # the whole series: mean ratio over all bins (a level error of 2 % is caught)
    check("occupancy / theory", ratio.mean(axis=1), 1.0, 0.0, 0.02)
    # a profile shifted by one hour would move busy-hour ratios by 10-50 %, far beyond `worst`
    shifted = theory.delay_occupancy(
        spec.model_copy(update={"start": spec.start.model_copy(update={"time": "07:00"})}),
        1.0,
        edges,
    )
    assert np.max(np.abs(shifted / expect - 1.0)) > 3 * worst
