"""Run records of hospital forecasts: what ``run_forecast`` stores, and how it is run again."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine

from ..assimilate import HospitalState
from ..forecast import Forecast, HospitalModel, forecast
from ..scale import Executor
from ._hospital import model_from_params, model_params, state_as_of
from ._runs import RunRecord, record_run, spec_hash

__all__ = ["forecast_result", "record_forecast", "rerun_forecast"]


def _digest(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 of the arrays' bytes, in key order: equal only if every number is equal."""
    h = hashlib.sha256()
    for key in sorted(arrays):
        h.update(key.encode("utf-8"))
        h.update(np.ascontiguousarray(arrays[key], dtype=np.float64).tobytes())
    return h.hexdigest()


def forecast_result(fc: Forecast) -> dict[str, Any]:
    """The numbers a forecast record keeps: a digest of every sample and per-replication KPI
    (the exact check), and the indicators and each unit's daily median (to read)."""
    daily = fc.daily()
    return {
        "samples_sha256": _digest(fc.samples),
        "per_rep_sha256": _digest(fc.per_rep),
        "indicators": [
            {k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()}
            for row in fc.indicators().to_dict(orient="records")
        ],
        "daily_p50": {
            str(u): [round(float(x), 3) for x in daily.loc[daily["unit"] == u, "p50"]]
            for u in fc.units
        },
    }


def record_forecast(
    engine: Engine,
    twin: str,
    model: HospitalModel,
    fc: Forecast,
    state: HospitalState,
    *,
    days: float,
    rate_cv: float,
    received: datetime | None,
    groups: int = 20,
) -> str:
    """Store a finished forecast (see ``twinsight.decide._runs``) and return its run id."""
    request = {
        "twin_kind": "hospital",
        "days": days,
        "reps": fc.reps,
        "seed": fc.seed,
        "interval": fc.interval,
        "rate_cv": rate_cv,
        "groups": groups,
        "at": state.at.isoformat(),
    }
    ran = fc.spec or model.spec(state, days, interval=fc.interval)
    return record_run(
        engine,
        kind="forecast",
        twin=twin,
        request=request,
        result=forecast_result(fc),
        spec_hash=spec_hash(ran),
        parameters=model_params(model),
        seeds=[fc.seed],
        reps=fc.reps,
        data_at=state.at,
        data_received=received,
    )


def rerun_forecast(
    engine: Engine, record: RunRecord, executor: Executor | str | None = None
) -> tuple[dict[str, Any], str]:
    """Run a recorded forecast again: the recorded model, the state from the data held at the
    watermark, the same seed and replications, on ``executor`` (any: the executor is not
    recorded, the numbers do not depend on it). Returns (result, spec hash)."""
    req = record.request
    model = model_from_params(record.parameters)
    at = datetime.fromisoformat(req["at"])
    state = state_as_of(engine, at, record.data_received)
    fc = forecast(
        model,
        state,
        float(req["days"]),
        reps=int(req["reps"]),
        seed=int(req["seed"]),
        interval=float(req["interval"]),
        rate_cv=float(req["rate_cv"]),
        groups=int(req["groups"]),
        executor=executor,
    )
    ran = fc.spec or model.spec(state, float(req["days"]), interval=fc.interval)
    return forecast_result(fc), spec_hash(ran)
