"""Output analysis: MSER-5, the replications rule, t intervals, warm-up suggestion."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest
from scipy import stats

from twinsight.experiment import mser5, replications_needed, suggest_warmup, t_interval
from twinsight.spec import validate_dict


# ----- MSER-5 ---------------------------------------------------------------------------------
def _mser5_naive(x: np.ndarray) -> int:
    b = x.size // 5
    z = x[: 5 * b].reshape(b, 5).mean(axis=1)
    stat = [float(np.sum((z[d:] - z[d:].mean()) ** 2)) / (b - d) ** 2 for d in range(b // 2 + 1)]
    return 5 * int(np.argmin(stat))


def test_mser5_finds_a_known_transient() -> None:
    # exponential decay from 30 to 0 (time constant 50 observations, so below the noise level
    # of sd 1 after about 50 ln 30 = 170 observations), then stationary noise
    rng = np.random.default_rng(20240601)
    n = np.arange(3000)
    for _ in range(20):
        x = 30.0 * np.exp(-n / 50.0) + rng.normal(0.0, 1.0, n.size)
        d = mser5(x)
        assert d % 5 == 0
        assert 100 <= d <= 400, d


def test_mser5_keeps_a_stationary_series() -> None:
    rng = np.random.default_rng(7)
    cuts = [mser5(rng.normal(5.0, 2.0, 2000)) for _ in range(50)]
    # with no transient the truncation is small: most runs delete under 10 % of the data
    assert np.median(cuts) < 200
    # a linear upward drift to a plateau at observation 500
    x = np.minimum(np.arange(2000), 500) / 50.0 + rng.normal(0, 0.5, 2000)
    assert 350 <= mser5(x) <= 600


def test_mser5_matches_the_definition() -> None:
    rng = np.random.default_rng(3)
    for size in (10, 11, 57, 400, 1003):
        x = np.cumsum(rng.normal(size=size)) * 0.1 + rng.exponential(size=size)
        assert mser5(x) == _mser5_naive(x)
    assert mser5([5.0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]) in (0, 5)
    with pytest.raises(ValueError):
        mser5([1.0] * 9)
    with pytest.raises(ValueError):
        mser5([1.0, math.nan] * 10)


# ----- replications rule ----------------------------------------------------------------------
def test_replications_needed_by_hand() -> None:
    # pilot 1..10: mean 5.5, s^2 = 55/6, s = 3.02765. Target half-width 0.5 at 95 %:
    #   n = 143: t_{142, 0.975} = 1.97681, 1.97681 x 3.02765 / sqrt(143) = 0.50049 > 0.5
    #   n = 144: t_{143, 0.975} = 1.97669, 1.97669 x 3.02765 / sqrt(144) = 0.49873 <= 0.5
    pilot = np.arange(1.0, 11.0)
    assert replications_needed(pilot, 0.5) == 144
    s = math.sqrt(55 / 6)
    assert stats.t.ppf(0.975, 142) * s / math.sqrt(143) > 0.5
    assert stats.t.ppf(0.975, 143) * s / math.sqrt(144) <= 0.5
    # already precise enough: the pilot size itself (t_9 x s / sqrt(10) = 2.1659)
    assert replications_needed(pilot, 2.2) == 10
    assert replications_needed(pilot, 2.1) == 11  # t_10 x s / sqrt(11) = 2.0340
    # relative: 10 % of the mean 5.5 is the absolute target 0.55
    assert replications_needed(pilot, 0.1, relative=True) == replications_needed(pilot, 0.55)
    # 99 %: t_{n-1, 0.995} s / sqrt(n) <= 1: n = 64 gives 2.65615 x 3.02765 / 8 = 1.00523,
    # n = 65 gives 2.65485 x 3.02765 / sqrt(65) = 0.99699
    assert replications_needed(pilot, 1.0, confidence=0.99) == 65
    # NaN replications are dropped; a constant pilot needs nothing more
    assert replications_needed([1.0, 1.0, math.nan], 0.1) == 2
    with pytest.raises(ValueError):
        replications_needed([1.0], 0.1)
    with pytest.raises(ValueError):
        replications_needed(pilot, 0.0)
    with pytest.raises(ValueError):
        replications_needed([-1.0, 1.0], 0.1, relative=True)


def test_replications_needed_is_the_least_such_n() -> None:
    rng = np.random.default_rng(11)
    for _ in range(30):
        pilot = rng.gamma(2.0, 3.0, size=int(rng.integers(2, 30)))
        hw = float(rng.uniform(0.05, 3.0))
        n = replications_needed(pilot, hw, confidence=0.9)
        s = float(np.std(pilot, ddof=1))

        def half(m: int, s: float = s) -> float:
            return float(stats.t.ppf(0.95, m - 1)) * s / math.sqrt(m)

        assert half(n) <= hw
        assert n == pilot.size or half(n - 1) > hw


# ----- t intervals ----------------------------------------------------------------------------
@pytest.mark.parametrize(("n", "confidence"), [(3, 0.95), (10, 0.95), (30, 0.99)])
def test_t_interval_coverage(n: int, confidence: float) -> None:
    # Coverage of N(mu, sigma) samples: the count of intervals holding mu is Binomial(trials, 1 -
    # alpha). Accept the central 99.9 % of that binomial: a correct interval fails 1 in 1000
    # seeds; a z interval instead of t (coverage 0.88 at n = 3) or a wrong quantile fails surely.
    trials = 4000
    rng = np.random.default_rng(1000 + n)
    mu = 3.7
    samples = rng.normal(mu, 2.5, size=(trials, n))
    hits = sum(t_interval(row, confidence).contains(mu) for row in samples)
    lo, hi = stats.binom(trials, confidence).ppf([0.0005, 0.9995])
    assert lo <= hits <= hi, (hits, lo, hi)


def test_t_interval_values() -> None:
    iv = t_interval([1.0, 2.0, 3.0, 4.0])
    assert iv.mean == 2.5
    assert iv.half_width == pytest.approx(stats.t.ppf(0.975, 3) * math.sqrt(5 / 3) / 2)
    assert iv.low < 2.5 < iv.high
    assert t_interval([1.0, math.nan, 3.0]).n == 2
    assert math.isinf(t_interval([1.0]).half_width)
    assert math.isnan(t_interval([]).mean)


# ----- warm-up suggestion on an engine --------------------------------------------------------
def _engine_or_skip(name: str) -> str:
    if importlib.util.find_spec(f"twinsight.engines.{name}") is None:
        pytest.skip(f"engine package twinsight.engines.{name} does not exist yet")
    return name


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_suggest_warmup_on_a_draining_queue(engine: str) -> None:
    # M/M/1 (lambda 0.5, mu 1) that starts with 150 people waiting: the backlog drains at
    # mu - lambda = 0.5 per minute, so about 300 minutes, then the queue is stationary (mean
    # L = 1, relaxation time about 1 / (mu (1 - sqrt(rho)))^2 = 11 minutes). The backlog is gone
    # after 300 min on average (330-390 in single runs); MSER-5 errs on the long side when a
    # noisy stretch follows, so accept up to 1000 (a third of the run, below the 1500 limit).
    _engine_or_skip(engine)
    spec = validate_dict(
        {
            "name": "draining",
            "time_unit": "minutes",
            "horizon": 3000,
            "resources": {"server": {"capacity": 1}},
            "stations": {
                "desk": {"resources": {"server": 1}, "service": {"dist": "exponential", "mean": 1}}
            },
            "arrivals": [{"name": "a", "to": "desk", "rate": 0.5}],
            "initial_state": [{"station": "desk", "status": "waiting", "count": 150}],
        }
    )
    w = suggest_warmup(spec, engine=engine, seed=3, reps=10, interval=6.0)
    assert 300 <= w <= 1000, w
    assert w == suggest_warmup(spec, engine=engine, seed=3, reps=10, interval=6.0, station="desk")
    # starting empty, the same queue needs next to no warm-up
    empty = spec.model_copy(update={"initial_state": []})
    assert suggest_warmup(empty, engine=engine, seed=3, reps=10, interval=6.0) <= 300
