"""The social-services twin: casework (referrals, triage, caseload slots, assessment with
requests for more information, statutory deadlines) on the flow engine; case events with
quarantine, calibration, a forecast from the present with the calibration's uncertainty, its
rolling-origin backtest, an emulated department and the equity
table with small-cell suppression. See ``docs/social-services.md``."""

from __future__ import annotations

from ._backtest import CaseworkBacktest, backtest_casework, open_cases_daily, run_backtest
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
    forecast_from,
    ingest,
    load_casework_calibration,
    present,
    run_calibration,
    run_forecast,
)
from ._uncertainty import parameter_draws, referral_level_cv

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
    "CaseworkBacktest",
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
    "backtest_casework",
    "case_class",
    "case_history",
    "case_state",
    "casework_config",
    "district_journey",
    "emulate_casework",
    "equity_table",
    "export_spec",
    "forecast_casework",
    "forecast_from",
    "ingest",
    "ingest_case_events",
    "load_case_events",
    "load_casework_calibration",
    "open_cases_daily",
    "open_class",
    "parameter_draws",
    "present",
    "referral_level_cv",
    "run_backtest",
    "run_calibration",
    "run_forecast",
    "station",
    "team_journey",
    "team_resource",
    "write_case_events",
]
