"""The emulated hospital's parameters: wards, arrival shapes, triage, lengths of stay.

These numbers define *reality* for the tests of the hospital twin. They are deliberately not
shared with any Twinsight spec or engine. Times are in hours unless a name says ``days``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["SPECIALTY_WARDS", "WARD_SHARES", "HospitalParams", "LosMixture"]

#: Share of the inpatient beds (``--beds``) given to each unit; the ED has no bed limit.
WARD_SHARES: dict[str, float] = {
    "MED1": 0.28,
    "MED2": 0.28,
    "SURG": 0.18,
    "ORTHO": 0.21,
    "ICU": 0.05,
}

#: The wards that take each specialty (a medical patient goes to MED1 or MED2 at random).
SPECIALTY_WARDS: dict[str, tuple[str, ...]] = {
    "medicine": ("MED1", "MED2"),
    "surgery": ("SURG",),
    "orthopaedics": ("ORTHO",),
}


@dataclass(frozen=True)
class LosMixture:
    """Length of stay on a ward, in days: a short-stay lognormal mixed with a long-stay one.

    With probability ``p_short`` the stay is lognormal with median ``short_median_days`` and
    log-sd ``short_sigma``; otherwise lognormal with median ``long_median_days`` and log-sd
    ``long_sigma`` (the long tail).
    """

    p_short: float
    short_median_days: float
    short_sigma: float
    long_median_days: float
    long_sigma: float

    def mean_days(self) -> float:
        """The analytic mean of the mixture, in days."""
        short = self.short_median_days * math.exp(self.short_sigma**2 / 2)
        long = self.long_median_days * math.exp(self.long_sigma**2 / 2)
        return self.p_short * short + (1 - self.p_short) * long

    def sample_days(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` independent stays, in days."""
        short = rng.random(size) < self.p_short
        median = np.where(short, self.short_median_days, self.long_median_days)
        sigma = np.where(short, self.short_sigma, self.long_sigma)
        return np.asarray(median * np.exp(sigma * rng.standard_normal(size)), dtype=float)


def _default_los() -> dict[str, LosMixture]:
    return {
        "medicine": LosMixture(0.35, 0.8, 0.5, 4.9, 0.8),
        "surgery": LosMixture(0.45, 1.0, 0.5, 4.0, 0.7),
        "orthopaedics": LosMixture(0.25, 1.2, 0.5, 5.0, 0.7),
    }


@dataclass(frozen=True)
class HospitalParams:
    """Everything that shapes the generated history (see docs/emulator.md)."""

    #: Mean ED arrivals per day per inpatient bed (before weekday, season and surge factors).
    ed_arrivals_per_bed_day: float = 0.52
    #: Relative ED arrival intensity by hour of day 0-23 (night trough, late-morning peak).
    hour_shape: tuple[float, ...] = (
        0.55, 0.45, 0.38, 0.33, 0.30, 0.32, 0.45, 0.70, 1.00, 1.30, 1.45, 1.50,
        1.45, 1.40, 1.35, 1.30, 1.28, 1.25, 1.22, 1.18, 1.05, 0.92, 0.80, 0.67,
    )  # fmt: skip
    #: Relative ED arrival intensity Monday..Sunday (Monday busiest, Sunday quietest).
    weekday_shape: tuple[float, ...] = (1.16, 1.05, 1.00, 0.99, 1.00, 0.92, 0.88)
    #: Winter effect: intensity x (1 + amplitude cos(2 pi (day_of_year - peak) / 365.25)).
    season_amplitude: float = 0.12
    season_peak_day_of_year: int = 15
    #: Probability that a day is a surge day, and the range of its intensity multiplier.
    surge_day_prob: float = 0.04
    surge_multiplier: tuple[float, float] = (1.25, 1.6)
    #: Triage acuity 1 (most urgent) .. 5: shares, admission probability, ICU share of admits.
    acuity_shares: tuple[float, ...] = (0.02, 0.15, 0.45, 0.30, 0.08)
    admit_prob: tuple[float, ...] = (0.90, 0.60, 0.30, 0.08, 0.02)
    icu_prob: tuple[float, ...] = (0.45, 0.12, 0.02, 0.0, 0.0)
    #: Specialty of an emergency admission.
    emergency_specialty: dict[str, float] = field(
        default_factory=lambda: {"medicine": 0.66, "surgery": 0.19, "orthopaedics": 0.15}
    )
    #: Time in the ED, hours (lognormal median, log-sd): to leave (not admitted) or to the
    #: decision to admit (then the patient boards in the ED until a bed is free).
    ed_stay_median_h: float = 2.8
    ed_decision_median_h: float = 3.2
    ed_sigma: float = 0.55
    #: Elective admissions per weekday per inpatient bed, between 07:00 and 10:00.
    electives_per_bed_weekday: float = 0.032
    elective_specialty: dict[str, float] = field(
        default_factory=lambda: {"surgery": 0.55, "orthopaedics": 0.45}
    )
    #: Share of elective admissions that go to the ICU first (major surgery).
    elective_icu_prob: float = 0.05
    #: ICU stay, days (lognormal median, log-sd); share who leave the hospital from the ICU.
    icu_median_days: float = 2.2
    icu_sigma: float = 0.7
    icu_direct_discharge_prob: float = 0.12
    #: Ward length of stay per specialty (a mixture, days).
    los: dict[str, LosMixture] = field(default_factory=_default_los)
    #: Relative discharge intensity by hour of day (mostly 10:00-17:00, some evening).
    discharge_hour_shape: tuple[float, ...] = (
        0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 9, 13, 14, 13, 12, 11, 9, 6, 4, 3, 2, 1, 0, 0,
    )  # fmt: skip
