"""M/G/1 (examples/mg1.yaml: gamma and lognormal service) against Pollaczek-Khinchine."""

from __future__ import annotations

from twinsight import theory

from ._support import check, example, simulate

# 30 replications of 15 000 min after 300 min: 225 000 customers per desk per engine.
# rho = 0.5; relaxation a few tens of minutes (service scv 2.25 at most): 300 min of warm-up
# leave no measurable start-up bias; window edge effects O(W / T) = 2.6 / 15 000. Allowance
# 0.2 % of theory.
# Power: the mean wait has a relative variance of ~75-80 per customer here, so the 99 %
# half-width is ~4.7 %; the guard is 5 % on the wait (a 10 % error, e.g. a service sd off by
# 5 % at the gamma desk, is caught surely). The number present L = lambda (Wq + E[S]) gets 3.5 %.
REPS, HORIZON, WARMUP, SEED = 30, 15_300.0, 300.0, 15


def test_mg1_pollaczek_khinchine(engine: str) -> None:
    spec = example("mg1")
    r = simulate(spec, engine, REPS, SEED, HORIZON, WARMUP)
    for s, sd in (("gamma_desk", 1.5), ("lognormal_desk", 0.75)):
        t = theory.mg1(0.5, 1.0, sd)
        check(
            f"{s} wait_mean", r.per_rep[f"wait_mean[{s}]"], t.wait_mean, 0.002 * t.wait_mean, 0.05
        )
        check(
            f"{s} in_station_mean",
            r.per_rep[f"in_station_mean[{s}]"],
            t.in_system_mean,
            0.002 * t.in_system_mean,
            0.035,
        )
