"""The outbreak forecast: beds, ICU beds, ventilators and admissions ahead, with bands.

An ensemble of ``runs`` futures: each draws a parameter set from the calibration's
uncertainty, solves the model deterministically from day 0 to the last calibrated day (the
present state under those parameters; the patients in hospital, ICU and on ventilators are set
to the counts observed that day when they were), then runs the binomial chain from there over the
coming days (the chance in who is infected, admitted and discharged); admissions also carry
the count noise of the calibration (what a ward would record). Bands are quantiles over runs.

``mode="deterministic"``: the same parameter draws and present states (same seed: the same
draws as the stochastic forecast), but the coming days are the model's own equations
(``difference`` or ``ode``, the twin's ``method``) for each draw, as ``compare
--deterministic`` solves them (``equations_ahead``): no chance in who is infected, admitted or
discharged and no count noise; the bands are the calibration's parameter uncertainty alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..compartments import (
    BAND_QUANTILES,
    Intervention,
    Trajectory,
    bands,
    simulate,
)
from ..scale import Executor
from ._calibrate import OutbreakCalibration
from ._template import SEIR_HOSPITAL, interventions

if TYPE_CHECKING:  # _scenarios imports this module
    from ._scenarios import Mode

__all__ = [
    "QUANTILES",
    "OutbreakForecast",
    "equations_ahead",
    "forecast_outbreak",
    "present_state",
]

#: The band quantiles reported (5-95: the 90% band, 25-75: the 50% band).
QUANTILES = BAND_QUANTILES
_COLUMNS = ("p5", "p25", "p50", "p75", "p95")
#: metric -> the compartments (or the flow) that make it.
_OUTPUTS = {"census": ("H", "C", "V"), "icu": ("C", "V"), "ventilated": ("V",)}
_MODES = ("stochastic", "deterministic")


@dataclass
class OutbreakForecast:
    """Daily bands per metric: ``frame`` has date, metric, mean, p5, p25, p50, p75, p95 and
    ``p_over`` (the share of runs above the configured capacity; NaN without one);
    ``admissions_paths`` holds every run's admissions (runs x days), for the hospital link;
    ``paths`` every run's values of each metric (admissions, census, icu, ventilated)."""

    first_day: date
    days: int
    runs: int
    seed: int
    frame: pd.DataFrame
    admissions_paths: np.ndarray
    #: The id of its run record (``twinsight rerun``); None when not recorded.
    run_id: str | None = None
    #: ``stochastic`` (the binomial chain) or ``deterministic`` (the model's equations).
    mode: str = "stochastic"
    paths: dict[str, np.ndarray] = field(default_factory=dict)
    #: The parameter sets of the runs (name -> ``runs`` values): the same in both modes.
    draws: dict[str, np.ndarray] = field(default_factory=dict)

    def metric(self, name: str) -> pd.DataFrame:
        """The rows of one metric (admissions, census, icu, ventilated), indexed by date."""
        return self.frame[self.frame["metric"] == name].set_index("date")

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: per metric, a list of days with mean and bands."""
        out: dict[str, Any] = {
            "kind": "outbreak",
            "first_day": self.first_day.isoformat(),
            "days": self.days,
            "runs": self.runs,
            "seed": self.seed,
            "mode": self.mode,
            "metrics": {},
        }
        for name in ("admissions", "census", "icu", "ventilated"):
            rows = self.metric(name)
            out["metrics"][name] = [
                {
                    "date": pd.Timestamp(str(d)).date().isoformat(),
                    "mean": round(float(r["mean"]), 3),
                    **{c: float(r[c]) for c in _COLUMNS},
                    **({} if math.isnan(r["p_over"]) else {"p_over": float(r["p_over"])}),
                }
                for d, r in rows.iterrows()
            ]
        return out


def _last(cal: OutbreakCalibration, metric: str) -> float | None:
    values = cal.observed.get(metric) or []
    value = values[-1] if len(values) == cal.days else None
    return None if value is None else float(value)


def _anchor(present: np.ndarray, cal: OutbreakCalibration) -> np.ndarray:
    """The present hospital compartments set to the counts observed on the last day when
    they were (census, ICU, ventilated): the forecast starts from the beds really in use."""
    out = present.copy()
    h, c, v = (SEIR_HOSPITAL.index(x) for x in ("H", "C", "V"))
    census, icu, vent = _last(cal, "census"), _last(cal, "icu"), _last(cal, "ventilated")
    if vent is not None and icu is not None and census is not None and vent <= icu <= census:
        out[:, v], out[:, c], out[:, h] = vent, icu - vent, census - icu
    elif census is not None:
        model = out[:, [h, c, v]].sum(axis=1, keepdims=True)
        out[:, [h, c, v]] *= np.divide(census, model, out=np.ones_like(model), where=model > 0)
    return out


def present_state(cal: OutbreakCalibration, params: dict[str, np.ndarray]) -> np.ndarray:
    """The compartments on the calibration's last day for each parameter set ``(B, C)``:
    the model solved from day 0, its hospital compartments set to the counts observed then."""
    ivs = interventions(cal.config, cal.start)
    present = simulate(
        SEIR_HOSPITAL, params, cal.days, interventions=ivs, method=cal.config.method
    ).states[:, cal.days]
    return _anchor(present, cal)


def equations_ahead(
    cal: OutbreakCalibration,
    params: dict[str, np.ndarray],
    present: np.ndarray,
    ivs: list[Intervention],
    days: int,
) -> Trajectory:
    """The model's equations (the twin's ``method``) over ``days`` days from ``present``
    (``(B, C)``, one state per parameter set), ``ivs`` counted from the last calibrated day."""
    return simulate(
        SEIR_HOSPITAL, params, days, interventions=ivs, method=cal.config.method, x0=present
    )


def forecast_outbreak(
    cal: OutbreakCalibration,
    days: int = 28,
    *,
    runs: int = 1000,
    seed: int = 1,
    mode: Mode = "stochastic",
    executor: Executor | str | None = None,
    workers: int | None = None,
) -> OutbreakForecast:
    """Forecast ``days`` days after the calibration's last day with ``runs`` runs (``mode``:
    see the module docstring), in blocks of 64 runs that are jobs of ``executor``
    (``_blocks.py``: the same numbers on every executor; None: here)."""
    if days < 1:
        raise ValueError("days must be >= 1")
    if runs < 10:
        raise ValueError("runs must be >= 10 for 90% bands")
    if mode not in _MODES:
        raise ValueError(f"unknown mode '{mode}': choose one of {', '.join(_MODES)}")
    from ._blocks import forecast_runs  # imports this module

    series, params = forecast_runs(cal, days, runs, seed, mode=mode, executor=executor,
                                   workers=workers)  # fmt: skip
    admissions = series["admissions"]
    first = cal.watermark + timedelta(days=1)
    dates = [first + timedelta(days=d) for d in range(days)]
    rows = []
    capacity = cal.config.capacity
    for name, values in series.items():
        q = bands(values, QUANTILES)
        mean = values.mean(axis=0)
        limit = capacity.of(name) if capacity is not None else None
        over = (values > limit).mean(axis=0) if limit is not None else np.full(days, np.nan)
        for d in range(days):
            rows.append(
                (dates[d], name, float(mean[d]), *(float(v) for v in q[:, d]), float(over[d]))
            )
    frame = pd.DataFrame(rows, columns=["date", "metric", "mean", *_COLUMNS, "p_over"])
    if not math.isfinite(float(frame["mean"].sum())):
        raise ValueError("the forecast is not finite: check the calibration")
    return OutbreakForecast(
        first, days, runs, seed, frame, admissions, mode=mode, paths=series, draws=params
    )
