"""The fast (numba) engine: reproducibility, KPI names, queueing theory, hand-computed cases.

Statistical checks use replication means with 99% t intervals (or several standard errors);
deterministic specs (scheduled arrivals, fixed service times) are compared with numbers worked
out by hand from docs/semantics.md.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from twinsight.engines import kpi_names
from twinsight.engines._calendar import Calendar
from twinsight.engines.fast import FastEngine
from twinsight.engines.fast import _layout as L
from twinsight.engines.fast._compile import compile_model, initial_entities, rng_states
from twinsight.engines.fast._kernel import _in_window, _window_opens, simulate
from twinsight.engines.fast._random import KIND, draw, next_u64
from twinsight.engines.fast._results import hist_percentiles
from twinsight.engines.fast._state import HIST_BINS, hist_add
from twinsight.spec import TimeWindow, load_spec, lognormal_params, parse_spec

ENGINE = FastEngine()


def run(
    text: str, reps: list[int] | None = None, seed: int = 1, **kw: float
) -> list[dict[str, float]]:
    spec = parse_spec(text)
    return [r.kpis for r in ENGINE.run(spec, seed, reps or [0], **kw)]


def ci99(values: list[float]) -> tuple[float, float]:
    """(mean, half width) of a 99% t interval over replications."""
    x = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.995, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return float(x.mean()), float(half)


# ----- random numbers --------------------------------------------------------------------------
def test_xoshiro256starstar_matches_reference_algorithm() -> None:
    mask = (1 << 64) - 1

    def rotl(x: int, k: int) -> int:
        return ((x << k) | (x >> (64 - k))) & mask

    s = [0x0123456789ABCDEF, 0xFEDCBA9876543210, 0x0F0F0F0F0F0F0F0F, 0x1]
    rng = np.array([s], dtype=np.uint64)
    for _ in range(50):
        expected = (rotl((s[1] * 5) & mask, 7) * 9) & mask
        t = (s[1] << 17) & mask
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        assert int(next_u64(rng, 0)) == expected


@pytest.mark.parametrize(
    ("kind", "params", "mean", "sd"),
    [
        ("exponential", [2.0], 2.0, 2.0),
        ("lognormal", list(lognormal_params(3.0, 1.5)), 3.0, 1.5),
        ("gamma", [4.0, 0.5], 2.0, 1.0),  # shape >= 1
        ("gamma", [0.25, 8.0], 2.0, 4.0),  # shape < 1: boosted
        ("weibull", [1.5, 2.0], 2.0 * math.gamma(1 + 1 / 1.5), None),
        ("triangular", [1.0, 2.0, 6.0], 3.0, math.sqrt((1 + 4 + 36 - 2 - 6 - 12) / 18)),
        ("uniform", [1.0, 3.0], 2.0, math.sqrt(4 / 12)),
        ("fixed", [1.25], 1.25, 0.0),
    ],
)
def test_distribution_means(kind: str, params: list[float], mean: float, sd: float | None) -> None:
    mf = np.zeros(8)
    mf[: len(params)] = params
    rng = np.array([[11, 22, 33, 44]], dtype=np.uint64)
    x = np.array([draw(rng, 0, KIND[kind], mf, 0) for _ in range(40_000)])
    se = x.std() / math.sqrt(len(x))
    assert abs(x.mean() - mean) <= 5 * se + 1e-12
    assert x.min() >= 0.0
    if sd is not None and sd > 0:
        assert x.std() == pytest.approx(sd, rel=0.05)


def test_truncated_normal_and_empirical() -> None:
    rng = np.array([[5, 6, 7, 8]], dtype=np.uint64)
    mf = np.array([1.0, 1.0, 0.5, 0.0])
    x = np.array([draw(rng, 0, KIND["normal"], mf, 0) for _ in range(20_000)])
    assert x.min() >= 0.5
    assert x.mean() == pytest.approx(
        stats.truncnorm(a=-0.5, b=np.inf, loc=1, scale=1).mean(), abs=0.02
    )
    mf = np.array([4.0, 3.0, 0.0, 0.0, 1.0, 2.0, 7.0])  # values at mf[4:7]
    y = np.array([draw(rng, 0, KIND["empirical"], mf, 0) for _ in range(30_000)])
    assert set(np.unique(y)) == {1.0, 2.0, 7.0}
    assert y.mean() == pytest.approx(10 / 3, abs=0.1)


def test_histogram_percentiles_close_to_exact() -> None:
    rng = np.random.default_rng(3)
    x = np.concatenate([np.zeros(300), rng.lognormal(0.0, 1.0, 3000)])
    hist = np.zeros((1, HIST_BINS), dtype=np.int64)
    si = np.zeros(L.N_SHEAD, dtype=np.int64)
    sf = np.array([np.inf, -np.inf])
    si[L.SF_H] = 0
    for v in x:
        hist_add(hist, si, sf, 0, v)
    assert sf[0] == 0.0 and sf[1] == x.max()
    qs = [10.0, 50.0, 90.0, 97.5, 99.99]
    got = hist_percentiles(hist[0], qs, sf[0], sf[1])
    for q, g in zip(qs, got, strict=True):
        assert g == pytest.approx(np.percentile(x, q), rel=0.006, abs=1e-9)
    # a constant comes out exactly
    hist[:] = 0
    sf[:] = [np.inf, -np.inf]
    for _ in range(5):
        hist_add(hist, si, sf, 0, 1.0)
    assert hist_percentiles(hist[0], [50.0, 95.0], sf[0], sf[1]) == [1.0, 1.0]


def test_window_matches_calendar() -> None:
    spec = parse_spec(
        HAND.replace('start: {day: mon, time: "00:00"}', 'start: {day: wed, time: "07:15"}')
    )
    model = compile_model(spec, 100.0, 0.0)
    cal = Calendar(spec)
    window = TimeWindow.model_validate({"from": "22:00", "to": "06:30"})
    mf = model.mf.copy()
    mi = model.mi
    mf[mi[L.F_WIN_A]], mf[mi[L.F_WIN_B]] = window.minutes()
    for t in np.linspace(0.0, 200.0, 997):
        assert _in_window(mi, mf, 0, t) == cal.in_window(t, window)
        assert _window_opens(mi, mf, 0, t) == cal.window_opens(t, window) or cal.in_window(
            t, window
        )


# ----- engine contract -------------------------------------------------------------------------
def test_kpi_names_series_and_reproducibility(examples_dir: Path) -> None:
    spec = load_spec(f"{examples_dir}/hospital.yaml")
    a = ENGINE.run(spec, 7, [0, 1, 2], horizon=336.0, warmup=48.0)
    b = FastEngine(workers=1).run(spec, 7, [2], horizon=336.0, warmup=48.0)
    c = ENGINE.run(spec, 7, [0, 1, 2], horizon=336.0, warmup=48.0)
    assert list(a[0].kpis) == kpi_names(spec)
    assert a[2].kpis == b[0].kpis  # rep 2 alone or with others
    for x, y in zip(a, c, strict=True):
        assert x.kpis == y.kpis  # same seed, same numbers
        for key in x.series:
            assert np.array_equal(x.series[key], y.series[key])
    assert a[0].kpis != a[1].kpis
    assert sorted(a[0].series) == sorted(
        f"{kind}[{s}]" for s in spec.station_names() for kind in ("occupancy", "queue")
    )
    assert a[0].series["occupancy[triage]"].shape == (14,)
    d = ENGINE.run(spec, 8, [0], horizon=336.0, warmup=48.0)
    assert d[0].kpis != a[0].kpis


def test_mmc_matches_erlang_c(examples_dir: Path) -> None:
    spec = load_spec(f"{examples_dir}/mmc.yaml")
    res = [r.kpis for r in ENGINE.run(spec, 2024, list(range(20)))]
    lam, mu, c = 2.4, 1.0, 3
    p_wait, wq = 0.6472, 1.0787  # Erlang C
    for key, theory in [
        ("wait_mean", wq),
        ("time_in_system_mean", wq + 1 / mu),
        ("queue_mean[counter]", lam * wq),
        ("utilisation[server]", lam / (c * mu)),
        ("wait_p90[counter]", math.log(p_wait / 0.1) / (c * mu - lam)),
        ("wait_p50[counter]", math.log(p_wait / 0.5) / (c * mu - lam)),
    ]:
        mean, half = ci99([r[key] for r in res])
        assert abs(mean - theory) <= half + 0.005 * theory, (key, mean, half, theory)
    for r in res:
        # Little's law within each replication (boundary effects only)
        assert r["queue_mean[counter]"] == pytest.approx(r["throughput"] * r["wait_mean"], rel=0.02)
        assert r["in_station_mean[counter]"] == pytest.approx(
            r["throughput"] * r["time_in_system_mean"], rel=0.02
        )
        assert r["in_use_mean[server]"] == pytest.approx(3 * r["utilisation[server]"])


MM1_PATIENCE = """
name: M/M/1 with reneging and a finite queue
time_unit: minutes
horizon: 5000
resources: {server: {capacity: 1}}
classes: {a: {priority: 1}, b: {priority: 2}}
stations:
  s1:
    resources: {server: 1}
    service: {dist: exponential, mean: 1.0}
    patience: {dist: exponential, mean: 3.0}
    queue_capacity: 6
    discipline: fifo
    routing_by_class:
      a: [{to: s2, p: 0.5, becomes: b}, {to: exit, p: 0.5}]
  s2:
    service: {dist: gamma, mean: 2.0, sd: 1.0}
arrivals:
  - {name: in, to: s1, rate: 1.1, class: {a: 0.5, b: 0.5}, batch: {values: [1, 2], weights: [3, 1]}}
"""


def test_conservation_and_class_change() -> None:
    spec = parse_spec(MM1_PATIENCE)
    for rep in range(3):
        model = compile_model(spec, spec.horizon, 0.0)
        si, _, _, _ = simulate(model, rng_states(spec, 5, rep), initial_entities(spec, 5, rep))
        k = ENGINE.run(spec, 5, [rep], warmup=0.0)[0].kpis
        assert k["arrivals"] == k["departures"] + k["abandoned"] + k["balked"] + si[L.NLIVE]
        assert k["abandoned"] > 0 and k["balked"] > 0
        assert k["abandoned[a]"] + k["abandoned[b]"] == k["abandoned"] == k["abandoned[s1]"]
        assert k["departures[a]"] + k["departures[b]"] == k["departures"]
        # fifo: half the served are class a, half of which become b on the way to s2, a pure
        # delay (no waits)
        assert k["served[s2]"] == pytest.approx(k["served[s1]"] / 4, rel=0.15)
        assert k["wait_mean[s2]"] == 0.0 and k["queue_mean[s2]"] == 0.0
    # batches (mean size 1.25) arriving at rate 1.1
    arrivals = [r["arrivals"] for r in run(MM1_PATIENCE, list(range(5)))]
    mean, half = ci99(arrivals)
    assert abs(mean - 1.1 * 1.25 * 5000) <= half + 10


NHPP = """
name: profile
time_unit: hours
horizon: 1008
start: {day: wed, time: "06:00"}
classes: {x: {}, y: {}}
stations:
  s: {service: {dist: fixed, value: 0.5}}
arrivals:
  - name: p
    to: s
    class: {x: 0.25, y: 0.75}
    profile:
      per: days
      hour_of_day: [0, 0, 0, 0, 0, 0, 0, 0, 48, 48, 48, 48,
                    96, 96, 96, 96, 24, 24, 24, 24, 0, 0, 0, 0]
      day_factor: [1, 1, 1, 1, 1, 0.5, 0]
kpis: {interval: 1}
"""


def test_nonhomogeneous_poisson_follows_the_profile() -> None:
    spec = parse_spec(NHPP)
    res = ENGINE.run(spec, 3, [0, 1])
    # per hour (rates are per day): 2 in 08-12, 4 in 12-16, 1 in 16-20; half on saturday, none
    # on sunday: 28 a weekday, 154 a week, six weeks per replication
    n = sum(r.kpis["arrivals"] for r in res)
    expected = 2 * 6 * 5.5 * 28
    assert abs(n - expected) <= 4 * math.sqrt(expected)
    x = sum(r.kpis["departures[x]"] for r in res) + sum(r.kpis["departures[y]"] for r in res)
    assert abs(sum(r.kpis["departures[x]"] for r in res) - 0.25 * x) <= 4 * math.sqrt(x * 0.1875)
    occupancy = res[0].series["occupancy[s]"]
    assert occupancy.shape == (1008,)
    wall_hour = (6 + np.arange(1008)) % 24
    weekday = (2 + (6 + np.arange(1008)) // 24) % 7
    assert np.all(occupancy[(wall_hour < 8) | (wall_hour > 20) | (weekday == 6)] == 0.0)
    assert occupancy[(wall_hour == 13) & (weekday == 1)].mean() == pytest.approx(2.0, rel=0.25)


# ----- hand-computed deterministic cases ----------------------------------------------------------
HAND = """
name: hand
time_unit: hours
horizon: 48
start: {day: mon, time: "00:00"}
resources: {desk: {capacity: 1}}
stations:
  s:
    resources: {desk: 1}
    service: {dist: fixed, value: 1.0}
    wait_target: 1.0
arrivals:
  - {name: batch, kind: scheduled, to: s, slots: [{day: daily, at: "08:00", count: 3}]}
kpis: {interval: 12, percentiles: [50]}
"""


def test_scheduled_fifo_by_hand() -> None:
    (k,) = run(HAND)
    assert k["arrivals"] == 6 and k["served[s]"] == 6 and k["departures"] == 6
    assert k["wait_mean[s]"] == pytest.approx(1.0)  # waits 0, 1, 2 each day
    assert k["wait_within_target[s]"] == pytest.approx(4 / 6)
    assert k["time_in_system_mean"] == pytest.approx(2.0)
    assert k["queue_mean[s]"] == pytest.approx(6 / 48)
    assert k["in_station_mean[s]"] == pytest.approx(12 / 48)
    assert k["utilisation[desk]"] == pytest.approx(6 / 48)
    assert k["held_mean[s]"] == 0.0
    assert k["wait_p50[s]"] == pytest.approx(1.0, rel=0.006)
    assert k["abandon_share"] == 0.0
    (w,) = run(HAND, warmup=24.0)  # only the second day counts
    assert w["served[s]"] == 3 and w["queue_mean[s]"] == pytest.approx(3 / 24)
    spec = parse_spec(HAND)
    (r,) = ENGINE.run(spec, 1, [0], horizon=40.0)
    assert r.series["occupancy[s]"] == pytest.approx([0.5, 0.0, 0.5, 0.0])  # last bin 36-40


def test_slot_at_time_zero_arrives_and_at_horizon_does_not() -> None:
    text = HAND.replace('at: "08:00"', 'at: "00:00"')
    (k,) = run(text)
    assert k["arrivals"] == 6  # t = 0 and t = 24; t = 48 is the horizon
    (k,) = run(text, horizon=47.5)
    assert k["arrivals"] == 6


def test_capacity_drop_is_over_committed_not_preempted() -> None:
    text = """
    name: shifts
    time_unit: minutes
    horizon: 300
    resources:
      nurse:
        schedule: {repeat: day, steps: [{at: "00:00", capacity: 2}, {at: "01:00", capacity: 1}]}
    stations:
      s: {resources: {nurse: 1}, service: {dist: fixed, value: 60}}
    arrivals:
      - name: a
        kind: scheduled
        to: s
        slots: [{day: mon, at: "00:30", count: 2}, {day: mon, at: "01:00"}]
    """
    (k,) = run(text)
    # both start at 0:30 and keep their nurse after 1:00; the third starts at 1:30 when the
    # capacity (1) exceeds the use (0 after both release)
    assert k["wait_mean[s]"] == pytest.approx(30 / 3)
    # in use: 2 over [30, 90), 1 over [90, 150); capacity 2 over [0, 60), then 1
    assert k["in_use_mean[nurse]"] == pytest.approx(180 / 300)
    assert k["utilisation[nurse]"] == pytest.approx(180 / (120 + 240))


def test_release_window_holds_the_entity() -> None:
    text = """
    name: ward
    time_unit: hours
    horizon: 72
    resources: {bed: {capacity: 5}}
    stations:
      w:
        resources: {bed: 1}
        service: {dist: fixed, value: 5.0}
        release_window: {from: "10:00", to: "17:00"}
    arrivals:
      - {name: a, kind: scheduled, to: w, slots: [{day: mon, at: "13:00"}, {day: tue, at: "08:00"}]}
    """
    (k,) = run(text)
    # first: done 18:00, leaves 10:00 next day (held 16); second: done 13:00 inside (held 0)
    assert k["held_mean[w]"] == pytest.approx(8.0)
    assert k["time_in_system_mean"] == pytest.approx((21.0 + 5.0) / 2)
    assert k["in_use_mean[bed]"] == pytest.approx((21.0 + 5.0) / 72)


BLOCKING = """
name: boarding
time_unit: hours
horizon: 24
resources:
  cubicle: {capacity: 2}
  doctor: {capacity: 1}
  bed: {capacity: 1}
stations:
  ed:
    resources: {cubicle: 1, doctor: 1}
    service: {dist: fixed, value: 1.0}
    blocking: [cubicle]
    routing: [{to: ward, p: 1.0}]
  ward:
    resources: {bed: 1}
    queue_capacity: 0
    service: {dist: fixed, value: 10.0}
arrivals:
  - name: a
    kind: scheduled
    to: ed
    slots: [{day: mon, at: "00:00", count: 2}, {day: mon, at: "02:30"}]
"""


def test_blocking_keeps_only_the_listed_resources() -> None:
    (k,) = run(BLOCKING)
    # e1: ed 0-1, ward 1-11. e2: waits for the doctor, ed 1-2, blocked 2-11 keeping a cubicle,
    # ward 11-21. e3: arrives 2:30, the doctor is free (e2 released it): ed 2:30-3:30, blocked
    # until 21, ward 21-31.
    assert k["served[ed]"] == 3 and k["served[ward]"] == 2
    assert k["wait_mean[ed]"] == pytest.approx(1 / 3)
    assert k["wait_mean[ward]"] == 0.0
    assert k["held_mean[ed]"] == pytest.approx((0 + 9 + 17.5) / 3)
    assert k["time_in_system_mean"] == pytest.approx((11 + 21) / 2)
    assert k["in_use_mean[cubicle]"] == pytest.approx((1 + 10 + 18.5) / 24)
    assert k["in_use_mean[doctor]"] == pytest.approx(3 / 24)
    assert k["in_use_mean[bed]"] == pytest.approx(23 / 24)
    assert k["in_station_mean[ed]"] == pytest.approx((1 + 11 + 18.5) / 24)
    assert k["queue_mean[ed]"] == pytest.approx(1 / 24)
    assert k["balked"] == 0
    # without blocking the two later ones are lost at the ward
    (n,) = run(BLOCKING.replace("blocking: [cubicle]", "blocking: false"))
    assert n["balked[ward]"] == 2 and n["balked"] == 2 and n["departures"] == 1
    assert n["abandon_share"] == 0.0 and n["held_mean[ed]"] == 0.0


def test_priority_and_patience_by_hand() -> None:
    text = """
    name: prio
    time_unit: minutes
    horizon: 600
    classes: {urgent: {priority: 1}, routine: {priority: 2}}
    resources: {doc: {capacity: 1}}
    stations:
      s:
        resources: {doc: 1}
        service: {dist: fixed, value: 60}
        discipline: DISC
        patience_by_class: {routine: {dist: fixed, value: 500}}
    arrivals:
      - name: r
        kind: scheduled
        to: s
        class: routine
        slots: [{day: mon, at: "00:00"}, {day: mon, at: "00:10"}]
      - {name: u, kind: scheduled, to: s, class: urgent, slots: [{day: mon, at: "00:20"}]}
    """
    (p,) = run(text.replace("DISC", "priority"))
    assert p["time_in_system_mean[urgent]"] == pytest.approx(100)  # 20 -> 60 -> 120
    assert p["time_in_system_mean[routine]"] == pytest.approx((60 + 170) / 2)
    (f,) = run(text.replace("DISC", "fifo"))
    assert f["time_in_system_mean[urgent]"] == pytest.approx(160)
    assert f["time_in_system_mean[routine]"] == pytest.approx((60 + 110) / 2)
    (a,) = run(text.replace("DISC", "priority").replace("value: 500", "value: 50"))
    # the second routine one gives up at 0:60 (joined 0:10, patience 50), as the doctor frees
    assert a["abandoned[routine]"] == 1 and a["abandoned[s]"] == 1 and a["departures"] == 2
    assert a["abandon_share"] == pytest.approx(1 / 3)


def test_warm_start_by_hand() -> None:
    text = """
    name: warm
    time_unit: hours
    horizon: 10
    resources: {desk: {capacity: 1}}
    stations:
      s: {resources: {desk: 1}, service: {dist: fixed, value: 1.0}}
    initial_state:
      - {station: s, status: in_service, remaining: 2.0, in_system: 5.0}
      - {station: s, status: waiting, elapsed: 1.0}
      - {station: s, status: waiting, elapsed: 3.0}
    """
    (k,) = run(text)
    # in service until 2 (tis 7); the one waiting since -3 goes first: 2-3 (wait 5, tis 6);
    # then the one since -1: 3-4 (wait 4, tis 5)
    assert k["arrivals"] == 0 and k["departures"] == 3
    assert k["wait_mean"] == pytest.approx(4.5)
    assert k["time_in_system_mean"] == pytest.approx(6.0)
    assert k["queue_mean[s]"] == pytest.approx((2 * 2 + 1) / 10)
    assert k["utilisation[desk]"] == pytest.approx(4 / 10)
