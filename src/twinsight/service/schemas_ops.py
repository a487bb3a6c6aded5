"""Request and response bodies of the contact-centre and social-services twins' endpoints
(``routers/contact.py``, ``routers/casework.py``; ``docs/service.md``).

Times are ISO 8601 with a UTC offset; waits and handle times are seconds unless a field says
minutes; shares are fractions (0.8 is 80%); counts of people below k are ``"<k"``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "CaseEventIn",
    "CaseworkEquityOut",
    "CaseworkForecastOut",
    "ContactCalibrationOut",
    "ContactForecastOut",
    "InteractionIn",
    "OpsIngestOut",
    "StaffingOut",
]

#: Text fields of posted rows: no control characters (they become cells of a CSV file).
_TEXT = r"^[^\x00-\x1f\x7f]*$"
_Text = Annotated[str, StringConstraints(pattern=_TEXT, max_length=200)]


class InteractionIn(BaseModel):
    """One contact (a row of the interaction CSV layout, ``docs/contact-centre.md``).

    Values are checked like a CSV file's cells: a row that cannot be used (no time offset,
    negative wait, answered without a handle time, ...) is quarantined with its reason."""

    model_config = ConfigDict(extra="forbid")

    arrived_at: _Text = Field(
        description="ISO 8601 with a UTC offset", examples=["2026-01-05T09:00:00Z"]
    )
    queue: _Text = Field(description="the queue (skill) the contact was routed to")
    wait_seconds: float | _Text = Field(description="seconds to answer or to hanging up, >= 0")
    answered: bool | _Text = Field(description="true when an agent answered")
    handle_seconds: float | _Text | None = Field(
        default=None, description="talk plus after-call work, seconds; > 0 when answered"
    )
    outcome: _Text | None = None
    satisfaction: float | _Text | None = Field(default=None, description="score 0-10")
    interaction_id: _Text | None = Field(default=None, description="makes a replay add nothing")
    customer_id: _Text | None = Field(default=None, description="pseudonymised on entry")


class CaseEventIn(BaseModel):
    """One case event (a row of the case event CSV layout, ``docs/social-services.md``);
    checked and quarantined like a file's row (unknown type, time without an offset, a
    referral without its district, ...)."""

    model_config = ConfigDict(extra="forbid")

    case_id: _Text = Field(description="the case's id (pseudonymised on entry)")
    type: _Text = Field(
        description="referral, triage, assessment_start, info_requested, info_received, "
        "decision or closed"
    )
    time: _Text = Field(description="ISO 8601 with a UTC offset", examples=["2026-05-04T09:00:00Z"])
    team: _Text | None = None
    district: _Text | None = None
    group: _Text | None = Field(default=None, description="the client group")
    priority: _Text | None = None
    event_id: _Text | None = Field(default=None, description="makes a replay add nothing")


class OpsIngestOut(BaseModel):
    """What a posted batch became: stored, already stored, quarantined (first reasons)."""

    twin: str
    accepted: int
    duplicate: int
    quarantined: int
    reasons: list[str] = []


class StaffingOut(BaseModel):
    """The staffing plan of one weekday: one row per queue and interval (``start`` "HH:MM"
    UTC): calls offered, productive agents required (``agents``), agents to roster after
    shrinkage (``rostered``), and the predicted service level, ASA (seconds), abandonment
    and occupancy with that many agents."""

    twin: str
    day: str
    method: str
    interval_minutes: int
    service_level: dict[str, float] = Field(description="seconds and target share (80/20)")
    max_abandon: float
    shrinkage: float
    queues: list[str]
    intervals: list[dict[str, Any]]


class ContactCalibrationOut(BaseModel):
    """The saved calibration's summary: its window, and per queue the calls per week, the
    observed answered share, service level and ASA, and the fitted handle-time and patience
    distributions (minutes); the satisfaction model when there were scores."""

    twin: str
    first: str
    last: str
    interval_minutes: int
    window_days: float
    queues: dict[str, dict[str, Any]]
    satisfaction: dict[str, Any] | None = None


class ContactForecastOut(BaseModel):
    """The coming days simulated with the staffing plan (or the roster): per queue the
    service level, ASA (seconds), abandonment, occupancy, satisfaction and calls, each a mean
    with its 95% half-width over replications."""

    twin: str
    days: float
    reps: int
    seed: int
    staffed_by: str
    start: str
    service_level_target: float
    queues: dict[str, dict[str, dict[str, float | None]]]
    #: Its run record (``twinsight rerun RUN_ID``); an identical GET answers with the same id.
    run_id: str | None = None


class CaseworkForecastOut(BaseModel):
    """From the present's open cases, ``days`` days ahead: the backlog (open cases) and the
    cases waiting for a caseload slot per day as quantiles (``p5``..``p95`` over
    replications), and over the horizon the decisions of cases referred in it and the share
    decided within the deadline (``kpis``: quantiles, overall and by district, priority and
    team). Open cases now (people) are ``"<k"`` below k; model outputs are not suppressed."""

    twin: str
    at: str
    days: float
    reps: int
    seed: int
    deadline_days: float
    open_cases: int | str
    open_past_deadline: int | str
    backlog: list[dict[str, Any]]
    waiting: list[dict[str, Any]]
    kpis: dict[str, dict[str, float | None]]
    #: Its run record (``twinsight rerun RUN_ID``); an identical GET answers with the same id.
    run_id: str | None = None


class CaseworkEquityOut(BaseModel):
    """Per group (``all``, ``district=..``, ``priority=..``, ``team=..``) of the calibrated
    model run ``days`` days in steady state: decisions (people per run, ``"<k"`` below k),
    mean days to decision and the share decided within the deadline (null when the group's
    decisions are suppressed); and the same observed in the calibration's window (by district
    and client group)."""

    twin: str
    days: float
    reps: int
    seed: int
    k: int
    deadline_days: float
    target: float = Field(description="the share within the deadline aimed at (the chart's line)")
    model: list[dict[str, Any]]
    observed: dict[str, dict[str, Any]]
