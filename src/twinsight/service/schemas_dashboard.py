"""Request and response bodies of the dashboard's API: forecast, backtest, calibration, alarms,
scenarios, compare, runs, background jobs and the live feed (pydantic; ``docs/dashboard.md``).

Times are UTC ISO 8601 instants, durations hours unless a name says days. Counts of people that
leave the service (a census, the ED) are numbers or ``"<k"`` (small-cell suppression).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .schemas import Count

__all__ = [
    "AlarmList",
    "BacktestOut",
    "BacktestRequest",
    "CalibrationOut",
    "CompareRequest",
    "ForecastOut",
    "ForecastRequest",
    "JobList",
    "JobOut",
    "LiveSnapshot",
    "LosCurve",
    "RunList",
    "RunSummary",
    "ScenarioList",
    "UnitBands",
]

_STRICT = ConfigDict(extra="forbid")


class ForecastRequest(BaseModel):
    """Make a new forecast from the twin's present: ``days`` ahead, ``reps`` replications."""

    model_config = _STRICT
    days: float = Field(default=7.0, gt=0, le=14, description="horizon, days (at most 14)")
    reps: int = Field(default=500, ge=20, le=5000, description="replications")
    seed: int = Field(default=1, ge=0)


class BacktestRequest(BaseModel):
    """Rolling-origin backtest: ``origins`` weekly origins, each calibrated on the
    ``window_days`` before it and scored ``days`` ahead."""

    model_config = _STRICT
    days: float = Field(default=7.0, gt=0, le=14, description="horizon, days")
    origins: int = Field(default=4, ge=1, le=20)
    window_days: float = Field(default=28.0, ge=7, le=365, description="calibration window")
    reps: int = Field(default=100, ge=20, le=2000)
    seed: int = Field(default=1, ge=0)


class CompareRequest(BaseModel):
    """Scenarios against the baseline: names of the twin's scenarios, or whole scenarios
    (``{"name", "description", "interventions"}``) run without being saved."""

    model_config = _STRICT
    scenarios: list[str | dict[str, Any]] = Field(min_length=1, max_length=5)
    days: float = Field(default=7.0, gt=0, le=14, description="horizon, days")
    reps: int = Field(default=100, ge=10, le=2000, description="paired replications")
    seed: int = Field(default=1, ge=0)


class JobOut(BaseModel):
    """A computation run in the background (202 Accepted; poll ``GET .../jobs?id=``).

    ``status``: ``running``, ``done`` or ``failed`` (``error`` says why and what to do).
    """

    id: str
    twin: str
    kind: str
    status: str
    actor: str
    created_at: datetime
    finished_at: datetime | None = None
    seconds: float | None = Field(default=None, description="time it took, seconds")
    result: dict[str, Any] | None = None
    error: str | None = None


class JobList(BaseModel):
    """The twin's recent background jobs, newest first."""

    twin: str
    jobs: list[JobOut]


class UnitBands(BaseModel):
    """One unit's hourly predictive bands (patients present): 5/25/50/75/95th percentiles."""

    beds: int | None
    now: Count = Field(description="census at the forecast's start")
    time: list[datetime]
    p5: list[float]
    p25: list[float]
    p50: list[float]
    p75: list[float]
    p95: list[float]


class ForecastOut(BaseModel):
    """The twin's latest saved forecast (``available`` False when none was made yet)."""

    twin: str
    available: bool
    at: datetime | None = None
    days: float | None = None
    reps: int | None = None
    seed: int | None = None
    line: float = Field(default=0.85, description="the occupancy line, share of beds")
    units: dict[str, UnitBands] = Field(default_factory=dict)
    indicators: list[dict[str, Any]] = Field(default_factory=list)


class BacktestOut(BaseModel):
    """The latest backtest's scores: MAE (patients), coverage of the 50% and 90% bands,
    the naive baselines' MAE; pooled, per unit and per day ahead."""

    twin: str
    available: bool
    made_at: datetime | None = None
    summary: dict[str, Any] | None = None


class LosCurve(BaseModel):
    """A unit's length of stay: the fitted survival curve against the Kaplan-Meier estimate
    of the calibration window's stays (``hours``: the grid, hours)."""

    unit: str
    family: str
    mean_hours: float
    n: int
    ks: float | None = Field(description="Kolmogorov-Smirnov distance to Kaplan-Meier")
    ks_p: float | None
    hours: list[float]
    fitted: list[float]
    empirical: list[float | None]


class CalibrationOut(BaseModel):
    """The saved calibration: window, ED arrival rate, lengths of stay per unit."""

    twin: str
    available: bool
    watermark: datetime | None = None
    window_start: datetime | None = None
    window_days: float | None = None
    arrivals_per_hour: float | None = None
    daily_dispersion: float | None = None
    capacity: dict[str, int] = Field(default_factory=dict)
    units: list[LosCurve] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class AlarmList(BaseModel):
    """Recorded drift alarms, newest first: kind, unit, since, statistic, message."""

    twin: str
    alarms: list[dict[str, Any]]


class ScenarioList(BaseModel):
    """The twin's scenarios and the intervention library (each kind's JSON schema)."""

    twin: str
    scenarios: list[dict[str, Any]]
    interventions: dict[str, dict[str, Any]]


class RunSummary(BaseModel):
    """A recorded run (forecast, compare, optimise) without its result body."""

    run_id: str
    kind: str
    created_at: datetime
    data_at: datetime | None
    reps: int
    seeds: list[int]
    version: str
    days: float | None = Field(default=None, description="horizon, days")
    scenarios: list[str] = Field(default_factory=list)


class RunList(BaseModel):
    """The twin's latest runs first."""

    twin: str
    runs: list[RunSummary]


class LiveSnapshot(BaseModel):
    """The hospital now, sent on the live feed each time new events are committed.

    ``occupancy``: census / beds per unit (None when beds are unknown or the census is
    suppressed); ``in_ed``: patients in the ED; ``boarding``: of them, those there 4 hours or
    more (the feed has no admission decision time; most of them are admitted, waiting for a
    bed); ``version`` grows by one per message; ``sent_at``: the server's
    clock when the message was made.
    """

    twin: str
    version: int
    at: datetime
    events: int
    census: dict[str, Count]
    beds: dict[str, int | None]
    occupancy: dict[str, float | None]
    line: float = 0.85
    in_ed: Count
    boarding: Count
    sent_at: datetime
