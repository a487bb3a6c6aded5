"""Journey KPIs (``kpis.journeys``): the spec, exact values in both engines, queueing theory.

docs/semantics.md, "Journeys": the clock starts when an entity enters ``from`` (or its service
there ends) and stops when it leaves ``to`` after service, blocking included; a journey counts
when it ends at t >= warmup.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from twinsight.engines import get_engine, kpi_names
from twinsight.experiment import run_experiment
from twinsight.spec import FlowSpec, SpecError, parse_spec, validate_dict

pytest.importorskip("twinsight.engines.fast", reason="the fast engine is not built yet")
ENGINES = ["fast", "reference"]
#: fast-engine percentiles are exact to the histogram bin width (docs/semantics.md)
PERCENTILE_REL_TOL = 0.006

# Two patients arrive at 00:00 every day. A (nurse, 1 h) -> B (cubicle, 2 h, blocking: keeps the
# cubicle until the ward takes it; becomes 'admitted') -> W (bed, 5 h, no waiting room) -> exit.
# By hand: p1 A 0-1, B 1-3, W 3-8, exits 8. p2 waits at A, A 1-2, waits at B 2-3, B 3-5, is
# blocked at B 5-8 (W busy), W 8-13, exits 13. The horizon (24) comes before the next day.
CLINIC = """
name: journeys
time_unit: hours
horizon: 24
warmup: {warmup}
classes: {{a: {{}}, admitted: {{}}}}
resources:
  nurse: {{capacity: 1}}
  cubicle: {{capacity: 1}}
  bed: {{capacity: 1}}
arrivals:
  - {{name: ed, kind: scheduled, to: A, class: a, slots: [{{day: daily, at: "00:00", count: 2}}]}}
stations:
  A:
    resources: {{nurse: 1}}
    service: {{dist: fixed, value: 1.0}}
    routing: [{{to: B, p: 1.0}}]
  B:
    resources: {{cubicle: 1}}
    service: {{dist: fixed, value: 2.0}}
    blocking: true
    routing: [{{to: W, p: 1.0, becomes: admitted}}]
  W:
    resources: {{bed: 1}}
    queue_capacity: 0
    service: {{dist: fixed, value: 5.0}}
kpis:
  percentiles: [50]
  journeys:
    ed: {{from: A, to: B, target: 4}}
    to_bed: {{from: B, start: service_end, to: B, classes: [admitted]}}
    to_bed_a: {{from: B, start: service_end, to: B, classes: [a]}}
    stay: {{from: W, to: W}}
    total: {{from: A, to: W, target: 10}}
"""

#: journey -> (durations by hand, share within target or None), warm-up 0
CLINIC_TRUTH: dict[str, tuple[list[float], float | None]] = {
    "ed": ([3.0, 8.0], 0.5),  # p2: 2 h in B's queue, 2 h service, 3 h boarding
    "to_bed": ([0.0, 3.0], None),  # class after routing is 'admitted': both count
    "to_bed_a": ([], None),  # ... so no entity is of class 'a' at that start point
    "stay": ([5.0, 5.0], None),
    "total": ([8.0, 13.0], 0.5),
}


def _one(engine: str, spec: FlowSpec, seed: int = 1) -> dict[str, float]:
    (res,) = get_engine(engine).run(spec, seed, [0])
    return res.kpis


def _check(k: dict[str, float], name: str, values: list[float], share: float | None) -> None:
    assert k[f"journey_count[{name}]"] == len(values), name
    if not values:
        assert math.isnan(k[f"journey_mean[{name}]"]) and math.isnan(k[f"journey_p50[{name}]"])
        return
    assert k[f"journey_mean[{name}]"] == pytest.approx(float(np.mean(values)), abs=1e-12), name
    p50 = float(np.percentile(values, 50))
    assert k[f"journey_p50[{name}]"] == pytest.approx(p50, rel=PERCENTILE_REL_TOL, abs=1e-9)
    if share is not None:
        assert k[f"journey_within_target[{name}]"] == share, name
    else:
        assert f"journey_within_target[{name}]" not in k


# ----- the spec ----------------------------------------------------------------------------------
def test_kpi_names_list_each_journey_in_order() -> None:
    spec = parse_spec(CLINIC.format(warmup=0))
    names = [n for n in kpi_names(spec) if n.startswith("journey_")]
    assert names[:4] == [
        "journey_mean[ed]",
        "journey_p50[ed]",
        "journey_within_target[ed]",
        "journey_count[ed]",
    ]
    assert names[4:7] == ["journey_mean[to_bed]", "journey_p50[to_bed]", "journey_count[to_bed]"]
    assert len(names) == 4 + 3 + 3 + 3 + 4


def _bad(journeys: str) -> list[str]:
    text = CLINIC.format(warmup=0).split("  journeys:\n")[0] + "  journeys:\n" + journeys
    with pytest.raises(SpecError) as info:
        parse_spec(text, source="t.yaml")
    return [p.render("t.yaml") for p in info.value.problems]


def test_unknown_station_and_class_are_located_with_a_fix() -> None:
    found = _bad("    ed: {from: triage, to: B}\n    bed: {from: B, to: W, classes: [a, nobody]}\n")
    assert len(found) == 2, found
    line = CLINIC.format(warmup=0).split("  journeys:\n")[0].count("\n") + 2
    assert found[0].startswith(f"t.yaml:{line}:")
    assert "kpis.journeys.ed.from: unknown station 'triage'; use one of ['A', 'B', 'W']" in found[0]
    assert found[1].startswith(f"t.yaml:{line + 1}:")
    assert "kpis.journeys.bed.classes.1: unknown class 'nobody'" in found[1]


@pytest.mark.parametrize(
    ("journeys", "expected"),
    [
        ("    ed: {from: A, to: B, start: arrival}\n", "kpis.journeys.ed.start: Input should be"),
        ("    ed: {from: A, to: B, target: -1}\n", "kpis.journeys.ed.target: Input should be"),
        ("    ed: {from: A, to: B, classes: []}\n", "add at least one entry"),
        ("    ed: {from: A, until: B}\n", "unknown field 'until'"),
        ("    ed: {from: A}\n", "kpis.journeys.ed.to: required field 'to' is missing"),
        ("    ed: {from: A, to: B, classes: [a, a]}\n", "a class is listed twice"),
    ],
)
def test_bad_journeys_are_named(journeys: str, expected: str) -> None:
    found = _bad(journeys)
    assert any(expected in p for p in found), found
    assert all(p.startswith("t.yaml:") for p in found), found


def test_python_construction() -> None:
    spec = parse_spec(CLINIC.format(warmup=0))
    data = spec.model_dump(by_alias=True)
    again = validate_dict(data)
    assert again.kpis.journeys == spec.kpis.journeys
    assert again.kpis.journeys["to_bed"].start == "service_end"
    assert again.kpis.journeys["ed"].from_station == "A"


# ----- exact values on a deterministic network ---------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
def test_deterministic_journeys_by_hand(engine: str) -> None:
    k = _one(engine, parse_spec(CLINIC.format(warmup=0)))
    for name, (values, share) in CLINIC_TRUTH.items():
        _check(k, name, values, share)
    # the boarding in 'ed' is B's held time: p1 0 h, p2 3 h
    assert k["held_mean[B]"] == pytest.approx(1.5)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_journey_counts_when_it_ends_after_warmup(engine: str) -> None:
    # warm-up 4: the journeys that end at t >= 4 count, wherever they started
    k = _one(engine, parse_spec(CLINIC.format(warmup=4)))
    _check(k, "ed", [8.0], 0.0)  # p1 left B at 3
    _check(k, "to_bed", [3.0], None)
    _check(k, "stay", [5.0, 5.0], None)  # ends at 8 and 13
    _check(k, "total", [8.0, 13.0], 0.5)


LOOP = """
name: loop
time_unit: hours
horizon: 10
classes: {first: {}, second: {}}
arrivals:
  - {name: in, kind: scheduled, to: A, class: first, slots: [{day: daily, at: "00:00"}]}
stations:
  A:
    service: {dist: fixed, value: 1.0}
    routing_by_class:
      first: [{to: A, p: 1.0, becomes: second}]
      second: [{to: exit, p: 1.0}]
kpis:
  percentiles: [50]
  journeys:
    visit: {from: A, to: A}
    second_visit: {from: A, to: A, classes: [second]}
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_leaving_comes_before_entering_again(engine: str) -> None:
    # A -> A at t = 1: the first visit's journey ends, then the second one starts
    k = _one(engine, parse_spec(LOOP))
    _check(k, "visit", [1.0, 1.0], None)
    _check(k, "second_visit", [1.0], None)


WARM = """
name: warm
time_unit: hours
horizon: 10
resources: {server: {capacity: 1}}
stations:
  A:
    resources: {server: 1}
    service: {dist: fixed, value: 2.0}
    routing: [{to: B, p: 1.0}]
  B:
    service: {dist: fixed, value: 1.0}
initial_state:
  - {station: A, status: in_service, elapsed: 1.0, remaining: 1.0}
  - {station: A, status: waiting, elapsed: 3.0}
kpis:
  percentiles: [50]
  journeys:
    from_entry: {from: A, to: B}
    from_service_end: {from: A, start: service_end, to: B}
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_warm_start_entities_start_journeys_only_inside_the_run(engine: str) -> None:
    # the two entities were placed at A at t = 0 (entered before): no 'enter' start; their
    # services end at 1 and 3 (inside the run), they leave B at 2 and 4
    k = _one(engine, parse_spec(WARM))
    _check(k, "from_entry", [], None)
    _check(k, "from_service_end", [1.0, 1.0], None)


# ----- queueing theory ---------------------------------------------------------------------------
def _ci99(x: np.ndarray) -> tuple[float, float]:
    """Mean and half-width of the 99% t confidence interval over replications."""
    half = float(stats.t.ppf(0.995, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return float(x.mean()), half


def _tandem(mu: list[float], lam: float, target: float) -> dict[str, Any]:
    names = [f"s{i}" for i in range(len(mu))]
    stations: dict[str, Any] = {}
    for i, (s, m) in enumerate(zip(names, mu, strict=True)):
        stations[s] = {
            "resources": {f"r{i}": 1},
            "service": {"dist": "exponential", "mean": 1.0 / m},
            "discipline": "fifo",
            "routing": [{"to": names[i + 1] if i + 1 < len(mu) else "exit", "p": 1.0}],
        }
    return {
        "name": "tandem",
        "time_unit": "hours",
        "horizon": 6000.0,
        "warmup": 500.0,
        "resources": {f"r{i}": {"capacity": 1} for i in range(len(mu))},
        "stations": stations,
        "arrivals": [{"name": "in", "to": "s0", "rate": lam}],
        "kpis": {
            "percentiles": [50, 90],
            "journeys": {"through": {"from": "s0", "to": names[-1], "target": target}},
        },
    }


def test_mm1_sojourn_matches_theory() -> None:
    """M/M/1 (lambda 0.5, mu 1): sojourn T ~ Exp(mu - lambda): E[T] = 2, P(T <= 3) = 1 - e^-1.5.

    30 replications of 6000 h (500 h warm-up); each replication gives one mean and one share,
    the truth must lie in their 99% t-interval (a correct engine fails 1% of seeds; this seed
    is fixed). The journey is also exactly the time in system of the same departures.
    """
    lam, mu, target = 0.5, 1.0, 3.0
    spec = validate_dict(_tandem([mu], lam, target))
    res = run_experiment(spec, reps=30, seed=11, engine="fast")
    mean, half = _ci99(res.per_rep["journey_mean[through]"])
    assert abs(mean - 1.0 / (mu - lam)) < half, (mean, half)
    share, half_s = _ci99(res.per_rep["journey_within_target[through]"])
    assert abs(share - (1.0 - math.exp(-(mu - lam) * target))) < half_s, (share, half_s)
    median, half_m = _ci99(res.per_rep["journey_p50[through]"])
    assert abs(median - math.log(2.0) / (mu - lam)) < half_m, (median, half_m)
    np.testing.assert_allclose(
        res.per_rep["journey_mean[through]"], res.per_rep["time_in_system_mean"], rtol=1e-12
    )
    np.testing.assert_array_equal(res.per_rep["journey_count[through]"], res.per_rep["departures"])


def test_mm1_tandem_journey_is_hypoexponential() -> None:
    """Two M/M/1 in tandem (lambda 0.5, mu 1.0 and 1.25): the sojourn times at the two stations
    are independent Exp(mu_i - lambda) (Burke, Reich), so the journey s0 -> s1 is hypoexponential
    with rates a = 0.5, b = 0.75: mean 1/a + 1/b, P(T <= t) = 1 - (b e^-at - a e^-bt) / (b - a).
    """
    lam, mu, target = 0.5, [1.0, 1.25], 4.0
    a, b = mu[0] - lam, mu[1] - lam
    spec = validate_dict(_tandem(mu, lam, target))
    res = run_experiment(spec, reps=30, seed=12, engine="fast")
    mean, half = _ci99(res.per_rep["journey_mean[through]"])
    assert abs(mean - (1.0 / a + 1.0 / b)) < half, (mean, half)
    cdf = 1.0 - (b * math.exp(-a * target) - a * math.exp(-b * target)) / (b - a)
    share, half_s = _ci99(res.per_rep["journey_within_target[through]"])
    assert abs(share - cdf) < half_s, (share, cdf, half_s)


def test_engines_agree_on_a_stochastic_network_with_boarding() -> None:
    """Fast and reference engines, independent seeds, 16 replications each: every journey KPI
    passes Welch's t-test at a family-wise 1% (Bonferroni), as in tests/differential."""
    spec = parse_spec(
        """
name: boarding
time_unit: hours
horizon: 1500
warmup: 100
classes: {walk_in: {}, admitted: {}}
resources: {doctor: {capacity: 2}, cubicle: {capacity: 3}, bed: {capacity: 4}}
arrivals:
  - {name: in, to: ed, rate: 1.5, class: walk_in}
stations:
  ed:
    resources: {doctor: 1, cubicle: 1}
    service: {dist: lognormal, mean: 1.0, sd: 0.6}
    patience: {dist: exponential, mean: 6.0}
    blocking: [cubicle]
    routing:
      - {to: ward, p: 0.3, becomes: admitted}
      - {to: exit, p: 0.7}
  ward:
    resources: {bed: 1}
    queue_capacity: 0
    service: {dist: exponential, mean: 7.0}
kpis:
  percentiles: [50, 90]
  journeys:
    ed_time: {from: ed, to: ed, target: 4.0}
    to_bed: {from: ed, start: service_end, to: ed, classes: [admitted]}
    whole: {from: ed, to: ward}
"""
    )
    fast = run_experiment(spec, reps=16, seed=21, engine="fast")
    ref = run_experiment(spec, reps=16, seed=22, engine="reference")
    for res in (fast, ref):  # 'whole' runs from entering the system to leaving it, admitted
        np.testing.assert_allclose(
            res.per_rep["journey_mean[whole]"], res.per_rep["time_in_system_mean[admitted]"]
        )
    names = [n for n in kpi_names(spec) if n.startswith("journey_")]
    level = 0.01 / len(names)
    for n in names:
        x, y = fast.per_rep[n], ref.per_rep[n]
        assert not np.isnan(x).any() and not np.isnan(y).any(), n
        if x.std() == 0 and y.std() == 0:  # e.g. a median of 0 (most go to a free bed)
            assert x[0] == y[0], n
            continue
        p = float(stats.ttest_ind(x, y, equal_var=False).pvalue)
        assert p >= level, (n, x.mean(), y.mean(), p)
