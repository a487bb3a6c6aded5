"""Rolling-origin backtest: how right the twin would have been, against two naive baselines.

At each origin the twin is rebuilt from the data before it (``build(origin)``: calibrate on the
window that ends there), forecasts ``days`` ahead from the state at the origin, and each bin's
median and 50% / 90% intervals are compared with the census that was observed in that bin.
Baselines: *last value* (the census of the bin just before the origin, held flat) and *same hour
last week* (the census observed 7 days earlier at the same hour; for horizons beyond a week, the
latest week before the origin). Scores pool every unit (the ED included) and every bin:
mean absolute error (beds) and the share of observations inside the 90% and 50% intervals.

Leakage: the state at an origin is rebuilt from events whose *event time* is at or before the
origin. Events that reached the store late (after the origin in reality) are used as if they had
been on time; ``docs/forecast.md`` discusses it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from ..assimilate import census_series, current_state
from ..store import AdtEventRow
from ._forecast import forecast
from ._model import HospitalModel

__all__ = ["BacktestResult", "backtest", "default_origins"]

#: Called after each origin with (done, total).
Progress = Callable[[int, int], None]


@dataclass
class BacktestResult:
    """Every scored bin: origin, unit, horizon (hours), observed, the twin's bands, baselines."""

    rows: pd.DataFrame
    days: float
    reps: int

    def summary(self) -> dict[str, Any]:
        """The twin's ``mae``, ``coverage_90``, ``coverage_50`` and each baseline's ``mae``,
        pooled and per unit; ``beats_baselines`` when the twin's MAE is below both."""
        r = self.rows

        def scores(part: pd.DataFrame) -> dict[str, float]:
            obs = part["observed"]
            return {
                "mae": float((part["p50"] - obs).abs().mean()),
                "coverage_90": float(((obs >= part["p5"]) & (obs <= part["p95"])).mean()),
                "coverage_50": float(((obs >= part["p25"]) & (obs <= part["p75"])).mean()),
                "mae_last_value": float((part["last_value"] - obs).abs().mean()),
                "mae_same_hour_last_week": float((part["last_week"] - obs).abs().mean()),
                "bins": len(part),
            }

        pooled = scores(r)
        per_unit = {str(u): scores(g) for u, g in r.groupby("unit", sort=False)}
        per_day = {
            int(d): scores(g)
            for d, g in r.groupby(np.ceil(r["horizon_h"] / 24).astype(int), sort=True)
        }
        return {
            "mae": pooled["mae"],
            "coverage_90": pooled["coverage_90"],
            "coverage_50": pooled["coverage_50"],
            "baselines": {
                "last_value": {"mae": pooled["mae_last_value"]},
                "same_hour_last_week": {"mae": pooled["mae_same_hour_last_week"]},
            },
            "beats_baselines": pooled["mae"]
            < min(pooled["mae_last_value"], pooled["mae_same_hour_last_week"]),
            "origins": int(r["origin"].nunique()),
            "bins": pooled["bins"],
            "days": self.days,
            "reps": self.reps,
            "per_unit": per_unit,
            "per_day": per_day,
        }


def _data_span(engine: Engine) -> tuple[datetime, datetime]:
    with engine.connect() as conn:
        lo, hi = conn.execute(select(func.min(AdtEventRow.time), func.max(AdtEventRow.time))).one()
    if lo is None or hi is None:
        raise ValueError("the store holds no events: ingest an ADT event history first")
    return lo, hi


def default_origins(
    engine: Engine,
    *,
    days: float = 7.0,
    count: int = 8,
    step_days: float = 7.0,
    history_days: float = 56.0,
) -> list[datetime]:
    """Up to ``count`` origins at midnight UTC, ``step_days`` apart, the last one ``days``
    before the latest event, each with ``history_days`` of data (plus a week) before it."""
    lo, hi = _data_span(engine)
    last = (hi - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    earliest = lo + timedelta(days=history_days + 7)
    out = []
    for k in range(count):
        t = last - timedelta(days=k * step_days)
        if t < earliest:
            break
        out.append(t)
    return sorted(out)


def backtest(
    engine: Engine,
    build: Callable[[datetime], HospitalModel],
    origins: Sequence[datetime],
    *,
    days: float = 7.0,
    reps: int = 200,
    seed: int = 1,
    interval: float = 1.0,
    rate_cv: float | Callable[[datetime], float] = 0.0,
    progress: Progress | None = None,
) -> BacktestResult:
    """Backtest the twin at each origin (see the module docstring); bins of ``interval`` hours.

    ``rate_cv``: the forecast's arrival-level uncertainty, or a function of the origin giving it
    (called after ``build(origin)``, so a build that calibrates can supply it)."""
    if not origins:
        raise ValueError("no origins to backtest: the history is too short for the window")
    origins = sorted(o.astimezone(UTC) for o in origins)
    week = timedelta(days=7)
    weeks_back = int(np.ceil(days / 7))
    first = origins[0] - weeks_back * week - timedelta(hours=interval)
    observed = census_series(engine, first, origins[-1] + timedelta(days=days), interval)
    frames = []
    for i, origin in enumerate(origins):
        model = build(origin)
        state = current_state(engine, origin, recent_only=True)
        cv = rate_cv(origin) if callable(rate_cv) else rate_cv
        fc = forecast(model, state, days, reps=reps, seed=seed + i, interval=interval, rate_cv=cv)
        times = pd.DatetimeIndex(fc.times())
        before = origin - timedelta(hours=interval)
        for unit in fc.units:
            if unit not in observed:
                continue
            col = observed[unit]
            q = fc.quantiles(unit)
            obs = col.reindex(times).to_numpy(float)
            horizon = np.arange(1, len(times) + 1) * interval
            k = np.ceil(horizon / (24 * 7)).astype(int)
            back = times - pd.to_timedelta(k * 7, unit="D")
            frames.append(
                pd.DataFrame(
                    {
                        "origin": origin,
                        "unit": unit,
                        "time": times,
                        "horizon_h": horizon,
                        "observed": obs,
                        "p5": q[0],
                        "p25": q[1],
                        "p50": q[2],
                        "p75": q[3],
                        "p95": q[4],
                        "last_value": float(col.get(pd.Timestamp(before), np.nan)),
                        "last_week": col.reindex(back).to_numpy(float),
                    }
                )
            )
        if progress is not None:
            progress(i + 1, len(origins))
    rows = pd.concat(frames, ignore_index=True).dropna(subset=["observed", "last_week"])
    return BacktestResult(rows, days, reps)
