"""M/M/4+M (examples/mmc_abandon.yaml) against Erlang A (exact birth-death chain)."""

from __future__ import annotations

from twinsight import theory

from ._support import check, example, simulate

# 20 replications of 4 000 min after 200 min: about 350 000 calls per engine.
# With abandonment (theta = 0.5) the chain relaxes within a few times 1 / min(mu, theta) = 2 min:
# 200 min of warm-up remove the empty start entirely. The KPIs are ratios of counts over the
# window (abandon_share, waits of the served): edge effects O(W / T) = 0.4 / 4 000 = 1e-4.
# Bias allowance 0.2 % of theory.
REPS, HORIZON, WARMUP, SEED = 20, 4_200.0, 200.0, 13


def test_erlang_a(engine: str) -> None:
    spec = example("mmc_abandon")
    t = theory.erlang_a(4.4, 1.0, 4, 0.5)
    r = simulate(spec, engine, REPS, SEED, HORIZON, WARMUP)
    b = 0.002
    check("abandon_share", r.per_rep["abandon_share"], t.p_abandon, b * t.p_abandon, 0.03)
    check(
        "abandoned/arrivals",
        r.per_rep["abandoned[agents]"] / r.per_rep["arrivals"],
        t.p_abandon,
        b * t.p_abandon,
        0.03,
    )
    check(
        "wait_mean (served)",
        r.per_rep["wait_mean[agents]"],
        t.wait_mean_served,
        b * t.wait_mean_served,
        0.035,
    )
    check("queue_mean", r.per_rep["queue_mean[agents]"], t.queue_mean, b * t.queue_mean, 0.035)
    check(
        "in_station_mean",
        r.per_rep["in_station_mean[agents]"],
        t.in_system_mean,
        b * t.in_system_mean,
        0.02,
    )
    check("utilisation", r.per_rep["utilisation[agent]"], t.utilisation, b * t.utilisation, 0.01)
