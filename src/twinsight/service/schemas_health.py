"""Request and response bodies of the outbreak and patient twins' endpoints
(``routers/outbreak.py``, ``routers/patient.py``; ``docs/service.md``).

Counts are people per day; pressures are mm Hg; times are ISO 8601 with a UTC offset.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "NOTICE",
    "ChimeOut",
    "CountsRow",
    "HealthIngestOut",
    "OutbreakCalibrationOut",
    "OutbreakForecastOut",
    "PatientReadingsOut",
    "ReadingIn",
    "RecommendationOut",
]

#: The patient twin's top-level notice, in every patient answer.
NOTICE: Final = "Decision support for clinicians, not medical advice"
#: Text fields of posted rows: no control characters (they become cells of a CSV file).
_TEXT = r"^[^\x00-\x1f\x7f]*$"
_Text = Annotated[str, StringConstraints(pattern=_TEXT, max_length=200)]


class CountsRow(BaseModel):
    """One day of an outbreak's counts (people): a blank or missing field is not reported.

    Values are checked like a CSV file's cells: one that cannot be used (negative, not a whole
    number, ICU above census, ...) is quarantined with its reason, not refused."""

    model_config = ConfigDict(extra="forbid")

    date: _Text = Field(description="the day, YYYY-MM-DD", examples=["2020-04-01"])
    admissions: float | _Text | None = Field(default=None, description="admissions that day")
    census: float | _Text | None = Field(default=None, description="patients in beds that day")
    icu: float | _Text | None = Field(default=None, description="patients in ICU beds that day")
    ventilated: float | _Text | None = Field(
        default=None, description="patients on ventilators that day"
    )


class HealthIngestOut(BaseModel):
    """What a posted batch became: stored, already stored, quarantined (with reasons)."""

    twin: str
    accepted: int
    duplicate: int
    quarantined: int
    reasons: list[str] = []
    gaps: dict[str, list[str]] = {}
    notice: str | None = None


class OutbreakForecastOut(BaseModel):
    """Daily bands (5/25/50/75/95%, mean; ``p_over`` the chance of exceeding the configured
    capacity) per metric, and the observed counts (people; ``"<k"`` when suppressed)."""

    twin: str
    kind: str = "outbreak"
    first_day: str
    days: int
    runs: int
    seed: int
    mode: str = Field(
        "stochastic", description="stochastic (the binomial chain) or deterministic (equations)"
    )
    metrics: dict[str, list[dict[str, Any]]]
    observed: dict[str, list[dict[str, Any]]]
    capacity: dict[str, float | None] = {}
    calibrated: bool = Field(description="True when a saved calibration was used")
    run_id: str | None = Field(None, description="its run record ('twinsight rerun RUN_ID')")


class OutbreakCalibrationOut(BaseModel):
    """A calibration's estimates and 95% intervals, the data it saw and its noise model."""

    twin: str
    start: str
    watermark: str
    days: int
    series: list[str]
    estimates: dict[str, float]
    intervals: dict[str, Any]
    noise: str = Field(description="the count noise chosen: poisson or negbin")
    aic: dict[str, float] = Field(description="AIC of each noise model tried")
    converged: bool
    n_obs: int


class ChimeOut(BaseModel):
    """The CHIME projection (Penn Medicine's CHIME, reproduced): daily admissions and census
    per disposition (hospitalized, icu, ventilated), people."""

    model_config = ConfigDict(extra="allow")

    twin: str
    days: list[Any]
    admits: dict[str, list[float | None]]
    census: dict[str, list[float | None]]


class ReadingIn(BaseModel):
    """One home blood-pressure reading (a row of the reading CSV layout, ``docs/patient.md``)."""

    model_config = ConfigDict(extra="forbid")

    patient_id: _Text = Field(min_length=1, description="the patient's id (pseudonymised on entry)")
    time: _Text = Field(description="ISO 8601 with a UTC offset", examples=["2026-09-01T08:00:00Z"])
    systolic: float | None = Field(default=None, description="mm Hg")
    diastolic: float | None = Field(default=None, description="mm Hg")
    unit: _Text | None = Field(default=None, description="mm[Hg] (default) or kPa")
    reading_id: _Text | None = None


class PatientReadingsOut(BaseModel):
    """The stored readings of a patient twin, oldest first; the subject is a pseudonym."""

    twin: str
    notice: str = NOTICE
    subject: str | None = Field(description="the patient's pseudonym (keyed hash), shortened")
    readings: list[dict[str, Any]]


class RecommendationOut(BaseModel):
    """Ranked regimens (predicted usual pressure at full effect, medians and 90% intervals,
    P(target)), 10-year ASCVD risk before and after, trajectories under the current regimen and
    the top options. Decision support for clinicians, not medical advice."""

    model_config = ConfigDict(extra="allow")

    twin: str
    notice: str = NOTICE
    disclaimer: str
    target: dict[str, float]
    current: dict[str, Any]
    options: list[dict[str, Any]]
    risk_10y: dict[str, Any]
    trajectories: list[dict[str, Any]]
