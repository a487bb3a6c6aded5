"""10-year risk of a first hard ASCVD event: the Pooled Cohort Equations (Goff et al. 2013).

Source: Goff DC Jr, Lloyd-Jones DM, Bennett G, et al. 2013 ACC/AHA Guideline on the Assessment
of Cardiovascular Risk. Circulation 2014;129(suppl 2):S49-S73 (doi:10.1161/01.cir.0000437741.
48606.98), Table A (coefficients, mean of the sum, baseline survival at 10 years) and its worked
example (a 55-year-old, total cholesterol 213 mg/dL, HDL 50 mg/dL, untreated systolic 120 mm Hg,
non-smoker, not diabetic: 2.1% white woman, 3.0% African-American woman, 5.3% white man, 6.1%
African-American man). Risk = 1 - S10 ** exp(sum - mean). The guideline suggests the white
equations for other groups (they may over- or under-estimate); they are valid for ages 40-79.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["PCE_SOURCE", "PceGroup", "pooled_cohort_risk"]

PCE_SOURCE: Final = (
    "Goff DC Jr et al. 2013 ACC/AHA Guideline on the Assessment of Cardiovascular Risk, "
    "Circulation 2014;129(suppl 2):S49-S73, Table A (Pooled Cohort Equations)"
)

PceGroup = Literal["white_female", "african_american_female", "white_male", "african_american_male"]


@dataclass(frozen=True)
class _Coefficients:
    ln_age: float
    ln_age_sq: float
    ln_tc: float
    ln_age_ln_tc: float
    ln_hdl: float
    ln_age_ln_hdl: float
    ln_treated_sbp: float
    ln_age_ln_treated_sbp: float
    ln_untreated_sbp: float
    ln_age_ln_untreated_sbp: float
    smoker: float
    ln_age_smoker: float
    diabetes: float
    mean: float
    baseline_survival: float


# fmt: off
_TABLE_A: Final[dict[str, _Coefficients]] = {
    # columns: ln age, ln age^2, ln TC, ln age*ln TC, ln HDL, ln age*ln HDL,
    #   ln treated SBP, lnage*ln treated SBP, ln untreated SBP, lnage*ln untreated SBP,
    #   smoker, lnage*smoker, diabetes, mean of the sum, baseline 10-year survival
    "white_female": _Coefficients(-29.799, 4.884, 13.540, -3.114, -13.578, 3.149,
                                  2.019, 0.0, 1.957, 0.0, 7.574, -1.665, 0.661, -29.18, 0.9665),
    "african_american_female": _Coefficients(17.114, 0.0, 0.940, 0.0, -18.920, 4.475,
                                             29.291, -6.432, 27.820, -6.087, 0.691, 0.0, 0.874,
                                             86.61, 0.9533),
    "white_male": _Coefficients(12.344, 0.0, 11.853, -2.664, -7.990, 1.769,
                                1.797, 0.0, 1.764, 0.0, 7.837, -1.795, 0.658, 61.18, 0.9144),
    "african_american_male": _Coefficients(2.469, 0.0, 0.302, 0.0, -0.307, 0.0,
                                           1.916, 0.0, 1.809, 0.0, 0.549, 0.0, 0.645,
                                           19.54, 0.8954),
}
# fmt: on


def pooled_cohort_risk(
    *,
    age: float,
    sex: Literal["female", "male"],
    race: Literal["white", "african_american", "other"],
    total_cholesterol: float,
    hdl_cholesterol: float,
    systolic: float,
    treated: bool,
    smoker: bool,
    diabetic: bool,
) -> float:
    """The 10-year risk (a probability, 0-1) of a first hard ASCVD event (coronary death,
    non-fatal myocardial infarction, fatal or non-fatal stroke).

    ``age`` in years (40-79, the equations' range), cholesterol in mg/dL, ``systolic`` in mm Hg
    (``treated``: on blood-pressure drugs). ``race='other'`` uses the white equations, as the
    guideline suggests. Raises ``ValueError`` outside the range or for non-positive values.
    """
    if not 40 <= age <= 79:
        raise ValueError(f"age {age:g}: the Pooled Cohort Equations are valid for ages 40-79")
    for label, value in (
        ("total_cholesterol", total_cholesterol),
        ("hdl_cholesterol", hdl_cholesterol),
        ("systolic", systolic),
    ):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{label}: {value} is not a positive number")
    if sex not in ("female", "male"):
        raise ValueError(f"sex '{sex}': give female or male")
    if race not in ("white", "african_american", "other"):
        raise ValueError(f"race '{race}': give white, african_american or other")
    group = f"{'african_american' if race == 'african_american' else 'white'}_{sex}"
    c = _TABLE_A[group]
    la = math.log(age)
    ltc = math.log(total_cholesterol)
    lhdl = math.log(hdl_cholesterol)
    lsbp = math.log(systolic)
    total = (
        c.ln_age * la
        + c.ln_age_sq * la * la
        + c.ln_tc * ltc
        + c.ln_age_ln_tc * la * ltc
        + c.ln_hdl * lhdl
        + c.ln_age_ln_hdl * la * lhdl
        + (
            (c.ln_treated_sbp + c.ln_age_ln_treated_sbp * la) * lsbp
            if treated
            else (c.ln_untreated_sbp + c.ln_age_ln_untreated_sbp * la) * lsbp
        )
        + (c.smoker + c.ln_age_smoker * la) * float(smoker)
        + c.diabetes * float(diabetic)
    )
    return float(1.0 - c.baseline_survival ** math.exp(total - c.mean))
