"""The hospital twin's operations (state, calibrate, forecast, backtest, drift) on an opened
twin, returning pandas DataFrames: what the CLI, the service and notebooks share."""

from __future__ import annotations

from ._facade import HospitalTwin
from ._ops import (
    FORECASTS_DIR,
    ForecastRun,
    calibrate,
    configured_beds,
    drift,
    run_backtest,
    run_forecast,
    state_frame,
)

__all__ = [
    "FORECASTS_DIR",
    "ForecastRun",
    "HospitalTwin",
    "calibrate",
    "configured_beds",
    "drift",
    "run_backtest",
    "run_forecast",
    "state_frame",
]
