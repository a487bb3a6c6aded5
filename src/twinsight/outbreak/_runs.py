"""Outbreak forecasts and comparisons as reproducible run records (``twinsight rerun``).

A record (``decide._runs``, kind ``forecast`` or ``compare``, ``request["source"] ==
"outbreak"``) holds:

- ``spec_hash``: the model's content hash, SHA-256 of the canonical JSON of the compartment
  model (its compartments and transitions), the twin's ``outbreak:`` settings and the calibrated
  parameters (estimates, transformed-scale mean and covariance, bounds, count noise);
- ``parameters``: that calibration (``OutbreakCalibration.to_dict`` without the observed and
  fitted series, which are data and derived from it);
- the data watermark: ``data_at`` the last calibrated day (00:00 UTC), ``data_received`` the
  latest ``received_at`` of the stored counts and ``request["ingest_id"]`` the latest ingest;
- ``seeds``, the runs or paired runs (``reps``), the Twinsight version, the request (a
  forecast's ``mode``: ``stochastic`` or ``deterministic``; records made before the mode was
  kept are stochastic), and the result with SHA-256 digests of every run's numbers (so
  "identical" means every number).

``rerun`` rebuilds the calibration from the record (not the twin's current one: a later
re-calibration does not change a rerun), the observed series from the counts stored by that
ingest or earlier ones (counts are never overwritten), runs the request with its seed and
compares. A record whose calibration was changed gives another hash and other numbers:
``rerun`` reports both.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine

from ..decide._runs import RunRecord, canonical_json, record_run, same_run
from ..scale import Executor
from ._calibrate import OutbreakCalibration, daily_frame, observed_series
from ._forecast import OutbreakForecast, forecast_outbreak
from ._ingest import counts_watermark, load_counts
from ._scenarios import OutbreakComparison, OutbreakScenario, compare_outbreak
from ._template import SEIR_HOSPITAL

__all__ = [
    "SOURCE",
    "calibration_parameters",
    "compare_result",
    "forecast_result",
    "model_hash",
    "record_outbreak_compare",
    "record_outbreak_forecast",
    "rerun_outbreak_compare",
    "rerun_outbreak_forecast",
]

#: ``request["source"]`` of outbreak runs (``decide._rerun`` finds the rerunner by it).
SOURCE = "outbreak"
#: Data and the data watermark: kept out of the parameters and the hash.
_DATA = ("observed", "fitted", "ingest_id", "data_received")


def calibration_parameters(cal: OutbreakCalibration) -> dict[str, Any]:
    """The calibration without its data (observed and fitted series): the run's parameters."""
    return {k: v for k, v in cal.to_dict().items() if k not in _DATA}


def model_hash(cal: OutbreakCalibration) -> str:
    """SHA-256 (hex) of the model, its settings and its calibrated parameters."""
    text = canonical_json(
        {"model": repr(SEIR_HOSPITAL), "calibration": calibration_parameters(cal)}
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return h.hexdigest()


def _observed_digest(cal: OutbreakCalibration) -> str:
    return hashlib.sha256(canonical_json(cal.observed).encode("utf-8")).hexdigest()


def forecast_result(fc: OutbreakForecast, cal: OutbreakCalibration) -> dict[str, Any]:
    """The forecast's JSON with digests of every band and every run's admissions."""
    out = fc.to_json()
    numbers = fc.frame.drop(columns=["date", "metric"]).to_numpy(dtype=float)
    out["digests"] = {
        "bands": _digest(numbers),
        "admissions_paths": _digest(fc.admissions_paths),
        "observed": _observed_digest(cal),
    }
    return out


def compare_result(comp: OutbreakComparison, cal: OutbreakCalibration) -> dict[str, Any]:
    """The comparison's JSON with digests of every paired run's KPI values."""
    out = comp.to_json()
    out["digests"] = {
        "values": {
            v.name: {k: _digest(vals[k]) for k in sorted(vals)}
            for v, vals in zip(comp.variants, comp.values, strict=True)
        },
        "observed": _observed_digest(cal),
    }
    return out


def _watermark(engine: Engine, cal: OutbreakCalibration) -> dict[str, Any]:
    """The data the calibration saw (a calibration saved before the data watermark was kept:
    the store's now)."""
    ingest_id, received = counts_watermark(engine)
    if cal.ingest_id is not None:
        ingest_id = cal.ingest_id
        received = None if cal.data_received is None else datetime.fromisoformat(cal.data_received)
    day = cal.watermark
    return {
        "data_at": datetime(day.year, day.month, day.day, tzinfo=UTC),
        "data_received": received,
        "ingest_id": ingest_id,
    }


def record_outbreak_forecast(
    engine: Engine, twin: str, cal: OutbreakCalibration, fc: OutbreakForecast, *,
    reuse: bool = False,
) -> str:  # fmt: skip
    """Store a finished forecast as a run (one transaction); its id. ``reuse``: the id of the
    same run stored before (same model hash, request and version), if any, instead."""
    mark = _watermark(engine, cal)
    request = {"source": SOURCE, "days": fc.days, "runs": fc.runs, "seed": fc.seed,
               "mode": fc.mode, "at": cal.watermark.isoformat(),
               "ingest_id": mark["ingest_id"]}  # fmt: skip
    if reuse and (same := same_run(engine, "forecast", twin, model_hash(cal), request)):
        return same
    return record_run(
        engine,
        kind="forecast",
        twin=twin,
        request=request,
        result=forecast_result(fc, cal),
        spec_hash=model_hash(cal),
        parameters=calibration_parameters(cal),
        seeds=[fc.seed],
        reps=fc.runs,
        data_at=mark["data_at"],
        data_received=mark["data_received"],
    )


def record_outbreak_compare(
    engine: Engine,
    twin: str,
    cal: OutbreakCalibration,
    scenarios: list[OutbreakScenario],
    comp: OutbreakComparison,
    *,
    parameter_uncertainty: bool = True,
) -> str:
    """Store a finished comparison as a run (one transaction); its id."""
    mark = _watermark(engine, cal)
    request = {
        "source": SOURCE,
        "days": comp.days,
        "reps": comp.reps,
        "seed": comp.seed,
        "mode": comp.mode,
        "common": comp.common,
        "parameter_uncertainty": parameter_uncertainty,
        "confidence": comp.confidence,
        "scenarios": [s.model_dump(mode="json", exclude_none=True) for s in scenarios],
        "at": cal.watermark.isoformat(),
        "ingest_id": mark["ingest_id"],
    }
    return record_run(
        engine,
        kind="compare",
        twin=twin,
        request=request,
        result=compare_result(comp, cal),
        spec_hash=model_hash(cal),
        parameters=calibration_parameters(cal),
        seeds=[comp.seed],
        reps=comp.reps,
        data_at=mark["data_at"],
        data_received=mark["data_received"],
    )


def _calibration(engine: Engine, record: RunRecord) -> OutbreakCalibration:
    """The recorded calibration with the observed series of the data held at the watermark."""
    params = record.parameters
    ingest_id = record.request.get("ingest_id")
    data = load_counts(engine, ingest_id=None if ingest_id is None else int(ingest_id))
    start, until = date.fromisoformat(params["start"]), date.fromisoformat(params["watermark"])
    observed = observed_series(daily_frame(data, start, until)) if not data.empty else {}
    nan = float("nan")  # non-finite numbers were stored as null
    fixed = {
        "intervals": {k: [nan if x is None else x for x in v]
                      for k, v in params["intervals"].items()},
        "aic": {k: float("inf") if v is None else v for k, v in params.get("aic", {}).items()},
        "loglik": nan if params["loglik"] is None else params["loglik"],
    }  # fmt: skip
    return OutbreakCalibration.from_dict({**params, **fixed, "observed": observed, "fitted": {}})


def rerun_outbreak_forecast(
    engine: Engine, record: RunRecord, executor: Executor | str | None = None
) -> tuple[dict[str, Any], str]:
    """``twinsight rerun`` of an outbreak forecast: (result, model hash), on ``executor``."""
    req = record.request
    cal = _calibration(engine, record)
    mode = req.get("mode", "stochastic")  # not kept before deterministic forecasts existed
    fc = forecast_outbreak(
        cal, int(req["days"]), runs=int(req["runs"]), seed=int(req["seed"]), mode=mode,
        executor=executor,
    )  # fmt: skip
    result = forecast_result(fc, cal)
    if "mode" not in record.result:  # such a record's answer had no "mode" key either
        del result["mode"]
    return result, model_hash(cal)


def rerun_outbreak_compare(
    engine: Engine, record: RunRecord, executor: Executor | str | None = None
) -> tuple[dict[str, Any], str]:
    """``twinsight rerun`` of an outbreak comparison: (result, model hash), on ``executor``."""
    req = record.request
    cal = _calibration(engine, record)
    scenarios = [OutbreakScenario.model_validate(s) for s in req["scenarios"]]
    comp = compare_outbreak(
        cal,
        scenarios,
        days=int(req["days"]),
        reps=int(req["reps"]),
        seed=int(req["seed"]),
        mode=req["mode"],
        common=bool(req["common"]),
        parameter_uncertainty=bool(req["parameter_uncertainty"]),
        confidence=float(req["confidence"]),
        executor=executor,
    )
    return compare_result(comp, cal), model_hash(cal)
