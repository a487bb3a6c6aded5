"""Three-station Jackson network with feedback (examples/jackson.yaml) against product form."""

from __future__ import annotations

from twinsight import theory

from ._support import check, example, simulate

# 30 replications of 10 000 min after 500 min: 300 000 patients (900 000 station visits) per
# engine. Utilisations ~0.53-0.55: relaxation within tens of minutes, so 500 min of warm-up
# leave no measurable bias; edge effects O(W / T) = 3.8 / 10 000 = 4e-4 relative. Allowance
# 0.2 % of theory.
# Power: network sojourn (relative variance ~3 per patient) and the number present per station
# (~10-20) are held to 3 %; per-station waits (~25-55) to 5 %.
REPS, HORIZON, WARMUP, SEED = 30, 10_500.0, 500.0, 16


def test_jackson_network(engine: str) -> None:
    spec = example("jackson")
    net = theory.jackson_from_spec(spec)
    r = simulate(spec, engine, REPS, SEED, HORIZON, WARMUP)
    b = 0.002
    for i, s in enumerate(spec.station_names()):
        check(
            f"{s} in_station_mean",
            r.per_rep[f"in_station_mean[{s}]"],
            net.in_system_mean[i],
            b * net.in_system_mean[i],
            0.03,
        )
        check(
            f"{s} wait_mean",
            r.per_rep[f"wait_mean[{s}]"],
            net.wait_mean[i],
            b * net.wait_mean[i],
            0.05,
        )
        # visit rates from the traffic equations: served per minute
        check(
            f"{s} visit rate",
            r.per_rep[f"served[{s}]"] / (HORIZON - WARMUP),
            net.arrival_rates[i],
            0.002 * net.arrival_rates[i],
            0.01,
        )
    check(
        "time_in_system_mean",
        r.per_rep["time_in_system_mean"],
        net.network_sojourn,
        b * net.network_sojourn,
        0.03,
    )
    check("throughput", r.per_rep["throughput"], net.external_rate, 0.002, 0.01)
