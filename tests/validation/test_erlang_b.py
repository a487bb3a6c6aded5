"""M/M/10/10 and M/G/10/10 (examples/erlang_b.yaml) against Erlang B (insensitive)."""

from __future__ import annotations

from twinsight import theory

from ._support import check, example, simulate

# 30 replications of 2 000 min after 100 min: 480 000 calls per trunk per engine.
# A loss system relaxes in a few mean holding times (1 min); 100 min of warm-up leave nothing.
# Edge effects on counts are O(holding time / T) = 1e-3 relative: allowance 0.2 % of theory.
#
# Power: the blocking share balked / (balked + served) is the sharp check (99 % half-width
# ~2.2 % of B with 480 000 calls), held to 3 %. B_hat = 1 - in_station_mean / A (the carried
# load is A (1 - B)) is a second, independent-looking estimate; it is noisier here (the number
# present is strongly autocorrelated), held to 6 %. The number present itself is held to 1 %.
REPS, HORIZON, WARMUP, SEED = 30, 2_100.0, 100.0, 14
A, C = 8.0, 10


def test_erlang_b(engine: str) -> None:
    spec = example("erlang_b")
    t = theory.mmcc(A, 1.0, C)
    r = simulate(spec, engine, REPS, SEED, HORIZON, WARMUP)
    for s, res in (("exp_trunk", "lines_exp"), ("lognormal_trunk", "lines_logn")):
        balked, served = r.per_rep[f"balked[{s}]"], r.per_rep[f"served[{s}]"]
        check(
            f"{s} B from carried load",
            1.0 - r.per_rep[f"in_station_mean[{s}]"] / A,
            t.p_block,
            0.002 * t.p_block,
            0.06,
        )
        check(f"{s} balked share", balked / (balked + served), t.p_block, 0.002 * t.p_block, 0.03)
        check(
            f"{s} in_station_mean",
            r.per_rep[f"in_station_mean[{s}]"],
            t.in_system_mean,
            0.002 * t.in_system_mean,
            0.01,
        )
        check(
            f"{s} utilisation",
            r.per_rep[f"utilisation[{res}]"],
            t.utilisation,
            0.002 * t.utilisation,
            0.01,
        )
        assert float(r.per_rep[f"queue_mean[{s}]"].max()) == 0.0  # no waiting room
