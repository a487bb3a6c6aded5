"""Decide: scenarios compared against a baseline with common random numbers, and reproducible
run records (every forecast, comparison and optimisation, stored so it can be run again)."""

from __future__ import annotations

from ._apply import MODEL_KINDS, ScenarioError, apply_to_model, apply_to_spec
from ._compare import (
    Comparison,
    KpiDef,
    PairedTarget,
    Variant,
    compare,
    hospital_variants,
    spec_variants,
)
from ._compare_runs import compare_hospital, compare_spec, rerun_compare
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
from ._scenario import (
    Intervention,
    Scenario,
    list_scenarios,
    load_scenario,
    parse_scenario,
    resolve_scenario,
    save_scenario,
    scenario_path,
)

register_rerunner("forecast", rerun_forecast)
register_rerunner("compare", rerun_compare)

__all__ = [
    "KINDS",
    "MODEL_KINDS",
    "Comparison",
    "Intervention",
    "KpiDef",
    "PairedTarget",
    "RerunReport",
    "RunRecord",
    "Scenario",
    "ScenarioError",
    "Variant",
    "apply_to_model",
    "apply_to_spec",
    "canonical_json",
    "compare",
    "compare_hospital",
    "compare_spec",
    "forecast_result",
    "hospital_variants",
    "list_runs",
    "list_scenarios",
    "load_run",
    "load_scenario",
    "model_from_params",
    "model_params",
    "parse_scenario",
    "received_watermark",
    "record_forecast",
    "record_run",
    "register_rerunner",
    "rerun",
    "rerun_compare",
    "rerun_forecast",
    "resolve_scenario",
    "save_scenario",
    "scenario_path",
    "spec_hash",
    "spec_variants",
    "state_as_of",
    "twinsight_version",
]
