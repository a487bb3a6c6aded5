"""Social-services forecasts and comparisons as reproducible run records (``twinsight rerun``).

A forecast record (``decide._runs``, kind ``forecast``, ``request["source"] == "casework"``)
holds:

- ``spec_hash``: SHA-256 of the canonical JSON of the model's name and the calibration (every
  fitted rate, duration, share and team; non-finite numbers as the strings ``NaN``,
  ``Infinity``), so a changed calibration is another version;
- ``parameters``: that calibration (``CaseworkCalibration.to_dict``, exact: non-finite floats
  kept as strings);
- the data watermark: ``data_at`` the forecast's present (the instant the open cases are read
  at), ``data_received`` the latest ``received_at`` of the stored case events and
  ``request["ingest_id"]`` the latest ingest that stored one;
- ``seeds`` (one seed), ``reps`` (replications), the Twinsight version, the request (days,
  reps, seed, groups of parameter draws, workers) and the result (every quantile of the
  forecast).

``rerun`` rebuilds the calibration from the record (a later re-calibration does not change a
rerun), the open cases from the events stored by that ingest or earlier ones up to the present
(events are never overwritten) and runs the forecast with its seed.

A comparison (``twinsight compare NAME SCENARIO...``) is recorded as a flow-spec comparison of
the twin (``source: spec``; the spec that ran holds every calibrated number, its hash is the
version) with the calibration as its parameters and the same data watermark.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from ..decide._compare import Comparison, PairedTarget
from ..decide._rerun import register_rerunner
from ..decide._runs import (
    RunRecord,
    canonical_json,
    exact_json,
    from_exact_json,
    record_run,
    same_run,
    spec_hash,
)
from ..decide._scenario import Scenario
from ..scale import Executor
from ..spec import FlowSpec
from ..store import CaseEventRow, rows_watermark
from ._calibrate import CaseworkCalibration
from ._cases import by_segment, case_history
from ._events import load_case_events
from ._forecast import CaseState, CaseworkForecast, case_state

__all__ = [
    "SOURCE",
    "calibration_parameters",
    "casework_watermark",
    "model_hash",
    "record_casework_compare",
    "record_casework_forecast",
    "rerun_casework_forecast",
    "state_at",
]

#: ``request["source"]`` of casework forecasts (``decide._rerun`` finds the rerunner by it).
SOURCE = "casework"
_MODEL = "twinsight.casework.CaseworkModel"


def calibration_parameters(cal: CaseworkCalibration) -> dict[str, Any]:
    """The calibration as exact JSON types: a run's parameters."""
    out: dict[str, Any] = exact_json(cal.to_dict())
    return out


def model_hash(cal: CaseworkCalibration) -> str:
    """SHA-256 (hex) of the model's name and the calibration: the version of a forecast."""
    text = canonical_json({"model": _MODEL, "calibration": calibration_parameters(cal)})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def casework_watermark(engine: Engine) -> tuple[int | None, datetime | None]:
    """The latest ingest that stored a case event (its id) and the latest ``received_at``
    (None, None: no events)."""
    return rows_watermark(engine, CaseEventRow)


def state_at(
    engine: Engine, cal: CaseworkCalibration, at: datetime | None, ingest_id: int | None = None
) -> CaseState:
    """The open cases at ``at`` (default: the latest event) from the events stored by ingest
    ``ingest_id`` or earlier ones (None: all), placed in the calibrated model."""
    from ._calibrate import CaseworkCalibrationError

    events = load_case_events(engine, at, ingest_id=ingest_id)
    events = by_segment(events, cal.segment)
    if events.empty:
        raise CaseworkCalibrationError("there are no case events: ingest some first")
    when = at or events["time"].max().to_pydatetime()
    return case_state(case_history(events, when), cal.model(None), when)


def _request(fc: CaseworkForecast, groups: int, workers: Mapping[str, int] | None,
             ingest_id: int | None) -> dict[str, Any]:  # fmt: skip
    return {
        "source": SOURCE,
        "days": fc.days,
        "reps": fc.reps,
        "seed": fc.seed,
        "groups": groups,
        "workers": dict(workers or {}),
        "at": fc.at.isoformat(),
        "ingest_id": ingest_id,
    }


def record_casework_forecast(
    engine: Engine,
    twin: str,
    cal: CaseworkCalibration,
    fc: CaseworkForecast,
    *,
    groups: int,
    workers: Mapping[str, int] | None = None,
    reuse: bool = False,
) -> str:
    """Store a finished forecast as a run (one transaction); its id. ``reuse``: the id of the
    same run stored before (same model hash, request and version), if any, instead."""
    ingest_id, received = casework_watermark(engine)
    request = _request(fc, groups, workers, ingest_id)
    version = model_hash(cal)
    if reuse and (same := same_run(engine, "forecast", twin, version, request)):
        return same
    return record_run(
        engine,
        kind="forecast",
        twin=twin,
        request=request,
        result=fc.to_dict(),
        spec_hash=version,
        parameters=calibration_parameters(cal),
        seeds=[fc.seed],
        reps=fc.reps,
        data_at=fc.at,
        data_received=received,
    )


def record_casework_compare(
    engine: Engine,
    twin: str,
    cal: CaseworkCalibration,
    spec: FlowSpec,
    scenarios: Sequence[Scenario],
    comp: Comparison,
    *,
    seed: int,
    kpis: Sequence[str],
    targets: Sequence[PairedTarget] = (),
    max_reps: int = 5000,
) -> str:
    """Store a finished comparison of the calibrated model as a flow-spec comparison of this
    twin (``twinsight runs NAME`` lists it; ``twinsight rerun`` runs the stored spec and
    scenarios again) with the calibration and the data watermark; its id."""
    from ..decide._compare_runs import _result

    _, received = casework_watermark(engine)
    request = {
        "source": "spec",
        "spec": spec.model_dump(mode="json", by_alias=True, exclude_none=True),
        "reps": comp.reps,
        "seed": seed,
        "kpis": list(kpis),
        "scenarios": [sc.to_json() for sc in scenarios],
        "targets": [t.__dict__ for t in targets],
        "max_reps": max_reps,
    }
    return record_run(
        engine,
        kind="compare",
        twin=twin,
        request=request,
        result=_result(comp),
        spec_hash=spec_hash(spec),
        parameters=calibration_parameters(cal),
        seeds=[seed],
        reps=comp.reps,
        data_at=cal.until_,
        data_received=received,
    )


def rerun_casework_forecast(
    engine: Engine, record: RunRecord, executor: Executor | str | None = None
) -> tuple[dict[str, Any], str]:
    """``twinsight rerun`` of a casework forecast: (result, model hash), its replications on
    ``executor`` (any: the numbers do not depend on it)."""
    from ._ops import forecast_from

    req = record.request
    cal = CaseworkCalibration.from_dict(from_exact_json(record.parameters))
    ingest_id = req.get("ingest_id")
    at = datetime.fromisoformat(req["at"])
    state = state_at(engine, cal, at, None if ingest_id is None else int(ingest_id))
    workers = {str(k): int(v) for k, v in (req.get("workers") or {}).items()} or None
    fc = forecast_from(
        cal,
        state,
        float(req["days"]),
        reps=int(req["reps"]),
        seed=int(req["seed"]),
        workers=workers,
        groups=int(req["groups"]),
        executor=executor,
    )
    return fc.to_dict(), model_hash(cal)


register_rerunner(f"forecast/{SOURCE}", rerun_casework_forecast)
