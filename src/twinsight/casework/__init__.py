"""The social-services twin: casework (referrals, triage, caseload slots, assessment with
requests for more information, statutory deadlines) on the flow engine; case events with
quarantine, calibration, a forecast from the present, an emulated department and the equity
table with small-cell suppression. See ``docs/social-services.md``."""

from __future__ import annotations

from ._calibrate import PRIORITY_ORDER, CaseworkCalibration, CaseworkCalibrationError
from ._cases import CaseHistory, case_history
from ._emulate import CaseDefects, CaseworkEmulation, DepartmentParams, emulate_casework
from ._events import (
    EVENT_TYPES,
    CaseIngestError,
    CaseIngestReport,
    ingest_case_events,
    load_case_events,
    write_case_events,
)
from ._facade import CaseworkTwin
from ._forecast import QUANTILES, CaseState, CaseworkForecast, case_state, forecast_casework
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
from ._ops import (
    CALIBRATION_FILE,
    TEMPLATE,
    CaseworkConfig,
    CaseworkConfigError,
    casework_config,
    equity_table,
    export_spec,
    ingest,
    load_casework_calibration,
    present,
    run_calibration,
    run_forecast,
)

__all__ = [
    "CALIBRATION_FILE",
    "EVENT_TYPES",
    "PRIORITY_ORDER",
    "QUANTILES",
    "TEMPLATE",
    "CaseDefects",
    "CaseHistory",
    "CaseIngestError",
    "CaseIngestReport",
    "CaseState",
    "CaseworkCalibration",
    "CaseworkCalibrationError",
    "CaseworkConfig",
    "CaseworkConfigError",
    "CaseworkEmulation",
    "CaseworkForecast",
    "CaseworkModel",
    "CaseworkTwin",
    "DepartmentParams",
    "Team",
    "case_class",
    "case_history",
    "case_state",
    "casework_config",
    "district_journey",
    "emulate_casework",
    "equity_table",
    "export_spec",
    "forecast_casework",
    "ingest",
    "ingest_case_events",
    "load_case_events",
    "load_casework_calibration",
    "open_class",
    "present",
    "run_calibration",
    "run_forecast",
    "station",
    "team_journey",
    "team_resource",
    "write_case_events",
]
