"""The patient twin's prior reproduces the figures of Law, Wald, Morris, Jordan (BMJ 2003).

Exact figures (no tolerance beyond float rounding): the table's reductions at standard dose
from 154/97 mm Hg (the trials' average pretreatment pressure) by class; the abstract's averages
(9.1 / 5.5 at standard dose, 7.1 / 4.4 at half dose, to the 0.05 mm Hg of their printed
precision); 1.0 / 1.1 mm Hg more per 10 mm Hg of pretreatment pressure; additivity across
classes; the conclusion's 20 / 11 from 150/90. See docs/patient.md for the sources.
"""

from __future__ import annotations

import itertools

import pytest

from twinsight.patient import CLASSES, DOSES, STANDARD, drug_effect, regimen_effect

#: Placebo-adjusted reduction at standard dose from 154/97 mm Hg (systolic, diastolic), by class.
TABLE = {
    "thiazide": (8.8, 4.4),
    "beta_blocker": (9.2, 6.7),
    "ace_inhibitor": (8.5, 4.7),
    "arb": (10.3, 5.7),
    "ccb": (8.8, 5.9),
}
PRINTED = 0.05  # half the last printed digit (0.1 mm Hg)


@pytest.mark.parametrize("drug", sorted(TABLE))
def test_standard_dose_reproduces_the_table(drug: str) -> None:
    assert drug_effect(drug, "standard") == pytest.approx(TABLE[drug], abs=1e-12)  # type: ignore[arg-type]


def test_the_prior_has_the_five_classes_and_three_doses() -> None:
    assert set(CLASSES) == set(TABLE) == set(STANDARD)
    assert DOSES == ("half", "standard", "double")


def test_average_class_at_standard_and_half_dose_matches_the_abstract() -> None:
    standard = [drug_effect(c, "standard") for c in CLASSES]
    half = [drug_effect(c, "half") for c in CLASSES]
    for i, (std, hlf) in enumerate(zip((9.1, 5.5), (7.1, 4.4), strict=True)):
        assert sum(e[i] for e in standard) / 5 == pytest.approx(std, abs=PRINTED)
        assert sum(e[i] for e in half) / 5 == pytest.approx(hlf, abs=PRINTED)
    # "20% lower" at half dose
    for c in CLASSES:
        assert drug_effect(c, "half")[1] / drug_effect(c, "standard")[1] == pytest.approx(0.8)


def test_double_dose_extrapolates_the_half_to_standard_step() -> None:
    for c in CLASSES:
        h, s, d = (drug_effect(c, dose) for dose in DOSES)
        for i in range(2):
            assert d[i] - s[i] == pytest.approx(s[i] - h[i], abs=1e-12)


def test_a_10_mmhg_higher_baseline_adds_1_0_and_1_1_mmhg_on_average() -> None:
    for base, higher in ((150.0, 160.0), (140.0, 150.0), (160.0, 170.0)):
        dia = base - 60.0
        lo = [drug_effect(c, "standard", (base, dia)) for c in CLASSES]
        hi = [drug_effect(c, "standard", (higher, dia + 10.0)) for c in CLASSES]
        assert sum(h[0] - low[0] for h, low in zip(hi, lo, strict=True)) / 5 == pytest.approx(1.0)
        assert sum(h[1] - low[1] for h, low in zip(hi, lo, strict=True)) / 5 == pytest.approx(1.1)


def test_combinations_are_additive() -> None:
    for a, b, c in itertools.combinations(CLASSES, 3):
        for doses in itertools.product(DOSES, repeat=3):
            regimen = dict(zip((a, b, c), doses, strict=True))
            total = regimen_effect(regimen, (165.0, 100.0))
            parts = [drug_effect(k, v, (165.0, 100.0)) for k, v in regimen.items()]
            assert total == pytest.approx(tuple(sum(p[i] for p in parts) for i in range(2)))


def test_three_half_doses_from_150_90_as_in_the_conclusions() -> None:
    """The abstract's conclusion: "From the average blood pressure in people who have strokes
    (150/90 mm Hg) three drugs at half standard dose are estimated to lower blood pressure by
    20 mm Hg systolic and 11 mm Hg diastolic". Three average-class half doses from 150/90, the
    table standardised to 154/97: 20.4 / 11.3, within the printed rounding (0.5). (With the table
    taken at 150/90 it would be 21.3 / 13.2: the diastolic figure rules that reading out.)"""
    triples = [
        regimen_effect({c: "half" for c in combo}, (150.0, 90.0))
        for combo in itertools.combinations(CLASSES, 3)
    ]
    mean = tuple(sum(t[i] for t in triples) / len(triples) for i in range(2))
    assert mean[0] == pytest.approx(20.0, abs=0.5)
    assert mean[1] == pytest.approx(11.0, abs=0.5)
