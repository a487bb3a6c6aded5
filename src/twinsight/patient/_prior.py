"""The population prior: drug effects on blood pressure by class and dose (Law et al. 2003).

Source: Law MR, Wald NJ, Morris JK, Jordan RE. Value of low dose combination treatment with
blood pressure lowering drugs: analysis of 354 randomised trials. BMJ 2003;326:1427
(doi:10.1136/bmj.326.7404.1427). Placebo-adjusted reductions (mm Hg) at standard dose,
standardised to a pretreatment blood pressure of 154/97 mm Hg (the trials' average); the
sources and the assumptions (half and double dose, the scaling with the pretreatment level) are
in ``docs/patient.md``. (Until 2026-11-21 this module took the figures as standardised to
150/90: the abstract's conclusion, three half doses lowering 150/90 by 20/11 mm Hg, is
reproduced with 154/97 (20.4 / 11.3 for the average class) and not with 150/90 (21.3 / 13.2).)

* Standard dose, per class (``STANDARD``): the per-class figures of the paper's table as
  reproduced in secondary sources; their unweighted mean is 9.1 / 5.5 mm Hg, the abstract's
  average at standard dose.
* Half dose: the abstract's average at half standard dose, 7.1 / 4.4 mm Hg, against 9.1 / 5.5
  at standard dose ("20% lower"): every class is scaled by 7.1 / 9.1 (systolic) and 4.4 / 5.5
  (diastolic).
* Double dose: not an abstract figure; extrapolated log-linearly in dose from the half-to-standard
  step (standard x (2 - 7.1/9.1), 2 - 4.4/5.5), an assumption flagged as such.
* Pretreatment level: "for a 10 mm Hg higher blood pressure the reduction was 1.0 mm Hg systolic
  and 1.1 mm Hg diastolic greater" (abstract); applied in proportion to each class's effect, so
  that the mean over the five classes at standard dose gains exactly 1.0 / 1.1 mm Hg per 10 mm Hg.
* Additive across classes (the paper's finding for combinations of two and three drugs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal, get_args

__all__ = [
    "CLASSES",
    "DOSES",
    "DOSE_UNITS",
    "HALF_DOSE_AVERAGE",
    "PER_10_MMHG",
    "REFERENCE_BP",
    "SOURCE",
    "STANDARD",
    "STANDARD_DOSE_AVERAGE",
    "Dose",
    "DrugClass",
    "dose_factor",
    "drug_effect",
    "regimen_effect",
]

DrugClass = Literal["thiazide", "ace_inhibitor", "arb", "ccb", "beta_blocker"]
Dose = Literal["half", "standard", "double"]

#: The five classes of the meta-analysis, in the order of the model's parameters.
CLASSES: Final[tuple[DrugClass, ...]] = get_args(DrugClass)
#: Doses as multiples of the standard (recommended) dose.
DOSES: Final[tuple[Dose, ...]] = get_args(Dose)
DOSE_UNITS: Final[Mapping[Dose, float]] = {"half": 0.5, "standard": 1.0, "double": 2.0}

SOURCE: Final = (
    "Law MR, Wald NJ, Morris JK, Jordan RE. BMJ 2003;326:1427 (354 randomised trials), "
    "placebo-adjusted reductions standardised to a pretreatment blood pressure of 154/97 mm Hg"
)
#: The pretreatment blood pressure the table is standardised to (systolic, diastolic; mm Hg):
#: the average in the trials (see docs/patient.md for the evidence).
REFERENCE_BP: Final = (154.0, 97.0)

#: Reduction at standard dose (systolic, diastolic; mm Hg) from 154/97 mm Hg, per class.
STANDARD: Final[Mapping[DrugClass, tuple[float, float]]] = {
    "thiazide": (8.8, 4.4),
    "ace_inhibitor": (8.5, 4.7),
    "arb": (10.3, 5.7),
    "ccb": (8.8, 5.9),
    "beta_blocker": (9.2, 6.7),
}
#: The abstract's averages over all classes (systolic, diastolic; mm Hg).
STANDARD_DOSE_AVERAGE: Final = (9.1, 5.5)
HALF_DOSE_AVERAGE: Final = (7.1, 4.4)
#: Extra reduction per 10 mm Hg higher pretreatment pressure, average class, standard dose.
PER_10_MMHG: Final = (1.0, 1.1)


#: The unweighted mean over classes of the standard-dose reductions (9.12 / 5.48 mm Hg).
_CLASS_MEAN: Final = (
    sum(v[0] for v in STANDARD.values()) / len(STANDARD),
    sum(v[1] for v in STANDARD.values()) / len(STANDARD),
)


def dose_factor(dose: Dose) -> tuple[float, float]:
    """The reduction at ``dose`` as a multiple of the standard-dose reduction (sys, dia)."""
    half = (
        HALF_DOSE_AVERAGE[0] / STANDARD_DOSE_AVERAGE[0],
        HALF_DOSE_AVERAGE[1] / STANDARD_DOSE_AVERAGE[1],
    )
    if dose == "standard":
        return (1.0, 1.0)
    if dose == "half":
        return half
    if dose == "double":  # log-linear in dose: one doubling adds what one halving removes
        return (2.0 - half[0], 2.0 - half[1])
    raise ValueError(f"unknown dose '{dose}': choose one of {', '.join(DOSES)}")


def drug_effect(
    drug: DrugClass, dose: Dose, baseline: tuple[float, float] = REFERENCE_BP
) -> tuple[float, float]:
    """The expected placebo-adjusted reduction (systolic, diastolic; mm Hg, positive = lower)
    of one drug at ``dose`` from an untreated ``baseline`` (systolic, diastolic; mm Hg).

    At 154/97 mm Hg this is the table (times the dose factor); each 10 mm Hg of baseline above
    (below) it adds (removes) ``PER_10_MMHG`` scaled by the drug's share of the average effect.
    A reduction is never negative (a baseline far below 154/97 gives zero, not a rise).
    """
    if drug not in STANDARD:
        raise ValueError(f"unknown drug class '{drug}': choose one of {', '.join(CLASSES)}")
    factors = dose_factor(dose)
    out = []
    for i in range(2):
        base = STANDARD[drug][i] * factors[i]
        slope = PER_10_MMHG[i] / 10.0 / _CLASS_MEAN[i]  # relative, per mm Hg
        out.append(max(0.0, base * (1.0 + slope * (baseline[i] - REFERENCE_BP[i]))))
    return (out[0], out[1])


def regimen_effect(
    regimen: Mapping[DrugClass, Dose], baseline: tuple[float, float] = REFERENCE_BP
) -> tuple[float, float]:
    """The expected reduction of a combination (additive across classes), mm Hg."""
    total = [0.0, 0.0]
    for drug, dose in regimen.items():
        s, d = drug_effect(drug, dose, baseline)
        total[0] += s
        total[1] += d
    return (total[0], total[1])
