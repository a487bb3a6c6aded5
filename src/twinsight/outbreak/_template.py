"""The outbreak template: SEIR with hospital, ICU and ventilator pathways, and its settings.

Compartments (counts of people): ``S`` susceptible, ``E`` infected not yet infectious, ``I``
infectious, ``R`` out of the chain (recovered, or died outside hospital), ``H`` in hospital
outside the ICU, ``C`` in the ICU not ventilated, ``V`` in the ICU on a ventilator.

- ``S -> E`` at ``R0 / infectious_days * I / N`` (contact changes scale ``R0`` from a date);
- ``E -> I`` at ``1 / incubation_days``;
- ``I`` leaves at ``1 / infectious_days``: to ``H`` with probability ``p_hosp`` (the share of
  infections this hospital admits: severity times market share), else to ``R``;
- ``H`` leaves at ``1 / los_ward_days``: to the ICU (``C``) with probability ``p_icu``;
- ``C`` leaves at ``1 / los_icu_days``: to a ventilator (``V``) with probability ``p_vent``;
- ``V`` leaves at ``1 / los_vent_days``.

Admissions are the daily flow ``I -> H``; beds in use are ``H + C + V``, ICU beds ``C + V``,
ventilators ``V``. Stays are exponential (one compartment each): the mean is the length of
stay, the spread that of an exponential. Days are whole days; day 0 is ``start`` (default:
the first observed day).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..compartments import CompartmentModel, Free, Intervention, Observation, Transition

__all__ = [
    "METRICS",
    "SEIR_HOSPITAL",
    "Capacity",
    "Measure",
    "OutbreakConfig",
    "free_parameters",
    "interventions",
    "measure_param",
    "observation",
]

SEIR_HOSPITAL = CompartmentModel(
    ("S", "E", "I", "R", "H", "C", "V"),
    (
        Transition("S", "E", ("R0", "/infectious_days"), force=("I",)),
        Transition("E", "I", ("/incubation_days",)),
        Transition("I", "R", ("/infectious_days", "1-p_hosp")),
        Transition("I", "H", ("/infectious_days", "p_hosp")),
        Transition("H", "R", ("/los_ward_days", "1-p_icu")),
        Transition("H", "C", ("/los_ward_days", "p_icu")),
        Transition("C", "R", ("/los_icu_days", "1-p_vent")),
        Transition("C", "V", ("/los_icu_days", "p_vent")),
        Transition("V", "R", ("/los_vent_days",)),
    ),
    initial={"I": "seed"},
)

#: What the twin observes, and how the model predicts it.
METRICS: dict[str, Observation] = {
    "admissions": Observation("admissions", flows=("I->H",)),
    "census": Observation("census", compartments=("H", "C", "V")),
    "icu": Observation("icu", compartments=("C", "V")),
    "ventilated": Observation("ventilated", compartments=("V",)),
}


Fitted = Literal["R0", "seed", "p_hosp"]
_DEFAULT_FIT: tuple[Fitted, ...] = ("R0", "seed")


class Measure(BaseModel):
    """A measure from ``date`` on that multiplies contacts (so ``R0``) by ``contact_factor``
    (1 = no change, 0.6 = 40% fewer); leave it out to have the calibration estimate it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    date: date
    contact_factor: float | None = Field(default=None, gt=0, le=3)
    name: str | None = None


class Capacity(BaseModel):
    """What the hospital has for the outbreak's patients (each optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    beds: int | None = Field(default=None, gt=0)
    icu: int | None = Field(default=None, gt=0)
    ventilators: int | None = Field(default=None, gt=0)

    def of(self, metric: str) -> int | None:
        """The capacity that bounds ``metric`` (census, icu, ventilated), if given."""
        return {"census": self.beds, "icu": self.icu, "ventilated": self.ventilators}.get(metric)


class OutbreakConfig(BaseModel):
    """The ``outbreak:`` section of an outbreak twin's ``twin.yaml``. Durations in days,
    shares between 0 and 1; ``R0`` and ``seed`` are starting values for the calibration
    (or the values used when they are not fitted)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    population: float = Field(gt=0)
    R0: float = Field(default=2.5, gt=0, le=20)
    seed: float = Field(default=10.0, gt=0)
    incubation_days: float = Field(default=3.0, gt=0)
    infectious_days: float = Field(default=5.0, gt=0)
    p_hosp: float = Field(default=0.02, gt=0, lt=1)
    los_ward_days: float = Field(default=7.0, gt=0)
    p_icu: float = Field(default=0.25, ge=0, le=1)
    los_icu_days: float = Field(default=9.0, gt=0)
    p_vent: float = Field(default=0.5, ge=0, le=1)
    los_vent_days: float = Field(default=10.0, gt=0)
    measures: list[Measure] = Field(default_factory=list)
    #: Parameters to estimate besides each measure without a factor: R0, seed, p_hosp.
    fit: list[Fitted] = Field(default_factory=lambda: list(_DEFAULT_FIT))
    #: The series to fit (default: admissions when observed, else census).
    series: list[Literal["admissions", "census", "icu", "ventilated"]] | None = None
    #: Count noise: ``auto`` (Poisson or negative binomial by AIC), ``negbin``, ``poisson``.
    noise: Literal["auto", "negbin", "poisson"] = "auto"
    method: Literal["difference", "ode"] = "difference"
    #: Day 0 of the model (default: the first observed day).
    start: date | None = None
    #: Beds, ICU beds and ventilators available (optional): forecasts give the chance of
    #: needing more than these.
    capacity: Capacity | None = None

    @model_validator(mode="after")
    def _check(self) -> OutbreakConfig:
        if self.seed >= self.population:
            raise ValueError("seed must be smaller than the population")
        if len({m.date for m in self.measures}) != len(self.measures):
            raise ValueError("two measures on the same date: merge them into one")
        return self

    def fixed(self) -> dict[str, float]:
        """Every model parameter's configured value (what is not estimated)."""
        names = (
            "population",
            "R0",
            "seed",
            "incubation_days",
            "infectious_days",
            "p_hosp",
            "los_ward_days",
            "p_icu",
            "los_icu_days",
            "p_vent",
            "los_vent_days",
        )
        out = {n: float(getattr(self, n)) for n in names}
        for i, m in enumerate(self.measures):
            if m.contact_factor is not None:
                out[measure_param(i)] = m.contact_factor
        return out


def measure_param(index: int) -> str:
    """The parameter name of measure ``index``'s contact factor."""
    return f"contact_{index + 1}"


def interventions(config: OutbreakConfig, start: date) -> list[Intervention]:
    """The measures as interventions on ``R0``, days counted from ``start``."""
    return [
        Intervention("R0", float((m.date - start).days), measure_param(i))
        for i, m in enumerate(config.measures)
    ]


def free_parameters(config: OutbreakConfig) -> list[Free]:
    """What the calibration estimates: ``config.fit`` and every measure without a factor."""
    out: list[Free] = []
    for name in config.fit:
        if name == "R0":
            out.append(Free("R0", config.R0, 0.0, 20.0))
        elif name == "seed":
            out.append(Free("seed", config.seed, 0.0, config.population / 10.0))
        else:
            out.append(Free("p_hosp", config.p_hosp, 0.0, 1.0))
    for i, m in enumerate(config.measures):
        if m.contact_factor is None:
            out.append(Free(measure_param(i), 0.7, 0.0, 3.0))
    return out


def observation(metric: str) -> Observation:
    """How the model predicts ``metric`` (admissions, census, icu, ventilated)."""
    try:
        return METRICS[metric]
    except KeyError:
        raise ValueError(f"unknown metric '{metric}': use one of {', '.join(METRICS)}") from None
