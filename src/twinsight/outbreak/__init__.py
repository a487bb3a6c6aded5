"""The outbreak twin: SEIR with hospital, ICU and ventilator pathways on the compartment
engine; a CHIME mode; calibration to daily admissions or census; forecasts of beds, ICU beds
and ventilators with bands; and a link that turns its admissions into the hospital twin's
arrivals. See ``docs/outbreak.md``."""

from __future__ import annotations

from ._calibrate import (
    OutbreakCalibration,
    OutbreakCalibrationError,
    calibrate_outbreak,
    daily_frame,
)
from ._chime import KINDS, Chime, ChimeParams, Disposition, chime, growth_rate, sir_step
from ._forecast import QUANTILES, OutbreakForecast, forecast_outbreak
from ._ingest import OutbreakIngestError, OutbreakIngestReport, ingest_counts, load_counts
from ._link import AdmissionArrivals, admissions_to_arrivals
from ._ops import (
    CALIBRATION_FILE,
    OutbreakConfigError,
    current_calibration,
    hospital_arrivals,
    ingest,
    load_outbreak_calibration,
    outbreak_config,
    run_calibration,
    run_chime,
    run_compare,
    run_forecast,
    save_outbreak_calibration,
)
from ._runs import (
    SOURCE,
    model_hash,
    record_outbreak_compare,
    record_outbreak_forecast,
    rerun_outbreak_compare,
    rerun_outbreak_forecast,
)
from ._scenarios import (
    OutbreakComparison,
    OutbreakScenario,
    OutbreakScenarioError,
    ScenarioMeasure,
    compare_outbreak,
    parse_outbreak_scenario,
)
from ._template import METRICS, SEIR_HOSPITAL, Capacity, Measure, OutbreakConfig

__all__ = [
    "CALIBRATION_FILE",
    "KINDS",
    "METRICS",
    "QUANTILES",
    "SEIR_HOSPITAL",
    "SOURCE",
    "AdmissionArrivals",
    "Capacity",
    "Chime",
    "ChimeParams",
    "Disposition",
    "Measure",
    "OutbreakCalibration",
    "OutbreakCalibrationError",
    "OutbreakComparison",
    "OutbreakConfig",
    "OutbreakConfigError",
    "OutbreakForecast",
    "OutbreakIngestError",
    "OutbreakIngestReport",
    "OutbreakScenario",
    "OutbreakScenarioError",
    "ScenarioMeasure",
    "admissions_to_arrivals",
    "calibrate_outbreak",
    "chime",
    "compare_outbreak",
    "current_calibration",
    "daily_frame",
    "forecast_outbreak",
    "growth_rate",
    "hospital_arrivals",
    "ingest",
    "ingest_counts",
    "load_counts",
    "load_outbreak_calibration",
    "model_hash",
    "outbreak_config",
    "parse_outbreak_scenario",
    "record_outbreak_compare",
    "record_outbreak_forecast",
    "rerun_outbreak_compare",
    "rerun_outbreak_forecast",
    "run_calibration",
    "run_chime",
    "run_compare",
    "run_forecast",
    "save_outbreak_calibration",
    "sir_step",
]


def _register() -> None:
    """``twinsight rerun`` of outbreak runs: ``decide._rerun`` imports this package for a
    record of kind ``forecast`` or ``compare`` whose request's source is ``outbreak``."""
    from ..decide import register_rerunner

    register_rerunner(f"forecast/{SOURCE}", rerun_outbreak_forecast)
    register_rerunner(f"compare/{SOURCE}", rerun_outbreak_compare)


_register()
