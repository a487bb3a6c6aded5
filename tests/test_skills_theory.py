"""Multi-skill agents (resource ``alternatives``) and the timed ``on_wait`` offer against theory.

Tolerances: each simulated mean is the mean of independent replications; it must lie within
4 standard errors of the exact value (a correct engine fails a check with probability ~6e-5),
while a wrong rule (skills not shared, dispatch not by longest wait) moves it by many.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from twinsight import theory as th
from twinsight.experiment import run_experiment
from twinsight.spec import FlowSpec, validate_dict

ENGINES = ["fast", "reference"]
LAM, MU, C = 3.2, 1.0, 4  # two skills at 1.6 calls/min each, 4 agents, rho = 0.8
TARGET = 0.5  # minutes, for the share answered within target
SE_K = 4.0


def _exp(mean: float) -> dict[str, Any]:
    return {"dist": "exponential", "mean": mean}


def _erlang_c_wait(c: int, lam: float, mu: float) -> tuple[float, float]:
    """Mean wait and P(wait <= TARGET) of M/M/c (FIFO)."""
    pc = th.erlang_c(c, lam / mu)
    return pc / (c * mu - lam), 1.0 - pc * math.exp(-(c * mu - lam) * TARGET)


def _two_skills(stations: dict[str, Any], resources: dict[str, Any], lam: float) -> FlowSpec:
    return validate_dict(
        {
            "name": "two skills",
            "time_unit": "minutes",
            "horizon": 12_000.0,
            "warmup": 500.0,
            "classes": {"a": {}, "b": {}},
            "resources": resources,
            "stations": stations,
            "arrivals": [
                {"name": "a", "to": "A", "class": "a", "rate": lam / 2},
                {"name": "b", "to": "B", "class": "b", "rate": lam / 2},
            ],
            "kpis": {"wait_target": TARGET},
        },
        "test",
    )


def _station(resources: dict[str, int], alternatives: list[dict[str, int]]) -> dict[str, Any]:
    return {"resources": resources, "alternatives": alternatives, "service": _exp(1.0 / MU)}


def _mean_se(per_rep: np.ndarray) -> tuple[float, float]:
    return float(per_rep.mean()), float(per_rep.std(ddof=1) / math.sqrt(per_rep.size))


def _busy(per_rep: dict[str, np.ndarray], resources: dict[str, Any]) -> np.ndarray:
    """Mean number of busy agents over all resources, per replication."""
    out: np.ndarray = np.sum([per_rep[f"in_use_mean[{r}]"] for r in resources], axis=0)
    return out


FLEXIBLE = {
    # one shared pool listed by both skill stations
    "shared-pool": (
        {"A": _station({"pool": 1}, []), "B": _station({"pool": 1}, [])},
        {"pool": {"capacity": C}},
    ),
    # each skill's own agents first, the other's as overflow: every agent serves every skill
    "cross-overflow": (
        {"A": _station({"ra": 1}, [{"rb": 1}]), "B": _station({"rb": 1}, [{"ra": 1}])},
        {"ra": {"capacity": C // 2}, "rb": {"capacity": C // 2}},
    ),
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("layout", sorted(FLEXIBLE))
def test_full_flexibility_is_pooled_erlang_c(engine: str, layout: str) -> None:
    """Every skill served by every agent, heads started by longest wait = pooled M/M/c FIFO:
    the mean wait and P(wait <= target) (the latter depends on the FIFO order) of Erlang C."""
    stations, resources = FLEXIBLE[layout]
    spec = _two_skills(stations, resources, LAM)
    res = run_experiment(spec, reps=10, seed=7, engine=engine)
    wq, within = _erlang_c_wait(C, LAM, MU)
    m, se = _mean_se(res.per_rep["wait_mean"])
    assert abs(m - wq) <= SE_K * se, (m, wq, se)
    m, se = _mean_se(res.per_rep["wait_within_target"])
    assert abs(m - within) <= SE_K * se, (m, within, se)
    m, se = _mean_se(_busy(res.per_rep, resources))
    assert abs(m - LAM / MU) <= SE_K * se


@pytest.mark.parametrize("engine", ENGINES)
def test_overflow_lies_between_dedicated_and_pooled(engine: str) -> None:
    """Two skills, 2 dedicated agents each plus 2 generalists as overflow: the mean wait lies
    strictly between two dedicated M/M/3 groups and one pooled M/M/6 (same 6 agents)."""
    lam = 4.8
    stations = {
        "A": _station({"ra": 1}, [{"g": 1}]),
        "B": _station({"rb": 1}, [{"g": 1}]),
    }
    resources = {"ra": {"capacity": 2}, "rb": {"capacity": 2}, "g": {"capacity": 2}}
    res = run_experiment(_two_skills(stations, resources, lam), reps=10, seed=11, engine=engine)
    dedicated, _ = _erlang_c_wait(3, lam / 2, MU)
    pooled, _ = _erlang_c_wait(6, lam, MU)
    m, se = _mean_se(res.per_rep["wait_mean"])
    assert pooled + SE_K * se < m < dedicated - SE_K * se, (pooled, m, dedicated)
    # nobody abandons: the agents are busy lam / mu on average, whichever serves
    m, se = _mean_se(_busy(res.per_rep, resources))
    assert abs(m - lam / MU) <= SE_K * se


def _callback_spec(p: float | None) -> FlowSpec:
    stations: dict[str, Any] = {
        "A": {
            **_station({"ra": 1}, [{"g": 1}]),
            "patience": _exp(2.0),
        },
        "B": _station({"rb": 1}, [{"g": 1}]),
        "CB": {**_station({"ra": 1}, [{"g": 1}]), "dispatch_priority": 1},
    }
    if p is not None:
        stations["A"]["on_wait"] = {"after": 0.5, "p": p, "to": "CB"}
    resources = {"ra": {"capacity": 2}, "rb": {"capacity": 2}, "g": {"capacity": 1}}
    return _two_skills(stations, resources, 4.4)


@pytest.mark.parametrize("engine", ENGINES)
def test_callback_with_p0_changes_nothing(engine: str) -> None:
    """An on_wait offer nobody accepts (p = 0) leaves every number identical (same seed); an
    offer accepted with p = 0.5 changes them (the feature is live)."""
    base = run_experiment(_callback_spec(None), reps=2, seed=3, engine=engine, horizon=3000.0)
    zero = run_experiment(_callback_spec(0.0), reps=2, seed=3, engine=engine, horizon=3000.0)
    half = run_experiment(_callback_spec(0.5), reps=2, seed=3, engine=engine, horizon=3000.0)
    assert set(zero.per_rep) == set(base.per_rep) | {"diverted[A]"}
    for k, v in base.per_rep.items():
        np.testing.assert_array_equal(zero.per_rep[k], v, err_msg=k)
    assert (zero.per_rep["diverted[A]"] == 0).all()
    assert (half.per_rep["diverted[A]"] > 0).all()
    assert (half.per_rep["served[CB]"] > 0).all()
    assert not np.array_equal(half.per_rep["wait_mean[A]"], base.per_rep["wait_mean[A]"])


@pytest.mark.parametrize("engine", ENGINES)
def test_callback_always_accepted_caps_the_wait(engine: str) -> None:
    """With p = 1 and no patience, nobody answered at A waited longer than the offer time."""
    spec = _callback_spec(1.0)
    data = spec.model_dump(by_alias=True, exclude_none=True)
    del data["stations"]["A"]["patience"]
    data["kpis"]["percentiles"] = [99.99]
    res = run_experiment(validate_dict(data, "t"), reps=3, seed=5, engine=engine, horizon=3000.0)
    assert (res.per_rep["wait_p99.99[A]"] <= 0.5 + 1e-9).all()
    assert (res.per_rep["diverted[A]"] > 0).all()
    assert (res.per_rep["abandoned[A]"] == 0).all()


@pytest.mark.parametrize("engine", ENGINES)
def test_offer_always_accepted_is_mm1_with_deterministic_patience(engine: str) -> None:
    """One agent, an offer after T accepted with p = 1 (callbacks served elsewhere): station A
    is M/M/1+D. Its virtual wait V has density P0 lam exp(-(mu - lam) v) up to T and
    P0 lam exp(-(mu - lam) T) exp(-mu (v - T)) beyond; a caller is diverted iff V > T (PASTA):
    P(diverted) = P0 lam exp(-(mu - lam) T) / mu."""
    lam, mu, t_offer = 0.9, 1.0, 1.0
    tail = math.exp(-(mu - lam) * t_offer)
    p0 = 1.0 / (1.0 + lam * ((1.0 - tail) / (mu - lam) + tail / mu))
    exact = p0 * lam * tail / mu
    spec = validate_dict(
        {
            "name": "M/M/1+D offer",
            "time_unit": "minutes",
            "horizon": 12_000.0,
            "warmup": 500.0,
            "resources": {"agent": {"capacity": 1}, "other": {"capacity": 1}},
            "stations": {
                "A": {
                    "resources": {"agent": 1},
                    "service": _exp(1.0 / mu),
                    "on_wait": {"after": t_offer, "p": 1.0, "to": "CB"},
                },
                "CB": {"resources": {"other": 1}, "service": _exp(0.1)},
            },
            "arrivals": [{"name": "calls", "to": "A", "rate": lam}],
        },
        "test",
    )
    res = run_experiment(spec, reps=10, seed=9, engine=engine)
    m, se = _mean_se(res.per_rep["diverted[A]"] / res.per_rep["arrivals"])
    assert abs(m - exact) <= SE_K * se, (m, exact, se)
