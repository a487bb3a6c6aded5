"""The CHIME mode against CHIME's own published test values.

Source: Penn Medicine's CHIME, github.com/CodeForPhilly/chime, ``tests/penn_chime/model/
test_sir.py`` (commit 36720af) with the ``param`` fixture of ``tests/conftest.py``: population
500,000, 100 patients in hospital today, doubling time 6 days, 14 infectious days, market share
5%, relative contact rate 15% from today (mitigation date = current date), dispositions
hospitalized 5% / 7 days, ICU 2% / 9 days, ventilated 1% / 10 days, 60 days ahead. Their
expected numbers are asserted below with THEIR comparison: exact equality where CHIME asserts
``==`` on a float, the same rounding where CHIME rounds, and CHIME's ``EPSILON = 1e-7``
(``src/penn_chime/constants.py``) for ``beta``. Beside them, an independent transcription of
CHIME's published equations (``src/penn_chime/model/sir.py``) written out long-hand here must
agree to 1e-9 relative on every day (floating point: both do the same operations, so any
difference beyond rounding is a different equation).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from twinsight.outbreak import ChimeParams, Disposition, chime, growth_rate, sir_step
from twinsight.outbreak._chime import _sim_sir

EPSILON = 1.0e-7  # CHIME's src/penn_chime/constants.py

PARAM = ChimeParams(
    population=500_000,
    current_hospitalized=100,
    doubling_time=6.0,
    infectious_days=14,
    market_share=0.05,
    relative_contact_rate=0.15,
    hospitalized=Disposition(0.05, 7),
    icu=Disposition(0.02, 9),
    ventilated=Disposition(0.01, 10),
    n_days=60,
    mitigation_day=0,
)


def test_sir_step_and_growth_rate() -> None:
    # CHIME test_sir / test_growth_rate
    assert sir_step(100, 1, 0, 0.2, 0.5, 1) == (
        0.7920792079207921,
        0.20297029702970298,
        0.0049504950495049506,
    )
    assert np.round(growth_rate(5) * 100.0, decimals=4) == 14.8698
    assert np.round(growth_rate(0) * 100.0, decimals=4) == 0.0
    assert np.round(growth_rate(-4) * 100.0, decimals=4) == -15.9104


def test_sim_sir() -> None:
    # CHIME test_sim_sir: s, i, r, gamma, i_day, [(beta, n_days)]
    raw = _sim_sir(5, 6, 7, 0.1, 0, [(0.1, 40)])
    assert round(raw["susceptible"][0], 0) == 5
    assert round(raw["infected"][0], 2) == 6
    assert round(raw["recovered"][0], 0) == 7
    assert round(raw["susceptible"][-1], 2) == 0
    assert round(raw["infected"][-1], 2) == 0.18
    assert round(raw["recovered"][-1], 2) == 17.82


def test_model_scalars() -> None:
    # CHIME test_model
    m = chime(PARAM)
    assert round(m.raw["infected"][m.i_day], 0) == 45810.0
    assert m.intrinsic_growth_rate == 0.12246204830937302
    assert abs(m.beta - 4.21501347256401e-07) < EPSILON
    assert m.r_t == 2.307298374881539
    assert m.r_naught == 2.7144686763312222
    assert m.doubling_time_t == 7.764405988534983
    assert m.i_day == 43


def test_model_raw_start_and_end() -> None:
    # CHIME test_model_raw_start, test_model_raw_end
    m = chime(PARAM)
    f = m.frame
    assert len(f) == len(np.arange(-m.i_day, PARAM.n_days + 1)) == 104
    assert f.susceptible[0] == 499600.0
    assert round(f.infected[1], 0) == 449.0
    assert f.day[0] == -43
    assert [f.ever_hospitalized[0], f.ever_icu[0], f.ever_ventilated[0]] == [1.0, 0.4, 0.2]
    assert round(f.recovered[30], 0) == 7083.0
    row = f.loc[60, ["day", "ever_hospitalized", "ever_icu", "ever_ventilated"]]
    assert [round(v, 0) for v in row] == [17, 549.0, 220.0, 110.0]
    assert round(f.susceptible.iloc[-1], 0) == 83391.0


def test_model_conservation_and_cumulative_census() -> None:
    # CHIME test_model_conservation, test_model_cumulative_census
    f = chime(PARAM).frame
    assert (f.susceptible + f.infected + f.recovered - PARAM.population < 0.1).all()
    assert (f.susceptible.diff()[1:] <= 0).all() and (f.recovered.diff()[1:] >= 0).all()
    admits = f.admits_hospitalized.cumsum()
    ever = PARAM.market_share * PARAM.hospitalized.rate * (f.infected + f.recovered)
    assert ((admits[1:-1] - (ever[1:-1] - 1.0)).abs() < 0.1).all()


def test_first_hospitalized_date_fits_the_doubling_time() -> None:
    # CHIME test_model_first_hosp_fit: date of the first case 43 days ago, doubling time found
    m = chime(dataclasses.replace(PARAM, doubling_time=None, first_hospitalized_days_ago=43))
    assert abs(m.intrinsic_growth_rate - 0.123) / 0.123 < 0.01
    assert abs(m.beta - 4.21501347256401e-07) < EPSILON
    assert abs(m.r_t - 2.32) / 2.32 < 0.01
    assert abs(m.r_naught - 2.72) / 2.72 < 0.01
    assert abs(m.doubling_time_t - 7.71) / 7.71 < 0.01


def _transcription(p: ChimeParams, i_day: int) -> dict[str, list[float]]:
    """CHIME's equations written out independently (lists and a loop, no shared code)."""
    infected = 1.0 / p.market_share / p.hospitalized.rate
    s, i, r = p.population - infected, infected, 0.0
    n = s + i + r
    gamma = 1.0 / p.infectious_days
    g = 2.0 ** (1.0 / p.doubling_time) - 1.0  # type: ignore[operator]
    beta = (g + gamma) / s
    beta_t = beta * (1.0 - p.relative_contact_rate)
    ss, ii, rr = [s], [i], [r]
    for day in range(i_day + p.n_days):
        b = beta if day < i_day else beta_t  # mitigation from today (day i_day of the run)
        s_n, i_n, r_n = s - b * s * i, i + b * s * i - gamma * i, r + gamma * i
        scale = n / (s_n + i_n + r_n)
        s, i, r = s_n * scale, i_n * scale, r_n * scale
        ss.append(s)
        ii.append(i)
        rr.append(r)
    out: dict[str, list[float]] = {"susceptible": ss, "infected": ii, "recovered": rr}
    for kind, d in p.dispositions.items():
        ever = [(a + c) * d.rate * p.market_share for a, c in zip(ii, rr, strict=True)]
        admits = [math.nan] + [ever[t] - ever[t - 1] for t in range(1, len(ever))]
        census = [sum(admits[max(1, t - d.days + 1) : t + 1]) for t in range(len(ever))]
        out[f"admits_{kind}"], out[f"census_{kind}"] = admits, census
    return out


def test_every_day_matches_an_independent_transcription() -> None:
    m = chime(PARAM)
    ref = _transcription(PARAM, m.i_day)
    for name, values in ref.items():
        np.testing.assert_allclose(m.raw[name], values, rtol=1e-9, atol=1e-9, err_msg=name)


def test_i_day_minimises_the_census_error_today() -> None:
    m = chime(PARAM)
    errors = []
    for i_day in range(PARAM.n_days):
        census = _transcription(PARAM, i_day)["census_hospitalized"]
        if int(np.argmax(census)) >= i_day:  # CHIME skips fits that put the peak before today
            errors.append(((census[i_day] - 100) ** 2, i_day))
    assert min(errors)[1] == m.i_day


def test_without_a_mitigation_date() -> None:
    base = chime(dataclasses.replace(PARAM, mitigation_day=None))
    assert 0 < base.i_day < PARAM.n_days
    with pytest.raises(ValueError, match="doubling_time or first_hospitalized"):
        chime(dataclasses.replace(PARAM, doubling_time=None))
