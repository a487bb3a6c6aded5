"""Residual life of warm-start entities: vectorised draws equal per-entity draws, and follow the
conditional distribution (exponential: memoryless; lognormal: P(X - e > t | X > e))."""

from __future__ import annotations

import numpy as np
from scipy import stats

from twinsight.engines._calendar import frozen, residual, residuals
from twinsight.spec import Exponential, Lognormal


def test_vectorised_residuals_equal_one_draw_per_entity_in_order() -> None:
    dist = Lognormal(dist="lognormal", mean=60.0, sd=40.0)
    elapsed = np.array([0.0, 5.0, 50.0, 200.0, 1000.0])
    one_by_one = [
        residual(dist, float(e), np.random.default_rng(7 + i)) for i, e in enumerate(elapsed)
    ]
    u = np.array([np.random.default_rng(7 + i).random() for i in range(len(elapsed))])
    assert residuals(dist, elapsed, u).tolist() == one_by_one


def test_exponential_residual_is_memoryless() -> None:
    # 4,000 draws after 30 time units elapsed: still exponential with mean 10 (KS test at 1%).
    dist = Exponential(dist="exponential", mean=10.0)
    rng = np.random.default_rng(3)
    draws = residuals(dist, np.full(4000, 30.0), rng.random(4000))
    assert stats.kstest(draws, "expon", args=(0, 10.0)).pvalue > 0.01


def test_lognormal_residual_follows_the_conditional_distribution() -> None:
    dist = Lognormal(dist="lognormal", mean=60.0, sd=40.0)
    rv = frozen(dist)
    assert rv is not None
    e = 80.0
    rng = np.random.default_rng(5)
    draws = residuals(dist, np.full(4000, e), rng.random(4000))

    def cdf(t: np.ndarray) -> np.ndarray:
        return np.asarray(1.0 - rv.sf(e + t) / rv.sf(e))

    assert stats.kstest(draws, cdf).pvalue > 0.01
    # and it is not the unconditional distribution (a KS test that can fail)
    assert stats.kstest(draws, rv.cdf).pvalue < 1e-6


def test_fast_engine_warm_start_draws_as_one_residual_call_per_entity_in_order() -> None:
    from twinsight.engines.fast._compile import initial_entities
    from twinsight.experiment.streams import stream_seed
    from twinsight.spec import parse_spec

    spec = parse_spec(
        """
twinsight: 1
name: warm
time_unit: hours
horizon: 100
stations:
  ward:
    service: {dist: lognormal, mean: 60, sd: 40}
  icu:
    service: {dist: gamma, mean: 50, sd: 30}
    patience: {dist: exponential, mean: 5}
    resources: {bed: 1}
resources:
  bed: {capacity: 1}
initial_state:
  - {station: ward, count: 3, elapsed: 10}
  - {station: icu, elapsed: 20}
  - {station: ward, elapsed: 70, remaining: 4}
  - {station: icu, status: waiting, elapsed: 1}
  - {station: ward, elapsed: 200}
"""
    )
    got = initial_entities(spec, 11, 4).t_end
    rng = np.random.default_rng(stream_seed(11, 4, "initial"))
    ward, icu = spec.stations["ward"].service, spec.stations["icu"]
    assert icu.patience is not None
    expected = [residual(ward, 10.0, rng) for _ in range(3)]
    expected += [residual(icu.service, 20.0, rng), 4.0, residual(icu.patience, 1.0, rng)]
    expected += [residual(ward, 200.0, rng)]
    assert got.tolist() == expected


def test_closed_form_inverse_survival_equals_scipy_for_each_fitted_family() -> None:
    from twinsight.engines._calendar import _isf
    from twinsight.spec import Gamma, Weibull

    p = np.array([1e-12, 1e-6, 0.01, 0.3, 0.5, 0.9, 0.999999])
    for dist in (
        Exponential(dist="exponential", mean=7.0),
        Lognormal(dist="lognormal", mean=60.0, sd=40.0),
        Gamma(dist="gamma", mean=50.0, sd=30.0),
        Weibull(dist="weibull", shape=1.4, scale=80.0),
    ):
        rv = frozen(dist)
        assert rv is not None
        np.testing.assert_allclose(_isf(dist, rv, p), rv.isf(p), rtol=1e-9)
