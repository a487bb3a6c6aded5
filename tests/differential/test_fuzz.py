"""Property-based tests of the two engines on random networks (docs/semantics.md).

1. Deterministic differential fuzz: random small networks with no randomness at all (scheduled
   arrivals, fixed service times, single-row routing, single-class streams, warm starts with
   ``remaining``; sometimes journey KPIs). Every event time is determined, so both engines must
   give the same KPIs and series to rounding error (percentiles: to the fast engine's histogram
   bin width).
2. Stochastic invariants: random networks with every kind of randomness; each engine's numbers
   must satisfy relations that the contract makes certain, whatever the random draws.

All durations are multiples of 0.25 h (or wall-clock instants on the half hour), so every event
time is an exact binary fraction and "simultaneous" really means simultaneous: the tie-break
rules of docs/semantics.md (section Time) are exercised, not rounding.

``derandomize=True`` makes the examples a fixed function of the test code, so CI is reproducible.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from twinsight.engines import RepResult, get_engine, kpi_names
from twinsight.spec import FlowSpec, validate_dict

from ._agree import PERCENTILE_REL_TOL, is_percentile

pytest.importorskip("twinsight.engines.fast", reason="the fast engine is not built yet")
pytest.importorskip("twinsight.engines.reference", reason="the reference engine is not built yet")

#: Percentiles of the fast engine are exact to its histogram's bin width (docs/semantics.md).
REL_TOL = 1e-9
ABS_TOL = 1e-9
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
SETTINGS: dict[str, Any] = {
    "deadline": None,
    "derandomize": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

Draw = Callable[[st.SearchStrategy[Any]], Any]


# ----- small building blocks -------------------------------------------------------------------
def _clock(half_hours: int) -> str:
    """Half hours after midnight -> ``HH:MM``."""
    return f"{half_hours // 2:02d}:{30 * (half_hours % 2):02d}"


HALF_HOUR = st.integers(0, 47).map(_clock)
QUARTERS = st.integers(0, 12).map(lambda q: q / 4)  # 0 .. 3 h in steps of 0.25
#: service times up to 8 h, so that a few arrivals a day make queues, blocking and balking
SERVICE = st.integers(0, 32).map(lambda q: q / 4)


def _yaml(spec: dict[str, Any]) -> str:
    return yaml.safe_dump(spec, sort_keys=False, default_flow_style=None)


def _run(engine: str, spec: FlowSpec, seed: int = 7, reps: Sequence[int] = (0,)) -> list[RepResult]:
    return get_engine(engine).run(spec, seed, list(reps))


@st.composite
def _resources(draw: Draw, n: int) -> dict[str, dict[str, Any]]:
    """``n`` resources, each a fixed capacity (1-3) or a daily schedule of 1-3 steps."""
    out: dict[str, dict[str, Any]] = {}
    for i in range(n):
        if draw(st.booleans()):
            out[f"r{i}"] = {"capacity": draw(st.integers(1, 3))}
        else:
            marks = sorted(draw(st.sets(st.integers(0, 47), min_size=1, max_size=3)))
            caps = [draw(st.integers(0, 3)) for _ in marks]
            if max(caps) == 0:  # a resource nobody could ever use makes the spec invalid
                caps[-1] = 1
            steps = [{"at": _clock(m), "capacity": c} for m, c in zip(marks, caps, strict=True)]
            out[f"r{i}"] = {"schedule": {"repeat": "day", "steps": steps}}
    return out


def _max_capacity(res: Mapping[str, Any]) -> int:
    if "capacity" in res:
        return int(res["capacity"])
    return max(int(s["capacity"]) for s in res["schedule"]["steps"])


@st.composite
def _needs(draw: Draw, resources: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """0-2 distinct resources with amounts within their largest capacity."""
    names = draw(st.lists(st.sampled_from(sorted(resources)), max_size=2, unique=True))
    return {r: draw(st.integers(1, _max_capacity(resources[r]))) for r in names}


@st.composite
def _blocking(draw: Draw, needs: Mapping[str, int]) -> bool | list[str]:
    options: list[bool | list[str]] = [False, True]
    if needs:
        options.append(draw(st.lists(st.sampled_from(sorted(needs)), unique=True)))
    choice: bool | list[str] = draw(st.sampled_from(options))
    return choice


@st.composite
def _window(draw: Draw) -> dict[str, str] | None:
    if not draw(st.booleans()):
        return None
    a, b = draw(st.lists(st.integers(0, 47), min_size=2, max_size=2, unique=True))
    return {"from": _clock(a), "to": _clock(b)}


@st.composite
def _release_hours(draw: Draw) -> dict[str, Any]:
    """Release hours with random shares (some hours zero, at least one positive) and, at times,
    an anchor; ``to`` is left out (every route re-timed) so any routing fits."""
    shares = draw(st.lists(st.sampled_from([0.0, 0.0, 1.0, 2.5]), min_size=24, max_size=24))
    if not any(shares):
        shares[draw(st.integers(0, 23))] = 1.0
    out: dict[str, Any] = {"shares": shares}
    if draw(st.booleans()):
        out["anchor"] = draw(st.sampled_from([0.0, 9.5, 13.0, 23.5]))
    return out


@st.composite
def _classes(draw: Draw) -> dict[str, dict[str, int]]:
    n = draw(st.integers(1, 3))
    return {f"c{i}": {"priority": draw(st.integers(0, 3))} for i in range(n)}


@st.composite
def _start(draw: Draw) -> dict[str, str]:
    return {"day": draw(st.sampled_from(DAYS)), "time": draw(HALF_HOUR)}


# ----- 1. deterministic networks ---------------------------------------------------------------
@st.composite
def deterministic_specs(draw: Draw) -> dict[str, Any]:
    """A random network in which nothing is random (see the module docstring)."""
    classes = draw(_classes())
    cnames = sorted(classes)
    resources = draw(_resources(draw(st.integers(1, 3))))
    n_st = draw(st.integers(1, 4))
    snames = [f"s{i}" for i in range(n_st)]
    stations: dict[str, dict[str, Any]] = {}
    for i, s in enumerate(snames):
        needs = draw(_needs(resources))
        station: dict[str, Any] = {"service": {"dist": "fixed", "value": draw(SERVICE)}}
        if needs:
            station["resources"] = needs
        for c in draw(st.lists(st.sampled_from(cnames), unique=True, max_size=2)):
            station.setdefault("service_by_class", {})[c] = {
                "dist": "fixed",
                "value": draw(SERVICE),
            }
        station["discipline"] = draw(st.sampled_from(["priority", "fifo"]))
        qc = draw(st.one_of(st.none(), st.integers(0, 3)))
        if qc is not None:
            station["queue_capacity"] = qc
        station["blocking"] = draw(_blocking(needs))
        window = draw(_window())
        if window is not None:
            station["release_window"] = window
        if draw(st.booleans()):
            station["wait_target"] = draw(st.sampled_from([0.25, 1.0, 2.5]))
        # one row per class, only downstream (higher index) or exit: the network is acyclic
        table: dict[str, list[dict[str, Any]]] = {}
        for c in cnames:
            row: dict[str, Any] = {
                "to": draw(st.sampled_from(["exit", *snames[i + 1 :]])),
                "p": 1.0,
            }
            if draw(st.integers(0, 3)) == 0:
                row["becomes"] = draw(st.sampled_from(cnames))
            table[c] = [row]
        station["routing_by_class"] = table
        stations[s] = station
    arrivals = []
    for k in range(draw(st.integers(1, 2))):
        slots = [
            {
                "day": draw(st.sampled_from(["daily", "daily", *DAYS])),
                "at": draw(HALF_HOUR),
                "count": draw(st.integers(1, 3)),
            }
            for _ in range(draw(st.integers(1, 3)))
        ]
        arrivals.append(
            {
                "name": f"a{k}",
                "kind": "scheduled",
                "to": draw(st.sampled_from(snames)),
                "class": draw(st.sampled_from(cnames)),  # one class: no random draw
                "slots": slots,
            }
        )
    initial: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 2))):
        group: dict[str, Any] = {
            "station": draw(st.sampled_from(snames)),
            "class": draw(st.sampled_from(cnames)),
            "count": draw(st.integers(1, 2)),
            "elapsed": draw(QUARTERS),
        }
        if draw(st.booleans()):
            group["status"] = "in_service"
            group["remaining"] = draw(QUARTERS)  # known: no residual-life draw
        else:
            group["status"] = "waiting"  # no patience anywhere: no draw
        if draw(st.booleans()):
            group["in_system"] = group["elapsed"] + draw(QUARTERS)
        initial.append(group)
    spec: dict[str, Any] = {
        "twinsight": 1,
        "name": "deterministic fuzz",
        "time_unit": "hours",
        "horizon": draw(st.integers(96, 480)) / 2,  # 48 .. 240 h
        "warmup": draw(st.integers(0, 96)) / 4,  # 0 .. 24 h
        "start": draw(_start()),
        "classes": classes,
        "resources": resources,
        "stations": stations,
        "arrivals": arrivals,
        "kpis": {"interval": draw(st.sampled_from([1.5, 6.0, 7.25, 12.0, 24.0]))},
    }
    if initial:
        spec["initial_state"] = initial
    journeys = draw(_journeys(snames, cnames))
    if journeys:
        spec["kpis"]["journeys"] = journeys
    return spec


@st.composite
def _journeys(draw: Draw, snames: list[str], cnames: list[str]) -> dict[str, dict[str, Any]]:
    """0-2 journeys (docs/semantics.md, "Journeys") between random stations, mostly downstream
    (sometimes not: in the acyclic deterministic networks such a journey never ends), some with
    a class filter or a target."""
    out: dict[str, dict[str, Any]] = {}
    for k in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, len(snames) - 1))
        downstream = draw(st.integers(0, 3)) > 0
        jr: dict[str, Any] = {
            "from": snames[i],
            "start": draw(st.sampled_from(["enter", "service_end"])),
            "to": draw(st.sampled_from(snames[i:] if downstream else snames)),
        }
        if draw(st.booleans()):
            jr["classes"] = draw(st.lists(st.sampled_from(cnames), min_size=1, unique=True))
        if draw(st.booleans()):
            jr["target"] = draw(st.sampled_from([0.25, 2.0, 6.5]))
        out[f"j{k}"] = jr
    return out


def _differences(fast: RepResult, ref: RepResult) -> list[str]:
    """Every KPI and series bin on which the two engines disagree, as readable lines."""
    out: list[str] = []
    if set(fast.kpis) != set(ref.kpis):
        out.append(f"KPI names differ: {sorted(set(fast.kpis) ^ set(ref.kpis))}")
    for k, a in fast.kpis.items():
        b = ref.kpis.get(k, math.nan)
        tol = PERCENTILE_REL_TOL if is_percentile(k) else REL_TOL
        if math.isnan(a) and math.isnan(b):
            continue
        if not math.isclose(a, b, rel_tol=tol, abs_tol=ABS_TOL):
            out.append(f"{k}: fast={a!r} reference={b!r}")
    if set(fast.series) != set(ref.series):
        out.append(f"series names differ: {sorted(set(fast.series) ^ set(ref.series))}")
    for k, a_s in fast.series.items():
        b_s = ref.series.get(k)
        if b_s is None:
            continue
        if a_s.shape != b_s.shape:
            out.append(f"{k}: shapes fast={a_s.shape} reference={b_s.shape}")
            continue
        bad = np.flatnonzero(~np.isclose(a_s, b_s, rtol=REL_TOL, atol=ABS_TOL, equal_nan=True))
        for i in bad[:5]:
            out.append(f"{k} bin {i}: fast={a_s[i]!r} reference={b_s[i]!r}")
    return out


def _assert_engines_identical(spec_dict: dict[str, Any]) -> None:
    note(_yaml(spec_dict))
    spec = validate_dict(spec_dict)
    (fast,) = _run("fast", spec, seed=1)
    (ref,) = _run("reference", spec, seed=2)  # different seeds: there must be nothing to draw
    diffs = _differences(fast, ref)
    assert not diffs, "engines disagree on a deterministic network:\n" + "\n".join(diffs)


@settings(max_examples=1200, **SETTINGS)
@given(deterministic_specs())
def test_engines_identical_on_random_deterministic_networks(spec: dict[str, Any]) -> None:
    _assert_engines_identical(spec)


# ----- 2. stochastic invariants ----------------------------------------------------------------
DISTRIBUTIONS = st.one_of(
    st.builds(lambda m: {"dist": "exponential", "mean": m}, st.sampled_from([0.1, 0.5, 1.0, 2.0])),
    st.builds(
        lambda m, cv: {"dist": "lognormal", "mean": m, "sd": m * cv},
        st.sampled_from([0.2, 0.75, 1.5]),
        st.sampled_from([0.3, 1.0, 2.0]),
    ),
    st.builds(
        lambda lo, w: {"dist": "triangular", "min": lo, "mode": lo + w / 3, "max": lo + w},
        st.sampled_from([0.0, 0.1, 0.5]),
        st.sampled_from([0.2, 1.0, 3.0]),
    ),
    st.builds(lambda m: {"dist": "gamma", "mean": m, "sd": m / 2}, st.sampled_from([0.3, 1.2])),
    st.builds(lambda v: {"dist": "fixed", "value": v}, st.sampled_from([0.0, 0.5, 1.0])),
)
PATIENCE = st.builds(
    lambda m: {"dist": "exponential", "mean": m}, st.sampled_from([0.25, 1.0, 4.0])
)


@st.composite
def _routing_rows(draw: Draw, snames: list[str], cnames: list[str]) -> list[dict[str, Any]]:
    """1-3 rows with probabilities summing to 1, including an exit row (loops are allowed: the
    exit row keeps the expected number of visits finite)."""
    targets = draw(st.lists(st.sampled_from(snames), unique=True, max_size=2))
    weights = [draw(st.integers(1, 4)) for _ in targets]
    exit_w = draw(st.integers(2, 6))
    total = sum(weights) + exit_w
    rows: list[dict[str, Any]] = [
        {"to": t, "p": w / total} for t, w in zip(targets, weights, strict=True)
    ]
    rows.append({"to": "exit", "p": 1.0 - sum(w / total for w in weights)})
    for row in rows:
        if draw(st.integers(0, 3)) == 0:
            row["becomes"] = draw(st.sampled_from(cnames))
    return rows


@st.composite
def _class_mix(draw: Draw, cnames: list[str]) -> str | dict[str, float]:
    if len(cnames) == 1 or draw(st.booleans()):
        return str(draw(st.sampled_from(cnames)))
    chosen = draw(st.lists(st.sampled_from(cnames), min_size=2, unique=True))
    weights = [draw(st.integers(1, 3)) for _ in chosen]
    mix = {c: w / sum(weights) for c, w in zip(chosen, weights, strict=True)}
    mix[chosen[-1]] = 1.0 - sum(mix[c] for c in chosen[:-1])
    return mix


@st.composite
def stochastic_specs(draw: Draw) -> dict[str, Any]:
    """A random network with random services, arrivals, patience, batches and routing."""
    classes = draw(_classes())
    cnames = sorted(classes)
    resources = draw(_resources(draw(st.integers(1, 3))))
    snames = [f"s{i}" for i in range(draw(st.integers(1, 4)))]
    stations: dict[str, dict[str, Any]] = {}
    for s in snames:
        needs = draw(_needs(resources))
        station: dict[str, Any] = {"service": draw(DISTRIBUTIONS)}
        if needs:
            station["resources"] = needs
        if draw(st.booleans()):
            station["service_by_class"] = {draw(st.sampled_from(cnames)): draw(DISTRIBUTIONS)}
        station["discipline"] = draw(st.sampled_from(["priority", "fifo"]))
        qc = draw(st.one_of(st.none(), st.integers(0, 3)))
        if qc is not None:
            station["queue_capacity"] = qc
        if draw(st.booleans()):
            station["patience"] = draw(PATIENCE)
        if draw(st.integers(0, 3)) == 0:
            station["patience_by_class"] = {draw(st.sampled_from(cnames)): draw(PATIENCE)}
        station["blocking"] = draw(_blocking(needs))
        window = draw(_window())
        if window is not None:
            station["release_window"] = window
        elif draw(st.integers(0, 3)) == 0:
            station["release_hours"] = draw(_release_hours())
        if draw(st.booleans()):
            station["wait_target"] = draw(st.sampled_from([0.25, 1.0]))
        if draw(st.booleans()):
            station["routing"] = draw(_routing_rows(snames, cnames))
        if draw(st.booleans()):
            c = draw(st.sampled_from(cnames))
            station["routing_by_class"] = {c: draw(_routing_rows(snames, cnames))}
        stations[s] = station
    arrivals: list[dict[str, Any]] = []
    for k in range(draw(st.integers(0, 2))):
        stream: dict[str, Any] = {
            "name": f"p{k}",
            "to": draw(st.sampled_from(snames)),
            "rate": draw(st.sampled_from([0.3, 1.0, 2.5])),
            "class": draw(_class_mix(cnames)),
        }
        if draw(st.booleans()):
            stream["batch"] = {"values": [1, 2, 3], "weights": [3, 1, 1]}
        arrivals.append(stream)
    if draw(st.booleans()) or not arrivals:
        arrivals.append(
            {
                "name": "sched",
                "kind": "scheduled",
                "to": draw(st.sampled_from(snames)),
                "class": draw(_class_mix(cnames)),
                "slots": [
                    {"day": "daily", "at": draw(HALF_HOUR), "count": draw(st.integers(1, 3))}
                ],
            }
        )
    initial: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 2))):
        group: dict[str, Any] = {
            "station": draw(st.sampled_from(snames)),
            "class": draw(st.sampled_from(cnames)),
            "count": draw(st.integers(1, 3)),
            "status": draw(st.sampled_from(["in_service", "waiting"])),
            "elapsed": draw(st.sampled_from([0.0, 0.5, 2.0])),
        }
        if group["status"] == "in_service" and draw(st.booleans()):
            group["remaining"] = draw(st.sampled_from([0.0, 0.75, 3.0]))
        initial.append(group)
    spec: dict[str, Any] = {
        "twinsight": 1,
        "name": "stochastic fuzz",
        "time_unit": "hours",
        "horizon": draw(st.sampled_from([24.0, 48.0, 61.5])),
        "warmup": draw(st.sampled_from([0.0, 0.0, 5.0])),
        "start": draw(_start()),
        "classes": classes,
        "resources": resources,
        "stations": stations,
        "arrivals": arrivals,
        "kpis": {"interval": draw(st.sampled_from([4.0, 7.0, 24.0]))},
    }
    if initial:
        spec["initial_state"] = initial
    journeys = draw(_journeys(snames, cnames))
    if journeys:
        spec["kpis"]["journeys"] = journeys
    return spec


def _reachable_stations(spec: FlowSpec) -> set[str]:
    """Stations an entity can ever be at: arrival targets, warm-start stations, and whatever a
    reachable station routes to with p > 0 (any class)."""
    seen = {a.to for a in spec.arrivals} | {g.station for g in spec.initial_state}
    todo = list(seen)
    while todo:
        st_ = spec.stations[todo.pop()]
        tables = [st_.routing, *st_.routing_by_class.values()]
        for row in (r for rows in tables for r in rows):
            if row.p > 0 and row.to != "exit" and row.to not in seen:
                seen.add(row.to)
                todo.append(row.to)
    return seen


def _reachable_classes(spec: FlowSpec) -> set[str]:
    """Classes an entity can ever have: arrival mixes (p > 0), warm-start classes, and every
    ``becomes`` (over-approximated: any row of any station)."""
    out = {g.entity_class for g in spec.initial_state}
    for a in spec.arrivals:
        mix = a.entity_class
        out |= {mix} if isinstance(mix, str) else {c for c, p in mix.items() if p > 0}
    for s in spec.stations.values():
        for rows in [s.routing, *s.routing_by_class.values()]:
            out |= {r.becomes for r in rows if r.becomes is not None}
    return out


def _close(a: float, b: float, rel: float = 1e-7) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-7)


def _check_invariants(spec: FlowSpec, res: RepResult, horizon: float, warmup: float) -> None:
    k = res.kpis
    qs = [f"p{q:g}" for q in spec.kpis.percentiles]
    span = horizon - warmup

    # KPI names: exactly the contract's list (docs/semantics.md "KPI names")
    names = kpi_names(spec)
    assert set(k) == set(names) and len(k) == len(names), set(k) ^ set(names)
    # counts are whole and non-negative; no count is ever NaN (they have no denominator)
    counts = [n for n in k if n.split("[")[0] in {"served", "abandoned", "balked", "departures"}]
    for n in [*counts, "arrivals"]:
        assert k[n] >= 0 and float(k[n]).is_integer(), (n, k[n])

    # time averages have the positive window length as denominator: never NaN, never negative;
    # "waiting" is a part of "at the station", at every instant, so also on average
    for s, st_ in spec.stations.items():
        q, ins = k[f"queue_mean[{s}]"], k[f"in_station_mean[{s}]"]
        assert q >= 0 and ins >= 0, (s, q, ins)
        assert q <= ins * (1 + 1e-9) + 1e-9, (s, q, ins)
        # a pure delay station is always available: nobody ever stays in its queue (warm-start
        # waiters are started by the dispatcher at t = 0, before time passes)
        if not st_.resources:
            assert q == pytest.approx(0.0, abs=1e-12), (s, q)
        # unlimited queue: a station is never full, so nobody is lost there ("Joining", rule 3)
        if st_.queue_capacity is None:
            assert k[f"balked[{s}]"] == 0, s
        # no patience for any class: nobody reneges there
        if st_.patience is None and not st_.patience_by_class:
            assert k[f"abandoned[{s}]"] == 0, s
        # without blocking (false or []; `true` blocks even with no resources to keep) or a
        # release window, an entity leaves at its completion instant: held time 0
        held = k[f"held_mean[{s}]"]
        assert math.isnan(held) or held >= 0, (s, held)
        if st_.blocking in (False, []) and st_.release_window is None and not st_.release_hours:
            assert math.isnan(held) or held == 0, (s, held)
        # waits: mean and percentiles describe the same sample (NaN together), are >= 0, and the
        # percentiles are monotone in q
        _check_sample(k, f"wait_mean[{s}]", [f"wait_{p}[{s}]" for p in qs])
        if f"wait_within_target[{s}]" in k:
            share = k[f"wait_within_target[{s}]"]
            assert math.isnan(share) == math.isnan(k[f"wait_mean[{s}]"]), s
            assert math.isnan(share) or 0 <= share <= 1, (s, share)
    # a station nobody can reach sees nothing at all
    for s in set(spec.stations) - _reachable_stations(spec):
        for n in ("served", "abandoned", "balked", "queue_mean", "in_station_mean"):
            assert k[f"{n}[{s}]"] == 0, (n, s)
        assert math.isnan(k[f"wait_mean[{s}]"]), s

    # resources: in use >= 0; utilisation = ∫ in use / ∫ capacity, and for a fixed capacity
    # ∫ capacity = capacity * span, so utilisation = in_use_mean / capacity exactly
    for r, res_ in spec.resources.items():
        u, used = k[f"utilisation[{r}]"], k[f"in_use_mean[{r}]"]
        assert used >= 0 and (math.isnan(u) or u >= 0), (r, u, used)
        if res_.capacity is not None and res_.capacity > 0:
            assert _close(u, used / res_.capacity), (r, u, used)
        # the amount in use is held by entities in service or held after service at the
        # stations that need r (each holds at most the station's amount), who are at that
        # station and not in its queue
        bound = sum(
            st_.resources[r] * (k[f"in_station_mean[{s}]"] - k[f"queue_mean[{s}]"])
            for s, st_ in spec.stations.items()
            if r in st_.resources
        )
        assert used <= bound * (1 + 1e-7) + 1e-7, (r, used, bound)

    # classes: departures and times in system share a denominator (departures of c at
    # t >= warmup); a class no entity can ever have never departs or reneges
    for c in spec.classes:
        dep = k[f"departures[{c}]"]
        tis = k[f"time_in_system_mean[{c}]"]
        assert math.isnan(tis) == (dep == 0), (c, dep, tis)
        _check_sample(k, f"time_in_system_mean[{c}]", [f"time_in_system_{p}[{c}]" for p in qs])
        if c not in _reachable_classes(spec):
            assert dep == 0 and k[f"abandoned[{c}]"] == 0, c

    # system totals are sums of their parts (the same events, counted per class or station)
    classes, stations = list(spec.classes), list(spec.stations)
    assert k["departures"] == sum(k[f"departures[{c}]"] for c in classes)
    assert k["abandoned"] == sum(k[f"abandoned[{c}]"] for c in classes)
    assert k["abandoned"] == sum(k[f"abandoned[{s}]"] for s in stations)
    assert k["balked"] == sum(k[f"balked[{s}]"] for s in stations)
    assert math.isnan(k["time_in_system_mean"]) == (k["departures"] == 0)
    _check_sample(k, "time_in_system_mean", [f"time_in_system_{p}" for p in qs])
    if k["departures"] > 0:  # the overall mean is the departure-weighted mean of class means
        total = sum(
            k[f"departures[{c}]"] * k[f"time_in_system_mean[{c}]"]
            for c in classes
            if k[f"departures[{c}]"] > 0
        )
        assert _close(total, k["departures"] * k["time_in_system_mean"]), total
    # the overall wait mean is a weighted mean of the station means: within their range
    means = [k[f"wait_mean[{s}]"] for s in stations if not math.isnan(k[f"wait_mean[{s}]"])]
    assert math.isnan(k["wait_mean"]) == (not means)
    if means:
        assert min(means) * (1 - 1e-9) - 1e-9 <= k["wait_mean"] <= max(means) * (1 + 1e-9) + 1e-9
    if "wait_within_target" in k:
        share = k["wait_within_target"]
        assert math.isnan(share) or 0 <= share <= 1, share
    assert _close(k["throughput"], k["departures"] / span)
    lost = k["departures"] + k["abandoned"] + k["balked"]
    share = k["abandon_share"]
    assert math.isnan(share) == (lost == 0)
    assert math.isnan(share) or (0 <= share <= 1 and _close(share, k["abandoned"] / lost))

    if warmup == 0:
        # every entity leaves at most once (by exit, reneging or being lost), and every entity
        # is an arrival (balked ones included) or a warm-start entity
        initial = sum(g.count for g in spec.initial_state)
        assert lost <= k["arrivals"] + initial, (lost, k["arrivals"], initial)
        # at least one service started at s in the window if more completions than warm
        # in-service entities were seen there, so the wait sample is not empty
        for s in stations:
            warm = sum(
                g.count for g in spec.initial_state if g.station == s and g.status == "in_service"
            )
            if k[f"served[{s}]"] > warm:
                assert not math.isnan(k[f"wait_mean[{s}]"]), s

    # journeys: a count, and a sample of non-negative durations (NaN together when empty);
    # nobody leaves a station nobody can reach
    for j, jr in spec.kpis.journeys.items():
        n = k[f"journey_count[{j}]"]
        assert n >= 0 and float(n).is_integer(), (j, n)
        assert math.isnan(k[f"journey_mean[{j}]"]) == (n == 0), j
        _check_sample(k, f"journey_mean[{j}]", [f"journey_{p}[{j}]" for p in qs])
        if jr.target is not None:
            share = k[f"journey_within_target[{j}]"]
            assert math.isnan(share) == (n == 0) and (math.isnan(share) or 0 <= share <= 1), j
        if jr.to_station not in _reachable_stations(spec):
            assert n == 0, j

    # series: bins of `interval` over [0, horizon); time averages of non-negative counts, the
    # queue a part of the station; with warmup 0 the length-weighted bin average is the KPI
    iv = spec.kpis.interval
    assert iv is not None
    n_bins = math.ceil(horizon / iv - 1e-12)
    widths = np.full(n_bins, iv)
    widths[-1] = horizon - (n_bins - 1) * iv
    for s in stations:
        occ, que = res.series[f"occupancy[{s}]"], res.series[f"queue[{s}]"]
        assert occ.shape == (n_bins,) and que.shape == (n_bins,), (s, occ.shape, n_bins)
        assert np.all(que >= -1e-12) and np.all(que <= occ * (1 + 1e-9) + 1e-9), s
        if warmup == 0:
            assert _close(float(occ @ widths) / horizon, k[f"in_station_mean[{s}]"]), s
            assert _close(float(que @ widths) / horizon, k[f"queue_mean[{s}]"]), s


def _check_sample(k: Mapping[str, float], mean: str, percentiles: list[str]) -> None:
    """A mean and its percentiles describe one sample of non-negative durations."""
    values = [k[mean]] + [k[p] for p in percentiles]
    if math.isnan(k[mean]):
        assert all(math.isnan(v) for v in values), (mean, values)
        return
    assert all(not math.isnan(v) and v >= 0 for v in values), (mean, values)
    ps = [k[p] for p in percentiles]  # kpis.percentiles is [50, 90, 95] here: increasing
    assert all(a <= b * (1 + 1e-12) + 1e-12 for a, b in itertools.pairwise(ps)), (mean, ps)


@pytest.mark.parametrize("engine", ["fast", "reference"])
@settings(max_examples=300, **SETTINGS)
@given(spec_dict=stochastic_specs(), seed=st.integers(0, 2**31 - 1))
def test_invariants_on_random_stochastic_networks(
    engine: str, spec_dict: dict[str, Any], seed: int
) -> None:
    note(_yaml(spec_dict))
    spec = validate_dict(spec_dict)
    reps = [0, 1] if seed % 2 else [3]
    for res in _run(engine, spec, seed=seed, reps=reps):
        _check_invariants(spec, res, spec.horizon, spec.warmup)
