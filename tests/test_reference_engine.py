"""The reference engine (SimPy): reproducibility, KPI keys, hand-computed runs, M/M/1 theory.

The small specs below have no randomness (scheduled arrivals, fixed service times, one routing
row), so every figure is worked out by hand in the comments, following docs/semantics.md.
Time unit hours, start Monday 00:00 (t = wall-clock hours) unless said otherwise.
"""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from twinsight.engines import RepResult, kpi_names
from twinsight.engines._calendar import frozen
from twinsight.engines.reference import ReferenceEngine
from twinsight.spec import FlowSpec, load_spec, parse_spec

EXAMPLES = Path(__file__).parents[1] / "examples"
ENGINE = ReferenceEngine()


def spec_of(text: str) -> FlowSpec:
    return parse_spec(textwrap.dedent(text))


def run_one(text: str, seed: int = 1, **kw: float) -> RepResult:
    return ENGINE.run(spec_of(text), seed, [0], **kw)[0]


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


# ----- contract: names, reproducibility --------------------------------------------------------
@pytest.mark.parametrize("name", ["mmc", "hospital"])
def test_kpi_keys_are_exactly_kpi_names(name: str) -> None:
    spec = load_spec(EXAMPLES / f"{name}.yaml")
    (res,) = ENGINE.run(spec, 3, [0], horizon=spec.warmup + 200.0)
    assert list(res.kpis) == kpi_names(spec)
    assert all(isinstance(v, float) for v in res.kpis.values())


def test_hospital_series_cover_the_horizon() -> None:
    spec = load_spec(EXAMPLES / "hospital.yaml")
    (res,) = ENGINE.run(spec, 3, [0], horizon=250.0)  # interval 24: 10 full bins + one of 10 h
    assert set(res.series) == {
        f"{kind}[{s}]" for s in spec.station_names() for kind in ("occupancy", "queue")
    }
    assert all(len(v) == 11 for v in res.series.values())


def test_same_seed_same_numbers_and_reps_are_independent_of_company() -> None:
    spec = load_spec(EXAMPLES / "hospital.yaml")
    kw = {"horizon": 300.0, "warmup": 50.0}
    together = ENGINE.run(spec, 11, [0, 1, 2], **kw)
    again = ENGINE.run(spec, 11, [0, 1, 2], **kw)
    alone = ENGINE.run(spec, 11, [2], **kw)
    for a, b in zip(together, again, strict=True):
        assert a.kpis == pytest.approx(b.kpis, nan_ok=True, rel=0, abs=0)
    assert alone[0].kpis == pytest.approx(together[2].kpis, nan_ok=True, rel=0, abs=0)
    for key, series in alone[0].series.items():
        assert np.array_equal(series, together[2].series[key])
    assert together[0].kpis["arrivals"] != together[1].kpis["arrivals"]
    other_seed = ENGINE.run(spec, 12, [2], **kw)[0]
    assert other_seed.kpis["time_in_system_mean"] != alone[0].kpis["time_in_system_mean"]


def test_warmup_must_be_shorter_than_horizon() -> None:
    spec = load_spec(EXAMPLES / "mmc.yaml")
    with pytest.raises(ValueError, match="warmup"):
        ENGINE.run(spec, 1, [0], horizon=100.0, warmup=100.0)


# ----- hand-computed runs ----------------------------------------------------------------------
DISPATCH = """
    name: multi-resource and greedy dispatch
    time_unit: hours
    horizon: 10
    resources:
      doctor: {capacity: 1}
      cubicle: {capacity: 2}
    stations:
      treat:
        resources: {doctor: 1, cubicle: 1}
        service: {dist: fixed, value: 2}
      dress:
        resources: {cubicle: 1}
        service: {dist: fixed, value: 1}
    arrivals:
      - {name: t, kind: scheduled, to: treat, slots: [{day: mon, at: "00:00", count: 3}]}
      - {name: d, kind: scheduled, to: dress, slots: [{day: mon, at: "00:00", count: 2}]}
"""


def test_multi_resource_seizing_and_greedy_dispatch() -> None:
    # t=0: T1 starts (doctor + cubicle), T2 T3 wait for the doctor; D1 takes the 2nd cubicle,
    #      D2 waits.  t=1: D1 done; T2 ranks first but needs the doctor, so D2 starts (wait 1):
    #      a head that cannot start reserves nothing.  t=2: T1 done -> T2 starts (wait 2);
    #      D2 done.  t=4: T2 done -> T3 starts (wait 4), done at 6.
    k = run_one(DISPATCH).kpis
    assert close(k["wait_mean[treat]"], 2.0)
    assert close(k["wait_mean[dress]"], 0.5)
    assert close(k["wait_mean"], (0 + 2 + 4 + 0 + 1) / 5)
    assert k["served[treat]"] == 3 and k["served[dress]"] == 2
    assert close(k["in_use_mean[doctor]"], 6 / 10)
    # cubicle: T1 [0,2], D1 [0,1], D2 [1,2], T2 [2,4], T3 [4,6]  -> 8 cubicle-hours of 20
    assert close(k["utilisation[cubicle]"], 8 / 20)
    # waiting at treat: 2 on [0,2], 1 on [2,4]
    assert close(k["queue_mean[treat]"], 6 / 10)
    assert close(k["time_in_system_mean"], (2 + 4 + 6 + 1 + 2) / 5)
    assert close(k["wait_p50[treat]"], 2.0) and close(k["wait_p90[treat]"], 3.6)


CAPACITY = """
    name: capacity schedule
    time_unit: hours
    horizon: 6
    resources:
      server:
        schedule:
          repeat: day
          steps:
            - {at: "00:00", capacity: 1}
            - {at: "01:00", capacity: 2}
            - {at: "02:00", capacity: 0}
            - {at: "04:00", capacity: 1}
    stations:
      desk:
        resources: {server: 1}
        service: {dist: fixed, value: 1.5}
    arrivals:
      - {name: a, kind: scheduled, to: desk, slots: [{day: mon, at: "00:00", count: 4}]}
"""


def test_capacity_schedule_without_preemption() -> None:
    # t=0 E1 starts; t=1 capacity 2 -> E2 starts; t=1.5 E1 done -> E3 starts; t=2 capacity 0:
    # E2 and E3 keep their server (over-committed); t=2.5 and t=3 they finish, E4 cannot start
    # at capacity 0; t=4 capacity 1 -> E4 starts, done at 5.5.
    k = run_one(CAPACITY).kpis
    assert close(k["wait_mean[desk]"], (0 + 1 + 1.5 + 4) / 4)
    in_use_area = 1 * 1 + 2 * 0.5 + 2 * 1 + 1 * 0.5 + 1 * 1.5  # = 6
    capacity_area = 1 * 1 + 2 * 1 + 0 * 2 + 1 * 2  # = 5
    assert close(k["utilisation[server]"], in_use_area / capacity_area)  # 1.2: over-commitment
    assert close(k["in_use_mean[server]"], in_use_area / 6)
    assert close(k["time_in_system_mean"], (1.5 + 2.5 + 3 + 5.5) / 4)


WINDOW = """
    name: release window
    time_unit: hours
    horizon: 40
    resources:
      bed: {capacity: 1}
    stations:
      ward:
        resources: {bed: 1}
        service: {dist: fixed, value: 1}
        release_window: {from: "10:00", to: "17:00"}
    arrivals:
      - name: a
        kind: scheduled
        to: ward
        slots: [{day: mon, at: "08:00"}, {day: mon, at: "08:30"}, {day: mon, at: "16:30"}]
"""


def test_release_window_gates_leaving() -> None:
    # P1 in service 8-9, keeps the bed until the window opens at 10 (held 1).
    # P2 waits 8:30-10, served 10-11, inside the window (held 0).
    # P3 served 16:30-17:30, the window closed at 17:00: held until Tuesday 10:00 (t=34).
    k = run_one(WINDOW).kpis
    assert close(k["held_mean[ward]"], (1 + 0 + 16.5) / 3)
    assert close(k["wait_mean[ward]"], 1.5 / 3)
    assert close(k["time_in_system_mean"], (2 + 2.5 + 17.5) / 3)
    assert close(k["in_use_mean[bed]"], (2 + 1 + 17.5) / 40)
    assert close(k["in_station_mean[ward]"], (2 + 2.5 + 17.5) / 40)
    assert k["served[ward]"] == 3 and k["departures"] == 3


BOARDING = """
    name: boarding
    time_unit: hours
    horizon: 20
    resources:
      doctor: {capacity: 1}
      cubicle: {capacity: 2}
      bed: {capacity: 1}
    stations:
      ed:
        resources: {cubicle: 1, doctor: 1}
        service: {dist: fixed, value: 1}
        blocking: BLOCKING
        routing: [{to: ward, p: 1.0}]
      ward:
        resources: {bed: 1}
        queue_capacity: 0
        service: {dist: fixed, value: 5}
    arrivals:
      - {name: a, kind: scheduled, to: ed, slots: [{day: mon, at: "00:00", count: 3}]}
"""


def test_blocking_keeps_only_the_listed_resources() -> None:
    # t=0 P1 starts in the ED; P2, P3 wait for the doctor.  t=1 P1 takes the bed (ward 1-6),
    # P2 starts.  t=2 P2 is blocked (ward full): keeps its cubicle, frees the doctor, so P3
    # starts.  t=3 P3 is blocked too.  t=6 P1 leaves, P2 (blocked longest) takes the bed
    # (ward 6-11) and frees its cubicle; t=11 P3 moves in (ward 11-16).
    k = run_one(BOARDING.replace("BLOCKING", "[cubicle]")).kpis
    assert close(k["wait_mean[ed]"], 1.0)  # 0, 1, 2: P3 got the doctor P2 released
    assert close(k["held_mean[ed]"], (0 + 4 + 8) / 3)
    assert close(k["wait_mean[ward]"], 0.0)
    assert close(k["in_use_mean[doctor]"], 3 / 20)
    assert close(k["in_use_mean[cubicle]"], (1 + 5 + 9) / 20)  # P1 [0,1], P2 [1,6], P3 [2,11]
    assert close(k["in_station_mean[ed]"], (1 + 6 + 11) / 20)
    assert close(k["time_in_system_mean"], (6 + 11 + 16) / 3)
    assert k["balked"] == 0


def test_blocking_true_keeps_everything() -> None:
    # P2 blocked at t=2 keeps the doctor too: P3 starts only at t=6 when P2 moves to the ward.
    k = run_one(BOARDING.replace("BLOCKING", "true")).kpis
    assert close(k["wait_mean[ed]"], (0 + 1 + 6) / 3)
    assert close(k["held_mean[ed]"], (0 + 4 + 4) / 3)  # P3 served 6-7, blocked 7-11


def test_without_blocking_the_routed_entity_is_lost() -> None:
    # t=2 and t=3: P2 and P3 find the ward full and are lost there (counted in balked[ward]).
    k = run_one(BOARDING.replace("BLOCKING", "false")).kpis
    assert k["balked[ward]"] == 2 and k["balked"] == 2 and k["departures"] == 1
    assert close(k["wait_mean[ed]"], 1.0)
    assert close(k["abandon_share"], 0.0)


PATIENCE = """
    name: reneging
    time_unit: hours
    horizon: 5
    classes:
      calm: {}
      hasty: {}
    resources:
      agent: {capacity: 1}
    stations:
      line:
        resources: {agent: 1}
        discipline: fifo
        service: {dist: fixed, value: 2}
        patience_by_class:
          calm: {dist: fixed, value: 3}
          hasty: {dist: fixed, value: 1}
    arrivals:
      - name: c
        kind: scheduled
        to: line
        class: calm
        slots: [{day: mon, at: "00:00", count: 2}]
      - {name: h, kind: scheduled, to: line, class: hasty, slots: [{day: mon, at: "00:00"}]}
    kpis: {interval: 2}
"""


def test_patience_reneging() -> None:
    # C1 served 0-2; C2 waits (patience 3) and starts at 2 (served 2-4); H waits with
    # patience 1 and reneges at t=1.
    res = run_one(PATIENCE)
    k = res.kpis
    assert k["abandoned[line]"] == 1 and k["abandoned[hasty]"] == 1 and k["abandoned[calm]"] == 0
    assert k["abandoned"] == 1 and k["departures"] == 2
    assert close(k["abandon_share"], 1 / 3)
    assert close(k["wait_mean[line]"], 1.0)
    assert close(k["queue_mean[line]"], (2 * 1 + 1 * 1) / 5)
    assert math.isnan(k["time_in_system_mean[hasty]"])  # nobody of that class departed
    # occupancy bins [0,2) [2,4) [4,5): C1 [0,2], C2 [0,4], H [0,1]
    assert res.series["occupancy[line]"] == pytest.approx([2.5, 1.0, 0.0], abs=1e-12)


WARM = """
    name: warm start
    time_unit: hours
    horizon: 5
    resources:
      server: {capacity: 2}
    stations:
      desk:
        resources: {server: 1}
        service: {dist: fixed, value: 1}
    initial_state:
      - {station: desk, status: in_service, count: 3, elapsed: 2, remaining: 0.5}
      - {station: desk, status: waiting, count: 1, elapsed: 1, in_system: 4}
      - {station: desk, status: in_service, count: 1, elapsed: 0.25}
"""


def test_warm_start_with_given_remaining_times() -> None:
    # t=0: three in service with 0.5 left (over-committed: 3 of 2), one more with a residual
    # fixed service of 1 - 0.25 = 0.75; W waits (joined -1, in the system since -4).
    # t=0.5: the three finish; the server count drops to 1 in use, W starts (wait 1.5) and
    # finishes at 1.5.  t=0.75: the fourth finishes.
    k = run_one(WARM).kpis
    assert close(k["wait_mean[desk]"], 1.5)
    assert close(k["in_use_mean[server]"], (4 * 0.5 + 2 * 0.25 + 1 * 0.75) / 5)
    assert close(k["time_in_system_mean"], (3 * 2.5 + 5.5 + 1.0) / 5)
    assert k["served[desk]"] == 5 and k["arrivals"] == 0


BALK = """
    name: finite queue
    time_unit: hours
    horizon: 48
    resources:
      server: {capacity: 1}
    stations:
      desk:
        resources: {server: 1}
        queue_capacity: 1
        service: {dist: fixed, value: 1}
    arrivals:
      - {name: a, kind: scheduled, to: desk, slots: [{day: daily, at: "00:00", count: 4}]}
"""


def test_balking_at_a_finite_queue_and_slot_instants() -> None:
    # each day at 00:00 (t=0 and t=24; not t=48 = horizon): one starts, one waits, two balk
    k = run_one(BALK).kpis
    assert k["arrivals"] == 8 and k["balked[desk]"] == 4 and k["balked"] == 4
    assert k["departures"] == 4
    assert close(k["abandon_share"], 0.0)
    assert close(k["wait_mean[desk]"], 0.5)


PRIORITY = """
    name: priorities
    time_unit: hours
    horizon: 10
    classes:
      hi: {priority: 1}
      lo: {priority: 2}
    resources:
      server: {capacity: 1}
    stations:
      desk:
        resources: {server: 1}
        discipline: DISCIPLINE
        service: {dist: fixed, value: 1}
    arrivals:
      - {name: l, kind: scheduled, to: desk, class: lo, slots: [{day: mon, at: "00:00", count: 3}]}
      - {name: h, kind: scheduled, to: desk, class: hi, slots: [{day: mon, at: "00:00"}]}
"""


@pytest.mark.parametrize(
    ("discipline", "hi_time", "lo_time"),
    [("priority", 2.0, (1 + 3 + 4) / 3), ("fifo", 4.0, (1 + 2 + 3) / 3)],
)
def test_priorities_within_a_station(discipline: str, hi_time: float, lo_time: float) -> None:
    # L1 starts at once; then, under priority, H (arrived last) goes before L2 and L3
    k = run_one(PRIORITY.replace("DISCIPLINE", discipline)).kpis
    assert close(k["time_in_system_mean[hi]"], hi_time)
    assert close(k["time_in_system_mean[lo]"], lo_time)


SHARED = """
    name: priority across stations
    time_unit: hours
    horizon: 10
    classes:
      hi: {priority: 1}
      lo: {priority: 2}
    resources:
      server: {capacity: 1}
    stations:
      a:
        resources: {server: 1}
        discipline: DISCIPLINE
        service: {dist: fixed, value: 1}
      b:
        resources: {server: 1}
        discipline: DISCIPLINE
        service: {dist: fixed, value: 1}
    arrivals:
      - {name: l, kind: scheduled, to: a, class: lo, slots: [{day: mon, at: "00:00", count: 2}]}
      - {name: h, kind: scheduled, to: b, class: hi, slots: [{day: mon, at: "00:00"}]}
"""


@pytest.mark.parametrize(("discipline", "wait_b"), [("priority", 1.0), ("fifo", 2.0)])
def test_dispatcher_ranks_heads_across_stations(discipline: str, wait_b: float) -> None:
    # t=0 A-L1 starts; A-L2 and B-H wait for the one server.  At t=1 the heads compete:
    # by priority B-H (1) beats A-L2 (2); under fifo both count as priority 0 and A-L2 came
    # first (same time, lower sequence).
    k = run_one(SHARED.replace("DISCIPLINE", discipline)).kpis
    assert close(k["wait_mean[b]"], wait_b)
    assert close(k["wait_mean[a]"], (0 + 3 - wait_b) / 2)


WARMUP = """
    name: warm-up window
    time_unit: hours
    horizon: 5
    warmup: 1.5
    resources:
      server: {capacity: 1}
    stations:
      desk:
        resources: {server: 1}
        service: {dist: fixed, value: 1}
    arrivals:
      - name: a
        kind: scheduled
        to: desk
        slots: [{day: mon, at: "00:00"}, {day: mon, at: "02:00"}]
"""


def test_statistics_start_at_warmup() -> None:
    k = run_one(WARMUP).kpis
    assert k["arrivals"] == 1 and k["served[desk]"] == 1 and k["departures"] == 1
    assert close(k["in_station_mean[desk]"], 1 / 3.5)
    assert close(k["throughput"], 1 / 3.5)


PROFILE = """
    name: profile
    time_unit: hours
    horizon: 240
    start: {day: mon, time: "START"}
    stations:
      corridor:
        service: {dist: exponential, mean: 1}
    arrivals:
      - name: a
        to: corridor
        batch: {values: [3]}
        profile:
          hour_of_day: [10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10,
                        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
"""


def test_rate_profile_follows_the_wall_clock() -> None:
    # starting at noon, the first 12 hours have rate 0: nobody arrives
    assert run_one(PROFILE.replace("START", "12:00"), horizon=12).kpis["arrivals"] == 0
    # 10 days x 12 h x 10/h = 1200 events of 3: Poisson sd sqrt(1200) = 34.6; allow 5 sd
    k = run_one(PROFILE.replace("START", "00:00")).kpis
    events = k["arrivals"] / 3
    assert k["arrivals"] % 3 == 0
    assert abs(events - 1200) < 5 * math.sqrt(1200)


DELAY = """
    name: pure delay
    time_unit: hours
    horizon: 400
    stations:
      corridor:
        service: SERVICE
    arrivals:
      - {name: a, to: corridor, rate: 5}
"""


@pytest.mark.parametrize(
    "service",
    [
        {"dist": "lognormal", "mean": 2.0, "sd": 1.5},
        {"dist": "gamma", "mean": 2.0, "sd": 0.5},
        {"dist": "weibull", "shape": 1.5, "scale": 2.0},
        {"dist": "normal", "mean": 1.0, "sd": 1.0, "min": 0.5},
        {"dist": "triangular", "min": 1.0, "mode": 1.5, "max": 4.0},
        {"dist": "uniform", "min": 1.0, "max": 3.0},
        {"dist": "empirical", "values": [0.5, 1.0, 4.0]},
    ],
    ids=lambda d: d["dist"],
)
def test_service_distributions_have_their_mean(service: dict[str, Any]) -> None:
    """A pure delay (no resources): time in system = service time. About 2000 departures;
    the mean must lie within 5 standard errors of the distribution's mean (its sd from scipy;
    censoring at the horizon biases by ~E[S^2] / 2H, well under one standard error)."""
    spec = spec_of(DELAY.replace("SERVICE", json.dumps(service)))
    dist = spec.stations["corridor"].service
    k = ENGINE.run(spec, 5, [0])[0].kpis
    rv = frozen(dist)
    sd = float(rv.std()) if rv is not None else float(np.std(service["values"]))
    assert k["wait_mean"] == 0.0
    assert abs(k["time_in_system_mean"] - dist.mean_value()) < 5 * sd / math.sqrt(k["departures"])


# ----- statistical check against queueing theory -----------------------------------------------
MM1 = """
    name: M/M/1
    time_unit: minutes
    horizon: 20000
    warmup: 1000
    resources:
      server: {capacity: 1}
    stations:
      counter:
        resources: {server: 1}
        service: {dist: exponential, mean: 1.0}
    arrivals:
      - {name: customers, to: counter, rate: 0.5}
"""


def test_mm1_matches_theory() -> None:
    """M/M/1 with rho = 0.5: Wq = rho / (mu - lambda) = 1, W ~ Exp(mu - lambda) (median 2 ln 2),
    P(Wq > x) = rho exp(-(mu - lambda) x) (p90 = 2 ln 5), utilisation 0.5, L = 1.

    Replications are independent, so each KPI's replication mean is compared with theory by
    a t test at 0.1% (two-sided): |mean - theory| < t_{0.9995, n-1} * sd / sqrt(n). The
    warm-up (1000 minutes, ~85 relaxation times) makes the initial bias negligible.
    """
    n = 10
    results = ENGINE.run(spec_of(MM1), 2024, list(range(n)))
    theory = {
        "wait_mean[counter]": 1.0,
        "wait_p90[counter]": 2 * math.log(5),
        "time_in_system_p50": 2 * math.log(2),
        "time_in_system_mean": 2.0,
        "utilisation[server]": 0.5,
        "in_station_mean[counter]": 1.0,
        "queue_mean[counter]": 0.5,
        "throughput": 0.5,
    }
    t_crit = float(stats.t.ppf(1 - 0.0005, n - 1))
    for kpi, expected in theory.items():
        values = np.array([r.kpis[kpi] for r in results])
        half_width = t_crit * values.std(ddof=1) / math.sqrt(n)
        assert abs(values.mean() - expected) < half_width, (kpi, values.mean(), half_width)
