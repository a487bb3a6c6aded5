"""CHIME mode: the equations of Penn Medicine's CHIME model (COVID-19 Hospital Impact Model for
Epidemics, CodeForPhilly/chime, ``src/penn_chime/model/sir.py``), reproduced exactly so that
its users can switch and get the same numbers.

- Growth rate from the doubling time ``Td``: ``g = 2^(1/Td) - 1`` (per day).
- ``gamma = 1 / infectious_days``; ``beta = (g + gamma) / S0 * (1 - relative_contact_rate)``
  (``relative_contact_rate = 0`` before mitigation: ``beta``; after it: ``beta_t``).
- Infected on the day of the first hospitalised case: ``1 / market_share / hospitalized_rate``;
  ``S0 = population - I0``.
- The discrete SIR step ``S' = S - beta S I``, ``I' = I + beta S I - gamma I``,
  ``R' = R + gamma I``, then all three rescaled so that they sum to the population again.
- Dispositions: ``ever_<kind> = (I + R) * rate * market_share``; admissions are its daily
  increments (day 0 has none); census is the sum of the admissions of the last ``days``
  (the length of stay) days.
- The day of the first hospitalised case (``i_day`` days before today) is found as CHIME finds
  it: with a mitigation date, the day whose census today is nearest ``current_hospitalized``
  among those that do not put the census peak before today; without one, the day before the
  peak of an unmitigated run whose census is nearest. Given the date of the first case
  instead, the doubling time is found by CHIME's grid search (15 points, refined 4 times).

Days are relative to today (day 0); arrays run from day ``-i_day`` to ``n_days``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "KINDS",
    "Chime",
    "ChimeParams",
    "Disposition",
    "chime",
    "growth_rate",
    "params_from_mapping",
    "sir_step",
]

#: Dispositions, in CHIME's order.
KINDS = ("hospitalized", "icu", "ventilated")


@dataclass(frozen=True)
class Disposition:
    """Share of infections needing this level of care (``rate``) and length of stay (days)."""

    rate: float
    days: int


@dataclass(frozen=True)
class ChimeParams:
    """CHIME's inputs. Give ``doubling_time`` or ``first_hospitalized_days_ago`` (the number
    of days since the first hospitalised case: CHIME's date of first hospitalisation)."""

    population: float
    current_hospitalized: float
    infectious_days: float
    market_share: float
    relative_contact_rate: float
    hospitalized: Disposition
    icu: Disposition
    ventilated: Disposition
    n_days: int
    doubling_time: float | None = None
    first_hospitalized_days_ago: int | None = None
    #: Days from today to the start of mitigation (negative: in the past); None: no date.
    mitigation_day: int | None = 0
    recovered: float = 0.0

    @property
    def dispositions(self) -> dict[str, Disposition]:
        """``hospitalized``, ``icu``, ``ventilated`` -> their ``Disposition``."""
        return {"hospitalized": self.hospitalized, "icu": self.icu, "ventilated": self.ventilated}


def growth_rate(doubling_time: float | None) -> float:
    """Daily growth rate from a doubling time in days: ``2^(1/Td) - 1`` (0 for none or 0)."""
    if doubling_time is None or doubling_time == 0.0:
        return 0.0
    return float(2.0 ** (1.0 / doubling_time) - 1.0)


def _beta(g: float, gamma: float, susceptible: float, relative_contact_rate: float) -> float:
    return (g + gamma) / susceptible * (1.0 - relative_contact_rate)


def sir_step(
    s: float, i: float, r: float, beta: float, gamma: float, n: float
) -> tuple[float, float, float]:
    """One day of CHIME's discrete SIR, rescaled to total ``n``."""
    s_n = (-beta * s * i) + s
    i_n = (beta * s * i - gamma * i) + i
    r_n = gamma * i + r
    scale = n / (s_n + i_n + r_n)
    return s_n * scale, i_n * scale, r_n * scale


def _sim_sir(
    s: float, i: float, r: float, gamma: float, i_day: int, policies: Sequence[tuple[float, int]]
) -> dict[str, np.ndarray]:
    n = s + i + r
    total = 1 + sum(days for _, days in policies)
    d_a = np.empty(total, dtype=np.int64)
    s_a, i_a, r_a = np.empty(total), np.empty(total), np.empty(total)
    d, index = i_day, 0
    for beta, n_days in policies:
        for _ in range(n_days):
            d_a[index], s_a[index], i_a[index], r_a[index] = d, s, i, r
            index += 1
            s, i, r = sir_step(s, i, r, beta, gamma, n)
            d += 1
    d_a[index], s_a[index], i_a[index], r_a[index] = d, s, i, r
    return {
        "day": d_a,
        "susceptible": s_a,
        "infected": i_a,
        "recovered": r_a,
        "ever_infected": i_a + r_a,
    }


def _dispositions(raw: dict[str, np.ndarray], p: ChimeParams) -> None:
    for kind, disp in p.dispositions.items():
        ever = raw["ever_infected"] * disp.rate * p.market_share
        raw[f"ever_{kind}"] = ever
        admits = np.empty_like(ever)
        admits[0] = np.nan
        admits[1:] = ever[1:] - ever[:-1]
        raw[f"admits_{kind}"] = admits
        los, n = disp.days, ever.size
        cumsum = np.empty(n + los)
        cumsum[: los + 1] = 0.0
        cumsum[los + 1 :] = admits[1:].cumsum()
        raw[f"census_{kind}"] = cumsum[los:] - cumsum[:-los]


@dataclass
class Chime:
    """A CHIME projection: ``frame`` has one row per day (``day`` relative to today) with
    susceptible, infected, recovered, ``ever_*``, ``admits_*`` and ``census_*`` per
    disposition; the scalars are CHIME's (``r_naught``, ``r_t``, ``doubling_time_t``, ...)."""

    params: ChimeParams
    i_day: int
    beta: float
    beta_t: float
    gamma: float
    intrinsic_growth_rate: float
    doubling_time: float
    r_naught: float
    r_t: float
    doubling_time_t: float
    raw: dict[str, np.ndarray] = field(repr=False)

    @property
    def frame(self) -> pd.DataFrame:
        """The daily projection as a DataFrame (CHIME's ``raw_df``)."""
        return pd.DataFrame(self.raw)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the scalars and, per day from today, admissions and census by kind."""
        today = self.raw["day"] >= 0
        days = [int(d) for d in self.raw["day"][today]]

        def col(name: str) -> list[float | None]:
            return [None if math.isnan(v) else round(float(v), 6) for v in self.raw[name][today]]

        return {
            "mode": "chime",
            "i_day": self.i_day,
            "doubling_time": self.doubling_time,
            "intrinsic_growth_rate": self.intrinsic_growth_rate,
            "beta": self.beta,
            "beta_t": self.beta_t,
            "gamma": self.gamma,
            "r_naught": self.r_naught,
            "r_t": self.r_t,
            "doubling_time_t": self.doubling_time_t,
            "days": days,
            "admits": {k: col(f"admits_{k}") for k in KINDS},
            "census": {k: col(f"census_{k}") for k in KINDS},
        }


class _Runner:
    def __init__(self, p: ChimeParams) -> None:
        self.p = p
        self.infected = 1.0 / p.market_share / p.hospitalized.rate
        self.susceptible = p.population - self.infected
        self.gamma = 1.0 / p.infectious_days
        self.beta = self.beta_t = 0.0
        self.i_day = 0

    def set_doubling(self, doubling_time: float) -> float:
        g = growth_rate(doubling_time)
        self.beta = _beta(g, self.gamma, self.susceptible, 0.0)
        self.beta_t = _beta(g, self.gamma, self.susceptible, self.p.relative_contact_rate)
        return g

    def policy(self) -> list[tuple[float, int]]:
        mitigation_day = 0 if self.p.mitigation_day is None else self.p.mitigation_day
        total = self.i_day + self.p.n_days
        mitigation_day = max(mitigation_day, -self.i_day)
        pre = self.i_day + mitigation_day
        return [(self.beta, pre), (self.beta_t, total - pre)]

    def run(self, policies: Sequence[tuple[float, int]]) -> dict[str, np.ndarray]:
        raw = _sim_sir(
            self.susceptible, self.infected, self.p.recovered, self.gamma, -self.i_day, policies
        )
        _dispositions(raw, self.p)
        return raw


def chime(params: ChimeParams) -> Chime:
    """Run CHIME's projection (see the module docstring for what is computed and how)."""
    p = params
    run = _Runner(p)
    if p.doubling_time is not None and p.first_hospitalized_days_ago is None:
        g = run.set_doubling(p.doubling_time)
        if p.mitigation_day is None:
            run.i_day = 0
            census = run.run([(run.beta, p.n_days)])["census_hospitalized"]
            peak = int(census.argmax())
            run.i_day = int(((census[:peak] - p.current_hospitalized) ** 2.0).argmin())
            raw = run.run(run.policy())
        else:
            best, best_loss, raw_best = -1, math.inf, None
            for i_day in range(p.n_days):
                run.i_day = i_day
                raw = run.run(run.policy())
                if raw["census_hospitalized"].argmax() < i_day:
                    continue
                loss = (raw["census_hospitalized"][i_day] - p.current_hospitalized) ** 2.0
                if loss < best_loss:
                    best, best_loss, raw_best = i_day, loss, raw
            if raw_best is None:
                raise ValueError("no day of first hospitalisation fits the current census")
            run.i_day, raw = best, raw_best
        doubling = p.doubling_time
    elif p.first_hospitalized_days_ago is not None and p.doubling_time is None:
        run.i_day = p.first_hospitalized_days_ago
        dts = np.linspace(1, 15, 15)
        best = _argmin_doubling(run, dts)
        for _ in range(4):
            dts = np.linspace(dts[best - 1], dts[best + 1], 15)
            best = _argmin_doubling(run, dts)
        doubling = float(dts[best])
        g = run.set_doubling(doubling)
        raw = run.run(run.policy())
    else:
        raise ValueError("give doubling_time or first_hospitalized_days_ago, not both or neither")
    s0, gamma = run.susceptible, run.gamma
    return Chime(
        params=replace(p, doubling_time=doubling),
        i_day=run.i_day,
        beta=run.beta,
        beta_t=run.beta_t,
        gamma=gamma,
        intrinsic_growth_rate=g,
        doubling_time=doubling,
        r_naught=run.beta / gamma * s0,
        r_t=run.beta_t / gamma * s0,
        doubling_time_t=float(1.0 / np.log2(run.beta_t * s0 - gamma + 1)),
        raw=raw,
    )


def _argmin_doubling(run: _Runner, dts: np.ndarray) -> int:
    losses = np.full(dts.shape[0], np.inf)
    for i, dt in enumerate(dts):
        run.set_doubling(float(dt))
        raw = run.run(run.policy())
        losses[i] = (run.p.current_hospitalized - raw["census_hospitalized"][run.i_day]) ** 2.0
    return int(pd.Series(losses).argmin())


def params_from_mapping(data: Mapping[str, Any]) -> ChimeParams:
    """``ChimeParams`` from a plain mapping (``twin.yaml``'s ``chime:`` section, JSON):
    dispositions as ``{rate:, days:}``."""
    d = dict(data)
    for kind in KINDS:
        v = d.get(kind)
        if isinstance(v, Mapping):
            d[kind] = Disposition(float(v["rate"]), int(v["days"]))
    return ChimeParams(**d)
