"""The dashboard's forecast and backtest: the latest saved bands per unit, a new forecast, the
backtest record (how right the twin has been). Blocking: run in a worker thread."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

from ...govern import DEFAULT_K, suppress
from ...hospital import FORECASTS_DIR, run_backtest, run_forecast
from ...hospital._ops import LINE
from ..schemas_dashboard import (
    BacktestOut,
    BacktestRequest,
    ForecastOut,
    ForecastRequest,
    UnitBands,
)
from .registry import TwinHandle

__all__ = ["BACKTEST_FILE", "backtest_job", "backtest_out", "forecast_job", "forecast_out"]

#: The latest backtest's summary, in the twin's forecasts folder.
BACKTEST_FILE = "backtest.json"
_LATEST = "latest.json"
_BANDS = ("p5", "p25", "p50", "p75", "p95")


def forecast_out(handle: TwinHandle, k: int = DEFAULT_K) -> ForecastOut:
    """The twin's latest saved forecast as hourly bands per unit (``available`` False if
    none): what ``twinsight forecast`` or ``POST .../forecast`` last made."""
    name = handle.twin.name
    path = handle.twin.path / FORECASTS_DIR / _LATEST
    if not path.is_file():
        return ForecastOut(twin=name, available=False)
    data = json.loads(path.read_text(encoding="utf-8"))
    meta, hourly = data["meta"], data["hourly"]
    units: dict[str, UnitBands] = {}
    for unit, info in meta["units"].items():
        rows = [i for i, u in enumerate(hourly["unit"]) if u == unit]
        units[unit] = UnitBands(
            beds=info.get("beds"),
            now=suppress(int(info.get("now", 0)), k),
            time=[hourly["time"][i] for i in rows],
            **{b: [round(float(hourly[b][i]), 2) for i in rows] for b in _BANDS},
        )
    return ForecastOut(
        twin=name,
        available=True,
        at=meta["at"],
        days=meta["days"],
        reps=meta["reps"],
        seed=meta["seed"],
        line=LINE,
        units=units,
        indicators=meta.get("indicators", []),
    )


def forecast_job(handle: TwinHandle, request: ForecastRequest) -> dict[str, Any]:
    """Make and save a forecast (recorded as a run); what the job answers."""
    run = run_forecast(handle.twin, request.days, reps=request.reps, seed=request.seed)
    units = sorted(run.forecast.beds)
    return {"run_id": run.run_id, "at": run.state.at.isoformat(), "units": units}


def _backtest_path(handle: TwinHandle) -> Any:
    return handle.twin.path / FORECASTS_DIR / BACKTEST_FILE


def backtest_out(handle: TwinHandle) -> BacktestOut:
    """The latest backtest's scores (``available`` False if none was run here)."""
    path = _backtest_path(handle)
    if not path.is_file():
        return BacktestOut(twin=handle.twin.name, available=False)
    data = json.loads(path.read_text(encoding="utf-8"))
    return BacktestOut(
        twin=handle.twin.name, available=True, made_at=data["made_at"], summary=data["summary"]
    )


def _clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities as None, keys as strings."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float):
        return round(value, 4) if value == value and abs(value) != float("inf") else None
    if hasattr(value, "item"):  # numpy scalars
        return _clean(value.item())
    return value


def backtest_job(handle: TwinHandle, request: BacktestRequest) -> dict[str, Any]:
    """Run a rolling-origin backtest, keep its summary with the twin's forecasts."""
    result = run_backtest(
        handle.twin,
        days=request.days,
        origins=request.origins,
        window_days=request.window_days,
        reps=request.reps,
        seed=request.seed,
    )
    summary = _clean(result.summary())
    path = _backtest_path(handle)
    path.parent.mkdir(exist_ok=True)
    payload = {"made_at": datetime.now(UTC).isoformat(), "summary": summary}
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload), encoding="utf-8")
    os.replace(tmp, path)
    return {"summary": summary}
