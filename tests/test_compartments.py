"""The compartment engine: solvers against independent references, the stochastic chain
against its mean, interventions, likelihoods against scipy, and a fit on exact data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import odeint
from scipy.stats import nbinom, poisson

from twinsight.compartments import (
    CompartmentFit,
    CompartmentModel,
    FitError,
    Free,
    Intervention,
    Observation,
    Transition,
    negbin_loglik,
    poisson_loglik,
    run_ensemble,
    sample_counts,
    simulate,
    simulate_stochastic,
)

SIR = CompartmentModel(
    ("S", "I", "R"),
    (
        Transition("S", "I", ("R0", "/infectious_days"), force=("I",)),
        Transition("I", "R", ("/infectious_days",)),
    ),
    initial={"I": "seed"},
)
P = {"population": 100_000.0, "R0": 2.0, "infectious_days": 4.0, "seed": 10.0}


def test_ode_matches_scipy_odeint() -> None:
    beta, gamma, n = 2.0 / 4.0, 1.0 / 4.0, 100_000.0

    def rhs(y: np.ndarray, _t: float) -> list[float]:
        s, i, _r = y
        return [-beta * s * i / n, beta * s * i / n - gamma * i, gamma * i]

    days = np.arange(0, 121)
    ref = odeint(rhs, [n - 10, 10, 0], days, rtol=1e-11, atol=1e-9)
    ours = simulate(SIR, P, 120, method="ode", substeps=16).states[0]
    # RK4's global error is O(dt^4): with dt = 1/16 day and rates <= 0.5/day it is ~1e-7 of
    # the peak; 1e-5 relative to the population leaves a wide margin and still catches a
    # wrong derivative (any error in a rate shifts the peak by percent).
    np.testing.assert_allclose(ours, ref, atol=1e-5 * n)


def test_euler_is_the_textbook_recursion_and_difference_conserves() -> None:
    tr = simulate(SIR, P, 60, method="euler")
    s, i, r = 100_000.0 - 10, 10.0, 0.0
    for t in range(60):
        new, rec = 0.5 * s * i / 100_000.0, 0.25 * i
        s, i, r = s - new, i + new - rec, r + rec
        assert tr.flow("S->I")[0, t] == pytest.approx(new, rel=1e-12)
    np.testing.assert_allclose(tr.states[0, -1], [s, i, r], rtol=1e-12)
    diff = simulate(SIR, P, 200, method="difference")
    assert np.all(diff.states >= 0)
    np.testing.assert_allclose(diff.states.sum(axis=2), 100_000.0, rtol=1e-12)


def test_batch_rows_equal_single_runs() -> None:
    batch = simulate(SIR, {**P, "R0": np.array([1.5, 2.0, 3.0])}, 50)
    for j, r0 in enumerate((1.5, 2.0, 3.0)):
        single = simulate(SIR, {**P, "R0": r0}, 50)
        np.testing.assert_allclose(batch.states[j], single.states[0], rtol=1e-13)


def test_intervention_scales_from_its_day() -> None:
    ivs = [Intervention("R0", 10, "factor")]
    coef = SIR.coefficients({**P, "factor": 0.5}, 20, ivs)
    np.testing.assert_allclose(coef[:10, 0, 0], 0.5)  # R0 / D = 2 / 4
    np.testing.assert_allclose(coef[10:, 0, 0], 0.25)
    np.testing.assert_allclose(coef[:, 0, 1], 0.25)  # recovery untouched
    a = simulate(SIR, {**P, "factor": 0.5}, 30, interventions=ivs)
    b = simulate(SIR, P, 30)
    np.testing.assert_array_equal(a.states[0, :11], b.states[0, :11])
    assert a.states[0, 30, 1] < b.states[0, 30, 1]


LINEAR = CompartmentModel(
    ("A", "B", "C", "D"),
    (
        Transition("A", "B", ("/d1", "p")),
        Transition("A", "C", ("/d1", "1-p")),
        Transition("B", "D", ("/d2",)),
        Transition("C", "D", ("/d3",)),
    ),
    initial={"A": "population"},
    remainder="D",
)
LP = {"population": 5_000.0, "d1": 2.0, "p": 0.3, "d2": 3.0, "d3": 0.7}


def test_stochastic_chain_mean_is_the_difference_form_for_linear_flows() -> None:
    # With rates that do not depend on the state, the binomial chain's expectation follows
    # exactly the difference equations: E[x(t+1)] = M E[x(t)]. Each compared mean is within
    # 4.5 standard errors (10 days x 4 transitions: a family-wise false alarm rate ~3e-4).
    runs = 1000
    sto = simulate_stochastic(LINEAR, LP, 10, runs, np.random.default_rng(5))
    det = simulate(LINEAR, LP, 10)
    mean = sto.flows.mean(axis=0)
    se = sto.flows.std(axis=0, ddof=1) / np.sqrt(runs)
    assert np.all(np.abs(mean - det.flows[0]) <= 4.5 * se + 1e-9)
    assert np.all(sto.states.sum(axis=2) == 5_000)


def test_stochastic_final_size_is_the_deterministic_one() -> None:
    # SIR final size: major outbreaks end where the mean-field recursion ends, up to
    # O(1/sqrt(N)) (N = 1e5: ~0.3%); runs that die out early ((1/R0)^10 ~ 0.1%) are excluded.
    sto = simulate_stochastic(SIR, P, 250, 400, np.random.default_rng(6))
    det = simulate(SIR, P, 250)
    final = sto.states[:, -1, 2]
    major = final[final > 1000]
    assert major.size >= 390
    assert major.mean() == pytest.approx(det.states[0, -1, 2], rel=0.005)


def test_stochastic_is_reproducible_and_takes_per_run_parameters() -> None:
    a = simulate_stochastic(SIR, P, 30, 50, np.random.default_rng(9))
    b = simulate_stochastic(SIR, P, 30, 50, np.random.default_rng(9))
    np.testing.assert_array_equal(a.states, b.states)
    r0 = np.where(np.arange(50) < 25, 0.0, 3.0)
    c = simulate_stochastic(SIR, {**P, "R0": r0}, 30, 50, np.random.default_rng(9))
    assert np.all(c.flow("S->I")[:25] == 0) and c.flow("S->I")[25:].sum() > 0


def test_branching_splits_in_proportion() -> None:
    model = CompartmentModel(
        ("A", "B", "C"),
        (Transition("A", "B", ("/d", "p")), Transition("A", "C", ("/d", "1-p"))),
        initial={"A": "population"},
        remainder="B",
    )
    params = {"population": 10_000.0, "d": 2.0, "p": 0.3}
    tr = simulate_stochastic(model, params, 30, 400, np.random.default_rng(2))
    share = tr.flow("A->B").sum() / (tr.flow("A->B").sum() + tr.flow("A->C").sum())
    # binomial share of 4e6 individuals: sd ~ 2.3e-4; 0.002 is ~9 sd
    assert share == pytest.approx(0.3, abs=0.002)
    det = simulate(model, params, 1)
    assert det.flow("A->B")[0, 0] == pytest.approx(10_000 * (1 - np.exp(-0.5)) * 0.3)


def test_likelihoods_match_scipy_and_skip_gaps() -> None:
    y = np.array([0.0, 3.0, np.nan, 12.0])
    mu = np.array([[0.5, 2.5, 7.0, 10.0], [1.0, 1.0, 1.0, 1.0]])
    ok = ~np.isnan(y)
    want = poisson.logpmf(y[ok], mu[:, ok]).sum(axis=1)
    np.testing.assert_allclose(poisson_loglik(y, mu), want, rtol=1e-12)
    k = np.array([3.0, 50.0])
    want_nb = [
        nbinom.logpmf(y[ok], kk, kk / (kk + m[ok])).sum() for kk, m in zip(k, mu, strict=True)
    ]
    np.testing.assert_allclose(negbin_loglik(y, mu, k), want_nb, rtol=1e-10)


def test_negbin_sampling_has_its_variance() -> None:
    draws = sample_counts("negbin", np.full(200_000, 40.0), np.random.default_rng(1), 8.0)
    # variance mu + mu^2 / k = 240; the sample variance of 2e5 draws is within ~1%
    assert draws.mean() == pytest.approx(40.0, rel=0.01)
    assert draws.var() == pytest.approx(240.0, rel=0.03)


def test_fit_recovers_parameters_from_exact_data() -> None:
    truth = {**P, "R0": 2.4, "seed": 30.0, "factor": 0.6}
    ivs = [Intervention("R0", 35, "factor")]
    obs = Observation("new", flows=("S->I",), scale="share")
    exact = simulate(SIR, truth, 90, interventions=ivs).flow("S->I")[0] * 0.05
    fixed = {"population": P["population"], "infectious_days": 4.0, "share": 0.05}
    fit = CompartmentFit(
        SIR,
        fixed,
        [Free("R0", 1.5), Free("seed", 5.0, 0.0, 1000.0), Free("factor", 0.9, 0.0, 2.0)],
        [obs],
        noise="poisson",
        interventions=ivs,
        intervals="wald",
    ).fit({"new": exact})
    # the mean itself as data: the maximum of the Poisson likelihood is the truth (to the
    # optimiser's tolerance)
    assert fit.estimates_["R0"] == pytest.approx(2.4, rel=1e-3)
    assert fit.estimates_["seed"] == pytest.approx(30.0, rel=1e-2)
    assert fit.estimates_["factor"] == pytest.approx(0.6, rel=1e-3)
    lo, hi = fit.intervals_["R0"]
    assert lo < 2.4 < hi
    assert fit.trajectory().days == 90
    draws = fit.draws(100, np.random.default_rng(0))
    assert draws["R0"].shape == (100,) and np.all(draws["population"] == P["population"])


def test_fit_refuses_too_little_data() -> None:
    fit = CompartmentFit(
        SIR,
        {"population": 1e5, "infectious_days": 4.0},
        [Free("R0", 2.0), Free("seed", 5.0)],
        [Observation("new", flows=("S->I",))],
    )
    with pytest.raises(FitError, match="too few"):
        fit.fit({"new": [1.0, np.nan, 3.0, np.nan]})
    with pytest.raises(FitError, match="no data"):
        fit.fit({"other": [1.0] * 10})


def test_model_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="not a compartment"):
        CompartmentModel(("S", "I"), (Transition("S", "X", ("b",)),))
    with pytest.raises(ValueError, match="no transition"):
        SIR.flow_index("I->S")


def test_ensemble_bands_are_ordered_and_reproducible() -> None:
    a = run_ensemble(SIR, P, 60, 300, seed=3)
    b = run_ensemble(SIR, P, 60, 300, seed=3)
    np.testing.assert_array_equal(a.flow_bands("S->I"), b.flow_bands("S->I"))
    q = a.compartment_bands("I")
    assert q.shape == (5, 60) and np.all(np.diff(q, axis=0) >= 0)
    assert a.runs == 300
    # the median band is the median over runs of the raw series
    np.testing.assert_array_equal(q[2], np.quantile(a.trajectory.compartment("I")[:, 1:], 0.5, 0))
