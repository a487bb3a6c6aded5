"""Exact queueing formulas against published values and against each other."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from twinsight import theory as th
from twinsight.spec import validate_dict


def _erlang_c_direct(c: int, a: float) -> float:
    """Textbook Erlang C: (A^c/c!) (c/(c-A)) / (sum_{k<c} A^k/k! + (A^c/c!) (c/(c-A)))."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


# ----- Erlang B -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("c", "a", "expected", "tol"),
    [
        (10, 5.0, 0.018385, 5e-7),  # standard Erlang B table value
        (1, 1.0, 0.5, 1e-15),
        (2, 1.0, 0.2, 1e-15),  # (1/2) / (1 + 1 + 1/2)
        (5, 2.0, 0.036697, 5e-7),  # table value
        (0, 3.0, 1.0, 0.0),
    ],
)
def test_erlang_b_published(c: int, a: float, expected: float, tol: float) -> None:
    assert th.erlang_b(c, a) == pytest.approx(expected, abs=tol)


def test_erlang_b_stable_for_large_systems() -> None:
    # 2000 servers at 1950 Erlangs: factorials overflow, the recursion does not
    b = th.erlang_b(2000, 1950.0)
    assert 0.0 < b < 0.05 and math.isfinite(b)
    # against the closed form via the Poisson distribution: B = pmf(c) / cdf(c)
    pois = stats.poisson(1950.0)
    assert b == pytest.approx(pois.pmf(2000) / pois.cdf(2000), rel=1e-9)


def test_erlang_b_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        th.erlang_b(-1, 1.0)
    with pytest.raises(ValueError):
        th.erlang_b(3, -1.0)


# ----- Erlang C / M/M/c -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("c", "a"), [(1, 0.5), (2, 1.0), (3, 2.4), (10, 8.0), (11, 10.0), (20, 15)]
)
def test_erlang_c_matches_textbook_formula(c: int, a: float) -> None:
    assert th.erlang_c(c, a) == pytest.approx(_erlang_c_direct(c, a), rel=1e-12)


def test_erlang_c_published() -> None:
    assert th.erlang_c(2, 1.0) == pytest.approx(1.0 / 3.0, rel=1e-12)  # 2 rho^2 / (1 + rho)
    assert th.erlang_c(3, 2.4) == pytest.approx(0.6472, abs=5e-5)  # examples/mmc.yaml
    assert th.erlang_c(1, 0.7) == pytest.approx(0.7, rel=1e-12)  # M/M/1: P(wait) = rho
    with pytest.raises(ValueError):
        th.erlang_c(3, 3.0)


def test_mmc_example() -> None:
    m = th.mmc(2.4, 1.0, 3)
    assert m.wait_mean == pytest.approx(1.0787, abs=5e-5)  # examples/mmc.yaml
    assert m.utilisation == pytest.approx(0.8)
    assert m.queue_mean == pytest.approx(2.4 * m.wait_mean)
    assert m.sojourn_mean == pytest.approx(m.wait_mean + 1.0)
    assert m.in_system_mean == pytest.approx(m.queue_mean + 2.4)


def test_mm1_known_values() -> None:
    m = th.mm1(0.5, 1.0)
    assert (m.in_system_mean, m.sojourn_mean, m.wait_mean, m.queue_mean) == pytest.approx(
        (1.0, 2.0, 1.0, 0.5)
    )
    assert m.p_wait == pytest.approx(0.5)
    m = th.mm1(0.7, 1.0)
    assert m.wait_mean == pytest.approx(7.0 / 3.0)
    assert m.in_system_mean == pytest.approx(7.0 / 3.0)
    # M/M/1 is M/M/c with one server
    for f in ("wait_mean", "sojourn_mean", "queue_mean", "in_system_mean", "p_wait"):
        assert getattr(th.mmc(0.7, 1.0, 1), f) == pytest.approx(getattr(m, f), rel=1e-12)
    with pytest.raises(ValueError):
        th.mm1(1.0, 1.0)


def test_mmc_wait_distribution() -> None:
    lam, mu, c = 2.4, 1.0, 3
    pc = th.erlang_c(c, lam / mu)
    assert th.mmc_wait_cdf(0.0, lam, mu, c) == pytest.approx(1 - pc)
    t = np.array([-1.0, 0.5, 2.0])
    got = th.mmc_wait_cdf(t, lam, mu, c)
    assert isinstance(got, np.ndarray)
    assert got == pytest.approx([0.0, 1 - pc * math.exp(-0.3), 1 - pc * math.exp(-1.2)])
    q90 = th.mmc_wait_quantile(0.9, lam, mu, c)
    assert th.mmc_wait_cdf(q90, lam, mu, c) == pytest.approx(0.9)
    assert th.mmc_wait_quantile(0.2, lam, mu, c) == 0.0  # P(no wait) = 0.35 > 0.2
    # the mean of the distribution is Wq: integral of the survival function
    grid = np.linspace(0, 80, 200001)
    surv = 1 - th.mmc_wait_cdf(grid, lam, mu, c)
    assert np.trapezoid(surv, grid) == pytest.approx(th.mmc(lam, mu, c).wait_mean, rel=1e-6)


# ----- birth-death chains -------------------------------------------------------------------
def test_birth_death_mm1_is_geometric() -> None:
    rho = 0.6
    p = th.BirthDeath(birth=lambda n: 0.6, death=lambda n: 1.0).stationary(tol=1e-14)
    n = np.arange(p.size)
    assert p == pytest.approx((1 - rho) * rho**n, abs=1e-14)
    assert float(np.sum(n * p)) == pytest.approx(th.mm1(0.6, 1.0).in_system_mean, rel=1e-12)


def test_birth_death_mmc_matches_erlang_c() -> None:
    lam, mu, c = 8.0, 1.0, 10
    p = th.BirthDeath(birth=lambda n: lam, death=lambda n: min(n, c) * mu).stationary()
    assert float(np.sum(p[c:])) == pytest.approx(th.erlang_c(c, lam / mu), rel=1e-12)
    lq = float(np.sum(np.maximum(np.arange(p.size) - c, 0) * p))
    assert lq == pytest.approx(th.mmc(lam, mu, c).queue_mean, rel=1e-12)


def test_birth_death_finite_and_infinite_server() -> None:
    a = 7.5
    p = th.birth_death_stationary(np.full(60, a), np.arange(1, 61, dtype=float))
    assert p == pytest.approx(stats.poisson(a).pmf(np.arange(61)), abs=1e-15)
    with pytest.raises(ValueError):
        th.birth_death_stationary([1.0, 1.0], [1.0])
    with pytest.raises(ValueError, match="stable"):
        th.BirthDeath(birth=lambda n: 2.0, death=lambda n: 1.0).stationary(max_states=1000)


def test_mmck_limits() -> None:
    lam, mu, c = 8.0, 1.0, 10
    loss = th.mmck(lam, mu, c, c)
    assert loss.p_block == pytest.approx(th.erlang_b(c, lam / mu), rel=1e-12)
    assert loss.in_system_mean == pytest.approx(th.mmcc(lam, mu, c).in_system_mean, rel=1e-12)
    big = th.mmck(lam, mu, c, 400)
    ref = th.mmc(lam, mu, c)
    assert big.p_block < 1e-30
    assert big.wait_mean == pytest.approx(ref.wait_mean, rel=1e-10)
    assert big.p_wait == pytest.approx(ref.p_wait, rel=1e-10)
    # M/M/1/K closed form: p_K = (1 - rho) rho^K / (1 - rho^(K+1))
    rho, k = 0.9, 5
    assert th.mmck(0.9, 1.0, 1, k).p_block == pytest.approx(
        (1 - rho) * rho**k / (1 - rho ** (k + 1)), rel=1e-12
    )


def test_mmcc_is_erlang_b() -> None:
    m = th.mmcc(5.0, 1.0, 10)
    assert m.p_block == pytest.approx(0.018385, abs=5e-7)
    assert m.in_system_mean == pytest.approx(5.0 * (1 - m.p_block))
    assert m.utilisation == pytest.approx(0.5 * (1 - m.p_block))
    assert m.wait_mean == 0.0


# ----- Erlang A -------------------------------------------------------------------------------
def test_erlang_a_without_patience_limit_is_erlang_c() -> None:
    lam, mu, c = 2.4, 1.0, 3
    ref = th.mmc(lam, mu, c)
    for theta in (0.0, 1e-10):
        a = th.erlang_a(lam, mu, c, theta)
        assert a.p_wait == pytest.approx(ref.p_wait, rel=1e-8)
        assert a.wait_mean == pytest.approx(ref.wait_mean, rel=1e-8)
        assert a.wait_mean_served == pytest.approx(ref.wait_mean, rel=1e-8)
        assert a.queue_mean == pytest.approx(ref.queue_mean, rel=1e-8)
        assert a.p_abandon == pytest.approx(0.0, abs=1e-8)
    with pytest.raises(ValueError, match="unstable"):
        th.erlang_a(3.0, 1.0, 3, 0.0)


def test_erlang_a_with_patience_equal_to_service_is_poisson() -> None:
    # theta = mu: every present entity leaves at rate mu, so N ~ Poisson(lambda / mu)
    lam, mu, c = 4.4, 1.0, 4
    a = th.erlang_a(lam, mu, c, mu)
    n = np.arange(200)
    pmf = stats.poisson(lam / mu).pmf(n)
    assert a.in_system_mean == pytest.approx(lam / mu, rel=1e-12)
    assert a.p_wait == pytest.approx(float(stats.poisson(lam / mu).sf(c - 1)), rel=1e-12)
    assert a.queue_mean == pytest.approx(float(np.sum(np.maximum(n - c, 0) * pmf)), rel=1e-12)


def test_erlang_a_impatient_limit_is_erlang_b() -> None:
    a = th.erlang_a(5.0, 1.0, 10, 1e7)  # abandon at once: the loss system
    assert a.p_abandon == pytest.approx(th.erlang_b(10, 5.0), rel=1e-5)


def test_erlang_a_wait_of_served_by_laplace_transform() -> None:
    # An arrival finding j ahead is served iff its patience exceeds its offered wait V, a sum of
    # independent Exp(c mu + i theta), i = 0..j. So E[W 1{served}] = E[V exp(-theta V)]
    # = -d/ds E[exp(-s V)] at s = theta: checked here by a numerical derivative.
    lam, mu, c, theta = 4.4, 1.0, 4, 0.5
    m = th.erlang_a(lam, mu, c, theta)
    p = th.BirthDeath(
        birth=lambda n: lam, death=lambda n: min(n, c) * mu + max(n - c, 0) * theta
    ).stationary()

    def lt(s: float, j: int) -> float:
        rates = c * mu + theta * np.arange(j + 1)
        return float(np.prod(rates / (rates + s)))

    h = 1e-6
    served = float(np.sum(p[:c]))
    w_served = 0.0
    for n in range(c, p.size):
        j = n - c
        served += p[n] * lt(theta, j)
        w_served += p[n] * -(lt(theta + h, j) - lt(theta - h, j)) / (2 * h)
    assert served == pytest.approx(1 - m.p_abandon, rel=1e-9)
    assert w_served / served == pytest.approx(m.wait_mean_served, rel=1e-7)
    # served entities wait less on average than all arrivals (patient ones are cut short too,
    # but the ones who would wait longest are the ones who abandon)
    assert m.wait_mean_served < m.wait_mean / (1 - m.p_abandon)
    assert m.throughput == pytest.approx(lam * (1 - m.p_abandon))
    assert m.utilisation == pytest.approx((m.in_system_mean - m.queue_mean) / c, rel=1e-12)


# ----- M/G/1 ----------------------------------------------------------------------------------
def test_mg1_pollaczek_khinchine() -> None:
    # exponential service: M/M/1
    m = th.mg1(0.7, 1.0, 1.0)
    assert m.wait_mean == pytest.approx(th.mm1(0.7, 1.0).wait_mean, rel=1e-12)
    # deterministic service: M/D/1 has half the M/M/1 wait, rho / (2 mu (1 - rho))
    d = th.mg1(0.5, 1.0, 0.0)
    assert d.wait_mean == pytest.approx(0.5)
    assert d.queue_mean == pytest.approx(0.25)
    assert d.in_system_mean == pytest.approx(0.75)
    # examples/mg1.yaml
    assert th.mg1(0.5, 1.0, 1.5).wait_mean == pytest.approx(1.625)
    assert th.mg1(0.5, 1.0, 0.75).wait_mean == pytest.approx(0.78125)
    with pytest.raises(ValueError):
        th.mg1(1.0, 1.0, 0.5)


def _dist(d: dict[str, object]) -> object:
    spec = validate_dict(
        {
            "name": "d",
            "time_unit": "minutes",
            "horizon": 10,
            "stations": {"s": {"service": d}},
            "arrivals": [{"name": "a", "to": "s", "rate": 1}],
        }
    )
    return spec.stations["s"].service


@pytest.mark.parametrize(
    ("d", "frozen"),
    [
        ({"dist": "exponential", "mean": 2.0}, stats.expon(scale=2.0)),
        (
            {"dist": "lognormal", "mean": 1.0, "sd": 1.5},
            stats.lognorm(s=math.sqrt(math.log1p(2.25)), scale=math.exp(-0.5 * math.log1p(2.25))),
        ),
        ({"dist": "gamma", "mean": 1.0, "sd": 0.5}, stats.gamma(4.0, scale=0.25)),
        ({"dist": "weibull", "shape": 1.5, "scale": 2.0}, stats.weibull_min(1.5, scale=2.0)),
        ({"dist": "triangular", "min": 1, "mode": 2, "max": 6}, stats.triang(0.2, loc=1, scale=5)),
        ({"dist": "uniform", "min": 1, "max": 3}, stats.uniform(1, 2)),
        ({"dist": "normal", "mean": 1.0, "sd": 1.0}, stats.truncnorm(-1.0, np.inf, loc=1.0)),
    ],
)
def test_distribution_moments(d: dict[str, object], frozen: object) -> None:
    mean, var = th.distribution_moments(_dist(d))  # type: ignore[arg-type]
    m, v = frozen.stats(moments="mv")  # type: ignore[attr-defined]
    assert (mean, var) == pytest.approx((float(m), float(v)), rel=1e-9)


def test_distribution_moments_fixed_and_empirical() -> None:
    assert th.distribution_moments(_dist({"dist": "fixed", "value": 3})) == (3.0, 0.0)  # type: ignore[arg-type]
    mean, var = th.distribution_moments(_dist({"dist": "empirical", "values": [1, 2, 6]}))  # type: ignore[arg-type]
    assert (mean, var) == pytest.approx((3.0, np.var([1, 2, 6])))


# ----- Jackson networks -----------------------------------------------------------------------
def test_traffic_equations_by_hand() -> None:
    # 0 -> 1 w.p. 1; 1 -> 0 w.p. 0.5, exit 0.5: lambda0 = 1 + 0.5 lambda1, lambda1 = lambda0
    lam = th.traffic_equations([1.0, 0.0], [[0.0, 1.0], [0.5, 0.0]])
    assert lam == pytest.approx([2.0, 2.0])
    with pytest.raises(ValueError, match="never leave"):
        th.traffic_equations([1.0, 0.0], [[0.0, 1.0], [1.0, 0.0]])


def test_jackson_tandem_and_feedback() -> None:
    # two M/M/1 in tandem: sojourn adds up, L adds up
    net = th.jackson_network([0.5, 0.0], [[0, 1], [0, 0]], [1.0, 2.0], [1, 1])
    assert net.network_sojourn == pytest.approx(1 / (1 - 0.5) + 1 / (2 - 0.5))
    # M/M/1 with Bernoulli feedback p: lambda = gamma / (1 - p); sojourn = visits x W per visit
    g, p, mu = 0.3, 0.4, 1.0
    fb = th.jackson_network([g], [[p]], [mu], [1])
    lam = g / (1 - p)
    assert fb.arrival_rates == pytest.approx([lam])
    assert fb.visits == pytest.approx([1 / (1 - p)])
    assert fb.network_sojourn == pytest.approx(1 / (1 - p) / (mu - lam))
    # an infinite-server node: L = lambda / mu
    inf = th.jackson_network([2.0], [[0.0]], [0.5], [None])
    assert inf.in_system_mean == pytest.approx([4.0])
    assert inf.wait_mean == pytest.approx([0.0])
    with pytest.raises(ValueError, match="unstable"):
        th.jackson_network([2.0], [[0.0]], [1.0], [2])


def test_jackson_from_spec_matches_manual() -> None:
    from pathlib import Path

    from twinsight.spec import load_spec

    spec = load_spec(Path(__file__).parent.parent / "examples" / "jackson.yaml")
    net = th.jackson_from_spec(spec)
    assert net.utilisation.max() < 1
    lam = net.arrival_rates
    # traffic equations hold at every node
    gamma = np.zeros(3)
    gamma[0] = 1.0
    assert lam == pytest.approx(
        th.traffic_equations(gamma, [[0, 0.6, 0.4], [0.2, 0, 0.5], [0, 0.2, 0]])
    )
    assert net.network_sojourn == pytest.approx(float(np.sum(lam * net.sojourn_mean)) / 1.0)
    mmc = th.mmc(lam[1], 1 / 1.2, 2)
    assert net.wait_mean[1] == pytest.approx(mmc.wait_mean)


def test_jackson_from_spec_rejects_non_jackson() -> None:
    from pathlib import Path

    from twinsight.spec import load_spec

    spec = load_spec(Path(__file__).parent.parent / "examples" / "mg1.yaml")
    with pytest.raises(ValueError, match="exponential"):
        th.jackson_from_spec(spec)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"release_hours": {"shares": [1.0] * 24}}, "release hours"),
        ({"alternatives": [{"spare": 1}]}, "alternative resources"),
        ({"on_wait": {"after": 1.0, "p": 0.5, "to": "assessment"}}, "wait offer"),
        ({"blocking": True}, "blocks"),
    ],
)
def test_jackson_from_spec_refuses_features_it_does_not_model(
    change: dict[str, object], match: str
) -> None:
    """A station feature the product-form theory leaves out must be refused, not ignored:
    otherwise the theory would answer for a different network than the engines simulate."""
    from pathlib import Path

    from twinsight.spec import load_spec, validate_dict

    spec = load_spec(Path(__file__).parent.parent / "examples" / "jackson.yaml")
    data = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    data.setdefault("resources", {})["spare"] = {"capacity": 1}
    station = next(iter(data["stations"]))
    data["stations"][station].update(change)
    changed = validate_dict(data, "test")
    with pytest.raises(ValueError, match=match):
        th.jackson_from_spec(changed)


# ----- Little's law ---------------------------------------------------------------------------
def test_little_helpers() -> None:
    assert th.little_l(2.0, 3.0) == 6.0
    assert th.little_w(6.0, 2.0) == 3.0
    assert th.little_rate(6.0, 3.0) == 2.0
    with pytest.raises(ValueError):
        th.little_w(1.0, 0.0)
    with pytest.raises(ValueError):
        th.little_rate(1.0, 0.0)


# ----- time-varying arrivals ------------------------------------------------------------------
def _profile_spec(start: str = "00:00", unit: str = "hours", per: str = "hours") -> object:
    rates = [float(1 + (h % 7)) for h in range(24)]
    return validate_dict(
        {
            "name": "tv",
            "time_unit": unit,
            "horizon": 100,
            "start": {"day": "tue", "time": start},
            "stations": {"delay": {"service": {"dist": "fixed", "value": 1.0}}},
            "arrivals": [
                {
                    "name": "a",
                    "to": "delay",
                    "profile": {
                        "per": per,
                        "hour_of_day": rates,
                        "day_factor": [1, 2, 1, 1, 1, 1, 3],
                    },
                }
            ],
        }
    )


def _rate_at(spec: object, t: np.ndarray) -> np.ndarray:
    """Brute-force rate per time_unit at model times t."""
    s = spec  # FlowSpec
    table = np.asarray(s.arrivals[0].profile.hourly_table())  # type: ignore[attr-defined]
    per = s.arrivals[0].profile.per  # type: ignore[attr-defined]
    mpu = s.time_unit.minutes_per_unit  # type: ignore[attr-defined]
    minutes = s.start.minutes_of_week() + t * mpu  # type: ignore[attr-defined]
    hour = ((minutes // 60) % 168).astype(int)
    return np.asarray(table[hour] * mpu / per.minutes_per_unit)


@pytest.mark.parametrize(
    ("start", "unit", "per"),
    [("00:00", "hours", "hours"), ("06:30", "hours", "days"), ("23:10", "minutes", "hours")],
)
def test_expected_arrivals_integrates_the_profile(start: str, unit: str, per: str) -> None:
    spec = _profile_spec(start, unit, per)
    h = 100.0
    t = np.linspace(0, h, 2_000_001)
    mid = 0.5 * (t[1:] + t[:-1])
    brute = float(np.sum(_rate_at(spec, mid) * np.diff(t)))
    got = th.expected_arrivals(spec)  # type: ignore[arg-type]
    assert got == pytest.approx(brute, rel=1e-5)
    # a week of hour_of_day [1..7] pattern with day factors
    if unit == "hours" and per == "hours":
        week = th.expected_arrivals(spec, 0.0, 168.0)  # type: ignore[arg-type]
        day = sum(1 + (h % 7) for h in range(24))
        assert week == pytest.approx(day * (1 + 2 + 1 + 1 + 1 + 1 + 3))


def test_expected_arrivals_constant_and_scheduled() -> None:
    spec = validate_dict(
        {
            "name": "c",
            "time_unit": "hours",
            "horizon": 336,
            "stations": {"s": {"service": {"dist": "fixed", "value": 1}}},
            "arrivals": [
                {"name": "p", "to": "s", "rate": 2.0, "batch": {"values": [1, 3]}},
                {
                    "name": "e",
                    "kind": "scheduled",
                    "to": "s",
                    "slots": [
                        {"day": "mon", "at": "00:00", "count": 4},
                        {"day": "daily", "at": "08:00"},
                    ],
                },
            ],
        }
    )
    assert th.expected_arrivals(spec, streams=["p"]) == pytest.approx(2.0 * 2.0 * 336)
    # two Mondays 00:00 (t = 0 and 168) x 4 + 14 daily slots
    assert th.expected_arrivals(spec, streams=["e"]) == pytest.approx(8 + 14)
    assert th.expected_arrivals(spec, 0.0, 168.0, streams=["e"]) == pytest.approx(4 + 7)


def test_delay_occupancy() -> None:
    spec = _profile_spec("06:30")
    edges = np.arange(0.0, 101.0)
    occ = th.delay_occupancy(spec, 1.0, edges)  # type: ignore[arg-type]
    # brute force: m(t) = integral of the rate over (max(t - 1, 0), t], averaged in each bin
    t = np.linspace(0, 100, 400_001)
    cum = np.concatenate(([0.0], np.cumsum(_rate_at(spec, 0.5 * (t[1:] + t[:-1])) * np.diff(t))))
    m = cum - np.interp(np.maximum(t - 1.0, 0.0), t, cum)
    bins = np.minimum((t // 1.0).astype(int), 99)
    brute = np.bincount(bins[:-1], weights=0.5 * (m[1:] + m[:-1]) * np.diff(t)) / 1.0
    assert occ == pytest.approx(brute, rel=1e-4, abs=1e-6)
    # on the hour: the bin [h, h+1) averages half of hour h-1 and half of hour h
    aligned = _profile_spec("00:00")
    occ = th.delay_occupancy(aligned, 1.0, np.arange(0.0, 49.0))  # type: ignore[arg-type]
    rate = _rate_at(aligned, np.arange(48) + 0.5)
    assert occ[1:] == pytest.approx(0.5 * (rate[:-1] + rate[1:]))
    assert occ[0] == pytest.approx(0.5 * rate[0])
