"""The dashboard's calibration and drift: the saved calibration with each unit's fitted length
of stay against the Kaplan-Meier estimate of the window's stays, a new calibration, drift
checks and the recorded alarms. Blocking: run in a worker thread."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...calibrate import CalibrationError, episodes, kaplan_meier, load_calibration
from ...forecast._drift import list_alarms
from ...govern import DEFAULT_K
from ...hospital import calibrate, drift
from ..schemas_dashboard import AlarmList, CalibrationOut, LosCurve
from .registry import TwinHandle

__all__ = ["GRID_POINTS", "alarms_out", "calibrate_job", "calibration_out", "drift_job"]

#: Points of each survival curve (0 to the 95th percentile of the window's stays).
GRID_POINTS = 60


def _step(times: np.ndarray, surv: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The Kaplan-Meier step function at ``grid`` (1 before the first event)."""
    idx = np.searchsorted(times, grid, side="right") - 1
    return np.where(idx >= 0, surv[np.maximum(idx, 0)], 1.0)


def _curve(unit: str, fit: Any, part: pd.DataFrame, since: pd.Timestamp, k: int) -> LosCurve:
    hours = part["hours"].to_numpy(float)
    censored = part["censored"].to_numpy(bool)
    before = (since - part["start"]).dt.total_seconds().to_numpy(float) / 3600.0
    entry = np.minimum(np.maximum(before, 0.0), hours)
    top = float(np.quantile(hours, 0.95)) if len(hours) else 4.0 * fit.mean_
    grid = np.linspace(0.0, max(top, 1.0), GRID_POINTS)
    fitted = np.asarray(fit.survival(grid), dtype=float)
    empirical: list[float | None] = [None] * GRID_POINTS
    if int((~censored).sum()) >= k:  # fewer ended stays than k: no curve of individuals
        times, surv, _ = kaplan_meier(hours, censored, entry)
        empirical = [round(float(x), 4) for x in _step(times, surv, grid)]
    table = fit.table_
    chosen = table[table["chosen"]] if "chosen" in table else table.iloc[:0]
    row = chosen.iloc[0] if len(chosen) else None

    def num(name: str) -> float | None:
        if row is None or pd.isna(row[name]):
            return None
        return round(float(row[name]), 4)

    return LosCurve(
        unit=unit,
        family=fit.family_,
        mean_hours=round(float(fit.mean_), 2),
        n=int(fit.n_),
        ks=num("ks"),
        ks_p=num("ks_p"),
        hours=[round(float(h), 2) for h in grid],
        fitted=[round(float(s), 4) for s in fitted],
        empirical=empirical,
    )


def calibration_out(handle: TwinHandle, k: int = DEFAULT_K) -> CalibrationOut:
    """The saved calibration (``available`` False when the twin was never calibrated)."""
    twin = handle.twin
    try:
        cal = load_calibration(twin.path)
    except CalibrationError:
        return CalibrationOut(twin=twin.name, available=False)
    since = pd.Timestamp(cal.window_start)
    eps = episodes(twin.engine, until=cal.watermark, since=cal.window_start)
    units = [_curve(unit, fit, eps[eps["unit"] == unit], since, k) for unit, fit in cal.los.items()]
    rates = np.asarray(cal.arrivals.rate_per_hour_, dtype=float)
    return CalibrationOut(
        twin=twin.name,
        available=True,
        watermark=cal.watermark,
        window_start=cal.window_start,
        window_days=cal.window_days,
        arrivals_per_hour=round(float(rates.mean()), 3),
        daily_dispersion=round(float(cal.arrivals.daily_dispersion_), 3),
        capacity={str(u): int(c) for u, c in cal.capacity.items()},
        units=units,
        notes=list(cal.notes),
    )


def calibrate_job(handle: TwinHandle) -> dict[str, Any]:
    """Calibrate on the 56 days before the latest event and save it as the twin's current."""
    cal = calibrate(handle.twin)
    return {"watermark": cal.watermark.isoformat(), "units": sorted(cal.los)}


def alarms_out(handle: TwinHandle, days: float | None = None) -> AlarmList:
    """Recorded drift alarms, newest first (checked within ``days`` days when given)."""
    found = list_alarms(handle.twin.engine, days=days)
    return AlarmList(twin=handle.twin.name, alarms=[a.to_dict() for a in found])


def drift_job(handle: TwinHandle) -> dict[str, Any]:
    """Check the twin against what happened since its calibration and forecast (alarms
    recorded); needs a saved calibration."""
    alarms = drift(handle.twin)
    return {"alarms": [a.to_dict() for a in alarms]}
