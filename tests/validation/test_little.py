"""Little's law on a non-Markovian network (examples/little.yaml): L = lambda W everywhere.

No closed form exists for this network (priorities, triangular / lognormal / uniform service,
feedback), but Little's law holds per station and for the network. Each check is a ratio of
the two sides computed on the same replication, whose theory value is 1 and whose variance is
tiny (both sides see the same sample path); a 5 % error in any measured wait, queue length,
busy-server count or time in system shows up as a 5 % error in a ratio.
"""

from __future__ import annotations

import numpy as np

from twinsight import theory

from ._support import check, example, simulate

# 10 replications of 10 000 min after 500 min (about 7 000 entities, 14 000 visits per
# replication). Allowance for the finite window: entities present at the window's edges have
# part of their time inside and part outside it, an error of about (number present x mean
# time) / T ~ 2 x 4 / 10 000 = 1e-3 in a ratio; allowance 0.2 %. The Little-on-service check
# uses the theoretical mean service time against the realised service times, a sampling error
# of cv / sqrt(n) ~ 1 % per replication, covered by the interval.
REPS, HORIZON, WARMUP, SEED = 10, 10_500.0, 500.0, 17
MEAN_SERVICE = {"reception": 2.6 / 3.0, "clinic": 2.0, "lab": 1.0}
RESOURCE = {"reception": "clerk", "clinic": "doctor", "lab": "tech"}


def test_little_law(engine: str) -> None:
    spec = example("little")
    for s, m in MEAN_SERVICE.items():  # the spec and this table agree
        for d in [spec.stations[s].service, *spec.stations[s].service_by_class.values()]:
            assert abs(theory.distribution_moments(d)[0] - m) < 1e-12
    r = simulate(spec, engine, REPS, SEED, HORIZON, WARMUP)
    p = r.per_rep
    span = HORIZON - WARMUP
    total_present = np.zeros(REPS)
    for s, mean_s in MEAN_SERVICE.items():
        lam = p[f"served[{s}]"] / span
        check(
            f"{s} Lq / (lambda Wq)",
            theory.little_l(lam, p[f"wait_mean[{s}]"]) / p[f"queue_mean[{s}]"],
            1.0,
            0.002,
            0.01,
        )
        busy = p[f"in_use_mean[{RESOURCE[s]}]"]
        check(f"{s} busy / (lambda E[S])", theory.little_l(lam, mean_s) / busy, 1.0, 0.002, 0.02)
        # nobody is held after service here, so the station holds its queue and its services
        np.testing.assert_allclose(
            p[f"in_station_mean[{s}]"],
            p[f"queue_mean[{s}]"] + busy,
            rtol=1e-9,
            err_msg=f"{s}: in_station != queue + in service",
        )
        total_present += p[f"in_station_mean[{s}]"]
    check(
        "network L / (throughput W)",
        theory.little_l(p["throughput"], p["time_in_system_mean"]) / total_present,
        1.0,
        0.002,
        0.01,
    )
