"""The social-services twin: casework (referrals, triage, caseload slots, assessment with
requests for more information, statutory deadlines) on the flow engine. See
``docs/social-services.md``."""

from __future__ import annotations

from ._model import (
    CaseworkModel,
    Team,
    case_class,
    district_journey,
    open_class,
    station,
    team_journey,
    team_resource,
)

__all__ = [
    "CaseworkModel",
    "Team",
    "case_class",
    "district_journey",
    "open_class",
    "station",
    "team_journey",
    "team_resource",
]
