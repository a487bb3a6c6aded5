"""M/M/1 (examples/mm1.yaml, rho = 0.5) against the exact steady state."""

from __future__ import annotations

import math

from twinsight import theory

from ._support import check, example, simulate

# 40 replications of 20 000 min after a 200 min warm-up: 400 000 customers per engine.
# Warm-up: the M/M/1 relaxation time is 1 / (mu (1 - sqrt(rho))^2) = 11.7 min, so 200 min leaves
# an initial-state bias below e^-17 of the start-up gap (< 1e-6 of L). Edge effects of the
# window and the ratio bias of per-replication means are O(W / T) = 2 / 20 000 = 1e-4 relative.
# The bias allowance is therefore 0.2 % of the theory value (ample).
REPS, HORIZON, WARMUP, SEED = 40, 20_200.0, 200.0, 11


def test_mm1(engine: str) -> None:
    spec = example("mm1")
    lam, mu = 0.5, 1.0
    t = theory.mm1(lam, mu)
    r = simulate(spec, engine, REPS, SEED, HORIZON, WARMUP)
    b = 0.002
    check("wait_mean", r.per_rep["wait_mean[counter]"], t.wait_mean, b * t.wait_mean, 0.03)
    check("queue_mean", r.per_rep["queue_mean[counter]"], t.queue_mean, b * t.queue_mean, 0.035)
    check(
        "in_station_mean",
        r.per_rep["in_station_mean[counter]"],
        t.in_system_mean,
        b * t.in_system_mean,
    )
    check(
        "time_in_system_mean", r.per_rep["time_in_system_mean"], t.sojourn_mean, b * t.sojourn_mean
    )
    check("utilisation", r.per_rep["utilisation[server]"], t.utilisation, b * t.utilisation, 0.01)
    # waiting-time distribution: P(Wq <= 1) = 1 - rho e^{-(mu - lambda)} and the 90th percentile
    p1 = 1.0 - (lam / mu) * math.exp(-(mu - lam) * 1.0)
    check("wait_within_target(1)", r.per_rep["wait_within_target[counter]"], p1, 0.002 * p1, 0.01)
    q90 = math.log((lam / mu) / 0.1) / (mu - lam)
    # percentiles: the fast engine's histogram has 0.5 % relative bins; sample-quantile bias is
    # O(1/n) with 10 000 waits per replication: allowance 0.5 %
    check("wait_p90", r.per_rep["wait_p90[counter]"], q90, 0.005 * q90, 0.035)
