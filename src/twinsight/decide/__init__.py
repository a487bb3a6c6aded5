"""Decide: scenarios compared against a baseline with common random numbers, and reproducible
run records (every forecast, comparison and optimisation, stored so it can be run again)."""

from __future__ import annotations

from ._forecast_runs import forecast_result, record_forecast, rerun_forecast
from ._hospital import model_from_params, model_params, state_as_of
from ._rerun import RerunReport, register_rerunner, rerun
from ._runs import (
    KINDS,
    RunRecord,
    canonical_json,
    list_runs,
    load_run,
    received_watermark,
    record_run,
    spec_hash,
    twinsight_version,
)

register_rerunner("forecast", rerun_forecast)

__all__ = [
    "KINDS",
    "RerunReport",
    "RunRecord",
    "canonical_json",
    "forecast_result",
    "list_runs",
    "load_run",
    "model_from_params",
    "model_params",
    "received_watermark",
    "record_forecast",
    "record_run",
    "register_rerunner",
    "rerun",
    "rerun_forecast",
    "spec_hash",
    "state_as_of",
    "twinsight_version",
]
