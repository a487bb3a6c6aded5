"""The hospital twin's operations on an opened twin: state, calibrate, forecast, backtest, drift.

One place for what the CLI, the HTTP service and notebooks do, so they give the same answers.
Results are pandas DataFrames (or small dataclasses holding them). Beds per unit come from
``twin.yaml`` (``beds: {MED1: 168, ...}``) when given, else from the calibration's estimate.
Times are UTC; durations hours unless a name says days.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import yaml
from sqlalchemy import select

from ..assimilate import ED, HospitalState, census_series, current_state
from ..calibrate import (
    CalibrationError,
    HospitalCalibration,
    calibrate_hospital,
    episodes,
    latest_event,
    load_calibration,
    save_calibration,
)
from ..forecast import Forecast, forecast
from ..forecast._backtest import BacktestResult, backtest, default_origins
from ..forecast._build import model_from_calibration, rate_cv_from
from ..forecast._drift import Alarm, arrival_alarm, band_alarms, los_alarm, record_alarms
from ..govern import audit
from ..scale import Executor
from ..store import AdtEventRow
from ..twin import Twin

__all__ = [
    "FORECASTS_DIR",
    "ForecastRun",
    "calibrate",
    "configured_beds",
    "drift",
    "run_backtest",
    "run_forecast",
    "state_frame",
]

FORECASTS_DIR = "forecasts"
#: The flow spec of the latest forecast, in ``FORECASTS_DIR``.
MODEL_FILE = "model.yaml"
_LATEST = "latest.json"
#: libyaml's emitter when PyYAML has it (10x faster on a spec with hundreds of patients).
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
#: The occupancy line bed managers plan against (share of beds).
LINE = 0.85


def configured_beds(twin: Twin) -> dict[str, int]:
    """``beds:`` from the twin's ``twin.yaml`` (unit -> beds), empty when not given."""
    try:
        config = yaml.safe_load((twin.path / "twin.yaml").read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return {}
    beds = config.get("beds") or {}
    if not isinstance(beds, dict) or not all(isinstance(v, int) and v > 0 for v in beds.values()):
        raise ValueError(
            f"{twin.path / 'twin.yaml'}: 'beds' must map unit names to positive whole numbers"
        )
    return {str(k): int(v) for k, v in beds.items()}


def state_frame(twin: Twin, at: datetime | None = None) -> tuple[HospitalState, pd.DataFrame]:
    """The state at ``at`` and its census table: unit, census, beds (if configured), median
    hours in the unit."""
    state = current_state(twin.engine, at, recent_only=True)
    beds = configured_beds(twin)
    rows = []
    for unit, n in state.census.items():
        hours = [p.in_unit_hours for p in state.patients if p.unit == unit]
        rows.append(
            {
                "unit": unit,
                "census": n,
                "beds": beds.get(unit),
                "median_hours_in_unit": float(np.median(hours)) if hours else None,
            }
        )
    return state, pd.DataFrame(rows, columns=["unit", "census", "beds", "median_hours_in_unit"])


def calibrate(
    twin: Twin, *, until: datetime | None = None, window_days: float = 56.0, save: bool = True
) -> HospitalCalibration:
    """Calibrate on the ``window_days`` before ``until`` (default: the latest event); saved
    as the twin's current calibration unless ``save`` is False."""
    cal = calibrate_hospital(twin.engine, until=until, window_days=window_days)
    if save:
        audit.calibrated(twin.engine, cal, save_calibration(twin.path, cal).name)
    return cal


def _calibration(twin: Twin, at: datetime) -> HospitalCalibration:
    """The saved calibration if there is one not newer than ``at``, else a fresh one up to
    ``at`` (not saved: the saved one is what ``twinsight calibrate`` made)."""
    with contextlib.suppress(CalibrationError):  # none saved yet, or from an older format
        cal = load_calibration(twin.path)
        if cal.watermark <= at:
            return cal
    return calibrate_hospital(twin.engine, until=at)


@dataclass
class ForecastRun:
    """A forecast with what it was made from; ``frame`` has the hourly bands."""

    forecast: Forecast
    state: HospitalState
    calibration: HospitalCalibration
    rate_cv: float
    frame: pd.DataFrame
    #: The id of its run record (``twinsight runs``, ``twinsight rerun``); None: not recorded.
    run_id: str | None = None

    def daily(self) -> pd.DataFrame:
        """The bands at the state's clock time on each following day, with the share of
        replications above the 85% line (``p_over_85``; NaN where beds are unknown)."""
        fc = self.forecast
        day = fc.daily()
        over = []
        for unit, b in zip(day["unit"], day["bin"], strict=True):
            beds = fc.beds.get(str(unit))
            values = fc.samples[str(unit)][:, int(b)]
            over.append(float(np.mean(values > LINE * beds)) if beds else float("nan"))
        return day.assign(p_over_85=over)

    def to_json(self) -> dict[str, Any]:
        """One JSON object: the instant, each unit's census now, beds and daily bands."""
        units: dict[str, Any] = {}
        for record in self.daily().to_dict(orient="records"):
            unit = str(record["unit"])
            entry = units.setdefault(
                unit,
                {
                    "beds": self.forecast.beds.get(unit),
                    "now": self.state.census.get(unit, 0),
                    "days": [],
                },
            )
            over = float(record["p_over_85"])
            entry["days"].append(
                {
                    "time": pd.Timestamp(record["time"]).isoformat(),
                    **{k: round(float(record[k]), 2) for k in ("p5", "p25", "p50", "p75", "p95")},
                    "p_over_85": None if np.isnan(over) else round(over, 3),
                }
            )
        return {
            "at": self.state.at.isoformat(),
            "days": self.forecast.bins * self.forecast.interval / 24,
            "reps": self.forecast.reps,
            "seed": self.forecast.seed,
            "rate_cv": round(self.rate_cv, 4),
            "calibration_watermark": self.calibration.watermark.isoformat(),
            "units": units,
            "indicators": [
                {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}
                for row in self.forecast.indicators().to_dict(orient="records")
            ],
        }


def run_forecast(
    twin: Twin,
    days: float = 7.0,
    *,
    reps: int = 1000,
    seed: int = 1,
    at: datetime | None = None,
    save: bool = True,
    record: bool = True,
    executor: Executor | str | None = None,
) -> ForecastRun:
    """Forecast every unit from the state at ``at`` (default: the latest event) for ``days``
    days; the bands are saved for drift checks unless ``save`` is False, and the run is
    recorded in the store's runs table (``twinsight rerun``) unless ``record`` is False.
    ``executor``: where the replications run (``twinsight.forecast.forecast``)."""
    from ..decide import received_watermark, record_forecast  # decide builds on hospital

    received = received_watermark(twin.engine) if record else None
    state = current_state(twin.engine, at, recent_only=True)
    cal = _calibration(twin, state.at)
    model = model_from_calibration(cal, configured_beds(twin))
    cv = rate_cv_from(cal)
    fc = forecast(model, state, days, reps=reps, seed=seed, rate_cv=cv, executor=executor)
    run = ForecastRun(fc, state, cal, cv, fc.frame())
    if record:
        run.run_id = record_forecast(
            twin.engine, twin.name, model, fc, state, days=days, rate_cv=cv, received=received
        )
    if save:
        folder = twin.path / FORECASTS_DIR
        folder.mkdir(exist_ok=True)
        text = run.frame.assign(time=run.frame["time"].map(lambda t: t.isoformat()))
        payload = json.dumps({"meta": run.to_json(), "hourly": text.to_dict(orient="list")})
        stamp = state.at.strftime("%Y%m%dT%H%M%SZ")
        (folder / f"forecast-{stamp}.json").write_text(payload, encoding="utf-8")
        tmp = folder / f".{_LATEST}.tmp"
        tmp.write_text(payload, encoding="utf-8")
        tmp.replace(folder / _LATEST)
        # the flow spec the forecast ran (the present as warm start): inspect it, or run it
        # with 'twinsight simulate <twin>/forecasts/model.yaml'
        ran = fc.spec or model.spec(state, days)
        spec = ran.model_dump(mode="json", by_alias=True, exclude_none=True)
        header = (
            f"# the hospital twin '{twin.name}' from {state.at.isoformat()}: the model its "
            "forecast ran (calibrated parameters, the present as warm start)\n"
        )
        (folder / MODEL_FILE).write_text(
            header + yaml.dump(spec, Dumper=_DUMPER, sort_keys=False), encoding="utf-8"
        )
    return run


def run_backtest(
    twin: Twin,
    *,
    days: float = 7.0,
    origins: int = 8,
    step_days: float = 7.0,
    window_days: float = 56.0,
    reps: int = 200,
    seed: int = 1,
) -> BacktestResult:
    """Rolling-origin backtest: at each origin, calibrate on the window before it, forecast
    ``days`` ahead, and score against what happened (see ``twinsight.forecast._backtest``)."""
    beds = configured_beds(twin)
    cvs: dict[datetime, float] = {}

    def build(origin: datetime) -> Any:
        cal = calibrate_hospital(twin.engine, until=origin, window_days=window_days)
        cvs[origin] = rate_cv_from(cal)
        return model_from_calibration(cal, beds)

    starts = default_origins(
        twin.engine, days=days, count=origins, step_days=step_days, history_days=window_days
    )
    if not starts:
        raise ValueError(
            f"the history is too short to backtest: it needs {window_days:g} days of "
            f"calibration window, a week more and {days:g} days to score"
        )
    return backtest(
        twin.engine,
        build,
        starts,
        days=days,
        reps=reps,
        seed=seed,
        rate_cv=lambda origin: cvs.get(origin, 0.0),
    )


def _latest_forecast(twin: Twin) -> pd.DataFrame | None:
    path = twin.path / FORECASTS_DIR / _LATEST
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    frame = pd.DataFrame(data["hourly"])
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return frame


def drift(twin: Twin, *, recent_days: float = 28.0, record: bool = True) -> list[Alarm]:
    """Check the twin against what happened since its calibration and last forecast: the
    census against the saved bands, recent stays per unit against the calibrated lengths of
    stay, recent ED arrivals against the calibrated rates. Alarms are recorded in the store."""
    now = latest_event(twin.engine)
    cal = load_calibration(twin.path)
    alarms: list[Alarm] = []
    saved = _latest_forecast(twin)
    if saved is not None and not saved.empty:
        start = saved["time"].min().to_pydatetime()
        end = min(now, saved["time"].max().to_pydatetime() + timedelta(hours=1))
        if end > start + timedelta(hours=1):
            observed = census_series(twin.engine, start, end, 1.0)
            alarms += band_alarms(saved[saved["time"] < pd.Timestamp(end)], observed)
    since = now - timedelta(days=recent_days)
    eps = episodes(twin.engine, until=now, since=since)
    recent = eps[eps["start"] >= pd.Timestamp(since)]
    for unit, fit in cal.los.items():
        part = recent[recent["unit"] == unit]
        alarm = los_alarm(
            unit,
            fit.spec_,
            part["hours"].to_numpy(float),
            ~part["censored"].to_numpy(bool),
            since,
        )
        if alarm is not None:
            alarms.append(alarm)
    week = now - timedelta(days=7)
    arrivals = _arrival_times(twin, week, now)
    alarm = arrival_alarm(
        cal.arrivals.rate_per_hour_, cal.arrivals.daily_dispersion_, arrivals, week, now
    )
    if alarm is not None:
        alarms.append(alarm)
    if record:
        record_alarms(twin.engine, alarms, datetime.now(UTC))
    return alarms


def _arrival_times(twin: Twin, start: datetime, end: datetime) -> list[datetime]:
    with twin.engine.connect() as conn:
        query = select(AdtEventRow.time).where(
            AdtEventRow.type == "arrival",
            AdtEventRow.unit == ED,
            AdtEventRow.time >= start,
            AdtEventRow.time < end,
        )
        return list(conn.execute(query).scalars())
