"""Calibration recovers known parameters with intervals that cover them at the nominal rate.

200 synthetic datasets from a known SEIR model with Poisson counts (the noise model the fit
assumes), each fitted by maximum likelihood with 95% profile-likelihood intervals. The number
of intervals that cover the truth is Binomial(200, 0.95) if the intervals are right; the test
accepts the central 99% of that distribution (181-197 inclusive, from scipy's binomial
quantiles), so a correct method fails with probability about 1% per parameter, while
intervals whose true coverage is 87% fail with probability above 0.9 (Binomial(200, 0.87)
reaches 181 with probability 0.09). Seeds are fixed, so the outcome is deterministic.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binom

from twinsight.compartments import (
    CompartmentFit,
    CompartmentModel,
    Free,
    Observation,
    Transition,
    simulate,
)

SEIR = CompartmentModel(
    ("S", "E", "I", "R"),
    (
        Transition("S", "E", ("R0", "/infectious_days"), force=("I",)),
        Transition("E", "I", ("/incubation_days",)),
        Transition("I", "R", ("/infectious_days",)),
    ),
    initial={"I": "seed"},
)
FIXED = {"population": 200_000.0, "incubation_days": 3.0, "infectious_days": 5.0, "share": 0.02}
TRUTH = {"R0": 2.2, "seed": 20.0}
DATASETS = 200


def test_profile_intervals_cover_at_the_nominal_rate() -> None:
    days = 70
    obs = Observation("cases", flows=("E->I",), scale="share")
    mean = obs.mean(simulate(SEIR, {**FIXED, **TRUTH}, days), {**FIXED, **TRUTH})[0]
    rng = np.random.default_rng(20260101)
    covered = {"R0": 0, "seed": 0}
    estimates = []
    for _ in range(DATASETS):
        data = rng.poisson(mean).astype(float)
        fit = CompartmentFit(
            SEIR,
            FIXED,
            [Free("R0", 1.8, 0.0, 20.0), Free("seed", 8.0, 0.0, 20_000.0)],
            [obs],
            noise="poisson",
            intervals="profile",
        ).fit({"cases": data})
        for name, (lo, hi) in fit.intervals_.items():
            covered[name] += lo <= TRUTH[name] <= hi
        estimates.append(fit.estimates_["R0"])
    lo_ok = int(binom.ppf(0.005, DATASETS, 0.95))
    hi_ok = int(binom.isf(0.005, DATASETS, 0.95))
    assert (lo_ok, hi_ok) == (181, 197)
    for name, n in covered.items():
        assert lo_ok <= n <= hi_ok, f"{name}: {n}/{DATASETS} intervals cover the truth"
    # and the estimator is centred on the truth: mean of 200 estimates within 3 standard errors
    est = np.asarray(estimates)
    assert abs(est.mean() - TRUTH["R0"]) < 3 * est.std(ddof=1) / np.sqrt(DATASETS)
