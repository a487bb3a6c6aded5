"""The population prior: drug effects on blood pressure by class and dose (Law et al. 2003).

Source: Law MR, Wald NJ, Morris JK, Jordan RE. Value of low dose combination treatment with
blood pressure lowering drugs: analysis of 354 randomised trials. BMJ 2003;326:1427
(doi:10.1136/bmj.326.7404.1427). Placebo-adjusted reductions (mm Hg, systolic / diastolic) at
half, standard and twice standard dose, standardised to a pretreatment blood pressure of
154/97 mm Hg (the trials' average). Where each figure comes from, and how sure, is in
``docs/patient.md``.

* Per class and dose (``DOSE_TABLE``): the paper's table of reductions by class at half,
  standard and twice standard dose, as transcribed from its full text (PMC162261); this machine
  read only the abstract directly. The standard-dose column and the 154/97 reference agree
  with two independent secondary transcriptions, the systolic half and double figures with
  one (an open-source model's tests); the all-categories row (``HALF_DOSE_AVERAGE``,
  ``STANDARD_DOSE_AVERAGE``, ``DOUBLE_DOSE_AVERAGE``; the first two in the abstract) is pooled
  over trials and lies within 0.2 mm Hg of the unweighted class mean at every dose.
* Pretreatment level: "for a 10 mm Hg higher blood pressure the reduction was 1.0 mm Hg
  systolic and 1.1 mm Hg diastolic greater" (95% CI 0.7 to 1.2 and 0.8 to 1.4; the paper, at
  standard dose); applied in proportion to each class's and dose's effect, so that the mean
  over the five classes at standard dose gains exactly 1.0 / 1.1 mm Hg per 10 mm Hg.
* Additive across classes: in the paper's 119 factorial comparisons two drugs together lowered
  systolic pressure by 14.6 mm Hg against 15.1 expected from each alone (difference -0.5,
  95% CI -1.4 to 0.4).

(Until 2026-11-21 the half dose scaled every class by the abstract's average ratio, 7.1/9.1
and 4.4/5.5, and the double dose was extrapolated log-linearly: both replaced by the table.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal, get_args

__all__ = [
    "CLASSES",
    "DOSES",
    "DOSE_TABLE",
    "DOSE_UNITS",
    "DOUBLE_DOSE_AVERAGE",
    "HALF_DOSE_AVERAGE",
    "PER_10_MMHG",
    "PER_10_MMHG_CI",
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
    "placebo-adjusted reductions by class at half, standard and twice standard dose, "
    "standardised to a pretreatment blood pressure of 154/97 mm Hg"
)
#: The pretreatment blood pressure the table is standardised to (systolic, diastolic; mm Hg):
#: the average in the trials (see docs/patient.md for the evidence).
REFERENCE_BP: Final = (154.0, 97.0)

#: Reduction (systolic, diastolic; mm Hg) from 154/97 mm Hg, per class and dose: the paper's
#: table (transcribed from PMC162261).
DOSE_TABLE: Final[Mapping[DrugClass, Mapping[Dose, tuple[float, float]]]] = {
    "thiazide": {"half": (7.4, 3.7), "standard": (8.8, 4.4), "double": (10.3, 5.0)},
    "ace_inhibitor": {"half": (6.9, 3.7), "standard": (8.5, 4.7), "double": (10.0, 5.7)},
    "arb": {"half": (7.8, 4.5), "standard": (10.3, 5.7), "double": (12.3, 6.5)},
    "ccb": {"half": (5.9, 3.9), "standard": (8.8, 5.9), "double": (11.7, 7.9)},
    "beta_blocker": {"half": (7.4, 5.6), "standard": (9.2, 6.7), "double": (11.1, 7.8)},
}
#: Reduction at standard dose (systolic, diastolic; mm Hg) from 154/97 mm Hg, per class.
STANDARD: Final[Mapping[DrugClass, tuple[float, float]]] = {
    c: DOSE_TABLE[c]["standard"] for c in CLASSES
}
#: The paper's "all categories" row (systolic, diastolic; mm Hg): pooled over trials, not the
#: unweighted mean of the classes. Half and standard are also in the abstract.
HALF_DOSE_AVERAGE: Final = (7.1, 4.4)
STANDARD_DOSE_AVERAGE: Final = (9.1, 5.5)
DOUBLE_DOSE_AVERAGE: Final = (10.9, 6.5)
_AVERAGE: Final[Mapping[Dose, tuple[float, float]]] = {
    "half": HALF_DOSE_AVERAGE,
    "standard": STANDARD_DOSE_AVERAGE,
    "double": DOUBLE_DOSE_AVERAGE,
}
#: Extra reduction per 10 mm Hg higher pretreatment pressure, average class, standard dose,
#: and its 95% confidence interval (systolic, diastolic; mm Hg).
PER_10_MMHG: Final = (1.0, 1.1)
PER_10_MMHG_CI: Final = ((0.7, 1.2), (0.8, 1.4))


#: The unweighted mean over classes of the standard-dose reductions (9.12 / 5.48 mm Hg).
_CLASS_MEAN: Final = (
    sum(v[0] for v in STANDARD.values()) / len(STANDARD),
    sum(v[1] for v in STANDARD.values()) / len(STANDARD),
)


def _check(drug: str, dose: str) -> None:
    if drug not in DOSE_TABLE:
        raise ValueError(f"unknown drug class '{drug}': choose one of {', '.join(CLASSES)}")
    if dose not in DOSE_UNITS:
        raise ValueError(f"unknown dose '{dose}': choose one of {', '.join(DOSES)}")


def dose_factor(dose: Dose, drug: DrugClass | None = None) -> tuple[float, float]:
    """The reduction at ``dose`` as a multiple of the standard-dose reduction (sys, dia): of
    ``drug`` from the paper's table, or (no drug) of the all-categories row (7.1/9.1 and
    4.4/5.5 at half dose, 10.9/9.1 and 6.5/5.5 at double dose)."""
    if drug is None:
        if dose not in _AVERAGE:
            raise ValueError(f"unknown dose '{dose}': choose one of {', '.join(DOSES)}")
        at, std = _AVERAGE[dose], STANDARD_DOSE_AVERAGE
    else:
        _check(drug, dose)
        at, std = DOSE_TABLE[drug][dose], STANDARD[drug]
    return (at[0] / std[0], at[1] / std[1])


def drug_effect(
    drug: DrugClass, dose: Dose, baseline: tuple[float, float] = REFERENCE_BP
) -> tuple[float, float]:
    """The expected placebo-adjusted reduction (systolic, diastolic; mm Hg, positive = lower)
    of one drug at ``dose`` from an untreated ``baseline`` (systolic, diastolic; mm Hg).

    At 154/97 mm Hg this is the table's cell; each 10 mm Hg of baseline above (below) it adds
    (removes) ``PER_10_MMHG`` scaled by the cell's share of the average standard-dose effect.
    A reduction is never negative (a baseline far below 154/97 gives zero, not a rise).
    """
    _check(drug, dose)
    cell = DOSE_TABLE[drug][dose]
    out = []
    for i in range(2):
        slope = PER_10_MMHG[i] / 10.0 / _CLASS_MEAN[i]  # relative, per mm Hg
        out.append(max(0.0, cell[i] * (1.0 + slope * (baseline[i] - REFERENCE_BP[i]))))
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
