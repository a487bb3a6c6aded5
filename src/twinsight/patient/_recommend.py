"""Decision support: the regimens most likely to reach a patient's target, fewest drugs first.

Every combination of up to ``max_drugs`` classes (not contraindicated; never an ACE inhibitor
with an ARB, a combination guidelines advise against) at half, standard or double dose is
predicted at full effect from the same posterior draws (common random numbers, an injected
seed), and ranked: the regimens whose probability of a usual pressure below the target reaches
``min_probability``, by number of drugs, then total dose (in standard doses), then probability;
then the others by probability. When the posterior sd of a proposed class's response exceeds
``thin_sd`` the evidence for this patient is thin and an N-of-1 sequence is suggested.

Decision support for clinicians, not medical advice.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from ._model import ONSET_DAYS, BloodPressureModel
from ._prior import CLASSES, DOSE_UNITS, DOSES, SOURCE, Dose, DrugClass
from ._profile import PatientProfile
from ._risk import PCE_SOURCE, pooled_cohort_risk

__all__ = [
    "DISCLAIMER",
    "EXCLUDED_PAIRS",
    "Option",
    "Recommendation",
    "candidate_regimens",
    "recommend",
    "regimen_label",
]

DISCLAIMER: Final = (
    "Decision support for clinicians, not medical advice: estimates from population trial "
    "data and this patient's home readings; a clinician decides."
)
#: Pairs of classes never combined (dual renin-angiotensin blockade).
EXCLUDED_PAIRS: Final = frozenset({frozenset({"ace_inhibitor", "arb"})})

Regimen = Mapping[DrugClass, Dose]


def regimen_label(regimen: Regimen) -> str:
    """``thiazide:standard+ccb:half`` (classes in the prior's order); ``none`` for no drug."""
    parts = [f"{c}:{regimen[c]}" for c in CLASSES if c in regimen]
    return "+".join(parts) or "none"


def candidate_regimens(
    contraindications: Sequence[str] = (), max_drugs: int = 3
) -> list[dict[DrugClass, Dose]]:
    """No drug, then every allowed combination of 1..``max_drugs`` classes x doses."""
    allowed = [c for c in CLASSES if c not in set(contraindications)]
    out: list[dict[DrugClass, Dose]] = [{}]
    for size in range(1, max_drugs + 1):
        for classes in itertools.combinations(allowed, size):
            if any(pair <= set(classes) for pair in EXCLUDED_PAIRS):
                continue
            for doses in itertools.product(DOSES, repeat=size):
                out.append(dict(zip(classes, doses, strict=True)))
    return out


@dataclass(frozen=True)
class Option:
    """One regimen's predicted usual pressure at full effect (mm Hg) and P(below target)."""

    regimen: dict[DrugClass, Dose]
    probability: float
    systolic: tuple[float, float, float]  # median, 5%, 95%
    diastolic: tuple[float, float, float]

    @property
    def drugs(self) -> int:
        return len(self.regimen)

    @property
    def dose_units(self) -> float:
        return sum(DOSE_UNITS[d] for d in self.regimen.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "regimen": regimen_label(self.regimen),
            "drugs": dict(self.regimen),
            "p_target": round(self.probability, 3),
            "systolic": {
                "median": round(self.systolic[0], 1),
                "lo90": round(self.systolic[1], 1),
                "hi90": round(self.systolic[2], 1),
            },
            "diastolic": {
                "median": round(self.diastolic[0], 1),
                "lo90": round(self.diastolic[1], 1),
                "hi90": round(self.diastolic[2], 1),
            },
        }


@dataclass(frozen=True)
class Recommendation:
    """Ranked options, the current regimen's prediction, 10-year risks and an N-of-1 plan."""

    target: tuple[float, float]
    current: Option
    options: list[Option]
    risk: dict[str, Any]
    n_of_1: dict[str, Any] | None
    evidence: dict[DrugClass, float]
    seed: int
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "disclaimer": DISCLAIMER,
            "target": {"systolic": self.target[0], "diastolic": self.target[1]},
            "current": self.current.to_dict(),
            "options": [o.to_dict() for o in self.options],
            "risk_10y": self.risk,
            "n_of_1": self.n_of_1,
            "response_sd": {k: round(v, 3) for k, v in self.evidence.items()},
            "seed": self.seed,
            "warnings": list(self.warnings),
            "sources": {"prior": SOURCE, "risk": PCE_SOURCE},
        }


def _quantiles(values: np.ndarray) -> tuple[float, float, float]:
    q = np.quantile(values, [0.5, 0.05, 0.95])
    return (float(q[0]), float(q[1]), float(q[2]))


def _risk(profile: PatientProfile, systolic: float, treated: bool) -> float | None:
    if profile.total_cholesterol is None or profile.hdl_cholesterol is None:
        return None
    if not 40 <= profile.age <= 79:
        return None
    return pooled_cohort_risk(
        age=profile.age,
        sex=profile.sex,
        race=profile.race,
        total_cholesterol=profile.total_cholesterol,
        hdl_cholesterol=profile.hdl_cholesterol,
        systolic=systolic,
        treated=treated,
        smoker=profile.smoker,
        diabetic=profile.diabetic,
    )


def _n_of_1(
    options: list[Option],
    evidence: Mapping[DrugClass, float],
    thin_sd: float,
    onset_scale: float,
    rng: np.random.Generator,
) -> dict[str, Any] | None:
    """ABAB-style crossover of the best regimen and the best one with other classes (from all
    the ranked options, not only those listed), when the evidence on a class is thin."""
    if len(options) < 2:
        return None
    first = options[0]
    second = next((o for o in options[1:] if set(o.regimen) != set(first.regimen)), None)
    if second is None:
        return None
    classes = set(first.regimen) | set(second.regimen)
    thin = {c: evidence[c] for c in classes if evidence[c] > thin_sd}
    if not thin:
        return None
    slowest = max(ONSET_DAYS[c] for c in classes) * onset_scale
    period = max(14, math.ceil(3.0 * slowest))  # ~95% of the effect reached within a period
    order: list[str] = []
    for _ in range(2):  # two pairs, each in a random order
        order += ["A", "B"] if rng.random() < 0.5 else ["B", "A"]
    return {
        "why": "the evidence on this patient's response is thin (posterior sd of the response "
        f"multiplier above {thin_sd:g} for {', '.join(sorted(thin))})",
        "A": regimen_label(first.regimen),
        "B": regimen_label(second.regimen),
        "sequence": order,
        "period_days": period,
        "measure": "two readings morning and evening (each the mean of 2) on the last 7 days "
        "of each period; compare A with B within each pair",
    }


def recommend(
    model: BloodPressureModel,
    profile: PatientProfile,
    *,
    draws: int = 4000,
    seed: int = 0,
    min_probability: float = 0.8,
    top: int = 5,
    thin_sd: float = 0.3,
) -> Recommendation:
    """Rank the allowed regimens for a fitted ``model`` (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    theta, scales = model.sample(draws, rng)
    target = (profile.target.systolic, profile.target.diastolic)
    regimens = candidate_regimens(profile.contraindications, profile.max_drugs)
    current = profile.current()
    sys, dia = model.steady_state([current, *regimens], theta)
    reach = (sys < target[0]) & (dia < target[1])
    built = [
        Option(dict(r), float(reach[:, i].mean()), _quantiles(sys[:, i]), _quantiles(dia[:, i]))
        for i, r in enumerate([current, *regimens])
    ]
    now, options = built[0], built[1:]
    good = sorted(
        (o for o in options if o.probability >= min_probability),
        key=lambda o: (o.drugs, o.dose_units, -o.probability, regimen_label(o.regimen)),
    )
    rest = sorted(
        (o for o in options if o.probability < min_probability),
        key=lambda o: (-o.probability, o.drugs, o.dose_units, regimen_label(o.regimen)),
    )
    ordered = good + rest
    ranked = ordered[:top]
    sd = model.response_sd_()
    evidence = {c: float(sd[k]) for k, c in enumerate(CLASSES)}
    best = ranked[0] if ranked else now
    before = _risk(profile, now.systolic[0], bool(current))
    after = _risk(profile, best.systolic[0], bool(best.regimen))
    risk: dict[str, Any] = {
        "before": None if before is None else round(before, 4),
        "after": None if after is None else round(after, 4),
        "regimen_after": regimen_label(best.regimen),
        "method": "Pooled Cohort Equations at the predicted usual systolic pressure (median)",
    }
    if before is None:
        risk["note"] = "needs total and HDL cholesterol and an age of 40-79 in the profile"
    plan = _n_of_1(ordered, evidence, thin_sd, float(scales.mean()), rng)
    warnings = tuple(
        f"the current regimen includes {c}, listed as contraindicated"
        for c in CLASSES
        if c in current and c in profile.contraindications
    )
    return Recommendation(target, now, ranked, risk, plan, evidence, seed, warnings)
