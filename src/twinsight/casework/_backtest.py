"""Rolling-origin backtest of the casework forecast: how right it would have been.

At each origin the twin is calibrated on the ``window_days`` before it (events at or before the
origin only), its open cases are placed as the present, and the forecast runs ``days`` days
ahead; each day's median and 50% / 90% bands of the open cases are compared with the open
cases the events show for that day (:func:`open_cases_daily`: the time average over the day of
the cases referred and not closed, with the forecast's rule for stale cases: no event for
``stale_days``). Baselines: *last value* (the open cases of the day before the origin, held
flat) and *same day last week* (the day 7 days earlier; for horizons beyond a week, the
latest week before the origin).

**How many independent tests.** The days of one origin share one level of referrals, one
state and one draw of the world; their misses are strongly correlated, so a backtest is
roughly as many independent tests as it has origins (non-overlapping horizons: ``step_days``
>= ``days``). The coverage of one origin (a share of its days) has variance at most
``p(1 - p)`` (all days in or all out), so the mean coverage over ``n`` origins has standard
error at most ``sqrt(p(1 - p) / n)``: :meth:`CaseworkBacktest.summary` gives the band
``p +- z sqrt(p(1 - p) / n)`` (95%, normal approximation to the binomial of ``n`` trials)
within which a well-calibrated 90% band's coverage falls.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from ..twin import Twin
from ._calibrate import CaseworkCalibration
from ._cases import by_segment, case_history
from ._events import load_case_events
from ._forecast import case_state
from ._ops import DEFAULT_GROUPS, casework_config, forecast_from

__all__ = [
    "CaseworkBacktest",
    "backtest_casework",
    "default_origins",
    "open_cases_daily",
    "run_backtest",
]

_OPEN = {"referral", "triage", "assessment_start", "info_received", "info_requested", "decision"}
_DAY = pd.Timedelta(days=1)


def open_cases_daily(
    events: pd.DataFrame, start: datetime, days: int, stale_days: float = 90.0
) -> np.ndarray:
    """The open cases of each of ``days`` days from ``start`` (time average over the day): a
    case counts from each event whose type leaves it open (any but ``closed``) until its next
    event, or for ``stale_days`` after its last one."""
    ev = events.dropna(subset=["time"]).sort_values(["case_key", "time"], kind="stable")
    t = ev["time"].to_numpy("datetime64[ns]")
    nxt = np.roll(t, -1)
    last = (ev["case_key"].to_numpy() != np.roll(ev["case_key"].to_numpy(), -1)) | (
        np.arange(len(ev)) == len(ev) - 1
    )
    stale = t + np.timedelta64(int(stale_days * 86400), "s")
    end = np.where(last, stale, np.minimum(nxt, stale))
    keep = ev["type"].isin(list(_OPEN)).to_numpy() & ev["district"].notna().to_numpy()
    s, e = t[keep], end[keep]
    t0 = pd.Timestamp(start).tz_convert(None).to_datetime64()
    s_d = (s - t0) / np.timedelta64(1, "D")
    e_d = (e - t0) / np.timedelta64(1, "D")
    out = np.empty(days)
    for d in range(days):
        out[d] = np.clip(np.minimum(e_d, d + 1) - np.maximum(s_d, d), 0.0, None).sum()
    return out


def default_origins(
    events: pd.DataFrame, *, days: float, count: int, step_days: float, window_days: float
) -> list[datetime]:
    """Up to ``count`` origins at midnight UTC, ``step_days`` apart, the last ``days`` before
    the latest event, each with ``window_days`` of history (and a week more) before it."""
    lo, hi = events["time"].min(), events["time"].max()
    last = (hi - pd.Timedelta(days=days)).normalize()
    earliest = lo + pd.Timedelta(days=window_days + 7)
    out = []
    for k in range(count):
        t = last - pd.Timedelta(days=k * step_days)
        if t < earliest:
            break
        out.append(t.to_pydatetime())
    return sorted(out)


@dataclass
class CaseworkBacktest:
    """Every scored day: origin, day ahead, observed open cases, the forecast's quantiles and
    the two baselines."""

    rows: pd.DataFrame
    days: int
    reps: int
    groups: int

    def summary(self, level: float = 0.95) -> dict[str, Any]:
        """``mae`` (cases), ``coverage_90``, ``coverage_50``, each baseline's ``mae``,
        ``beats_baselines``, ``origins``, ``per_origin`` (coverage and MAE of each), and
        ``coverage_90_band``: where the 90% coverage of a well-calibrated forecast falls with
        probability ``level``, counting one independent test per origin (module docstring)."""
        r = self.rows
        obs = r["observed"]
        inside90 = (obs >= r["p5"]) & (obs <= r["p95"])
        inside50 = (obs >= r["p25"]) & (obs <= r["p75"])
        n = int(r["origin"].nunique())
        z = float(_z(level))
        half = z * math.sqrt(0.9 * 0.1 / max(n, 1))
        mae = float((r["p50"] - obs).abs().mean())
        last_value = float((r["last_value"] - obs).abs().mean())
        last_week = float((r["last_week"] - obs).abs().mean())
        per_origin = {}
        for o, g in r.groupby("origin", sort=True):
            hit = (g["observed"] >= g["p5"]) & (g["observed"] <= g["p95"])
            per_origin[str(pd.Timestamp(str(o)).isoformat())] = {
                "coverage_90": float(hit.mean()),
                "mae": float((g["p50"] - g["observed"]).abs().mean()),
                "bias": float((g["p50"] - g["observed"]).mean()),
            }
        cov90 = float(inside90.mean())
        band = (max(0.0, 0.9 - half), min(1.0, 0.9 + half))
        return {
            "mae": mae,
            "coverage_90": cov90,
            "coverage_50": float(inside50.mean()),
            "coverage_90_band": list(band),
            "coverage_90_ok": band[0] <= cov90 <= band[1],
            "baselines": {
                "last_value": {"mae": last_value},
                "same_day_last_week": {"mae": last_week},
            },
            "beats_baselines": mae < min(last_value, last_week),
            "origins": n,
            "days_scored": len(r),
            "days": self.days,
            "reps": self.reps,
            "groups": self.groups,
            "per_origin": per_origin,
        }


def _z(level: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(0.5 + level / 2.0))


#: Called after each origin with (done, total).
Progress = Callable[[int, int], None]


def backtest_casework(
    events: pd.DataFrame,
    calibration: Callable[[datetime], CaseworkCalibration],
    origins: Sequence[datetime],
    *,
    days: int = 28,
    reps: int = 200,
    seed: int = 1,
    groups: int = DEFAULT_GROUPS,
    stale_days: float = 90.0,
    progress: Progress | None = None,
) -> CaseworkBacktest:
    """Backtest at each origin (see the module docstring). ``events``: every case event (the
    model's segment in ``district``); ``calibration(origin)``: a calibration fitted on the
    events at or before the origin. Origin ``i`` forecasts with seed ``seed + i``."""
    if not origins:
        raise ValueError("no origins to backtest: the history is too short for the window")
    frames = []
    for i, origin in enumerate(sorted(origins)):
        at = pd.Timestamp(origin).tz_convert("UTC").to_pydatetime()
        cal = calibration(at)
        before = events[events["time"] <= pd.Timestamp(at)]
        state = case_state(case_history(before, at), cal.model(recent=True), at, stale_days)
        fc = forecast_from(cal, state, float(days), reps=reps, seed=seed + i, groups=groups)
        q = fc.daily[fc.daily["measure"] == "backlog"].reset_index(drop=True)
        weeks = math.ceil(days / 7)
        span = open_cases_daily(events, at - timedelta(days=7 * weeks + 1),
                                7 * weeks + 1 + days, stale_days)  # fmt: skip
        offset = 7 * weeks + 1
        observed = span[offset:]
        ahead = np.arange(1, days + 1)
        back = offset + (ahead - 1) - 7 * np.ceil(ahead / 7).astype(int)
        frames.append(
            pd.DataFrame(
                {
                    "origin": pd.Timestamp(at),
                    "day": ahead,
                    "date": [(at + timedelta(days=int(d) - 1)).date().isoformat() for d in ahead],
                    "observed": observed,
                    **{c: q[c].to_numpy(float) for c in ("p5", "p25", "p50", "p75", "p95")},
                    "last_value": span[offset - 1],
                    "last_week": span[back],
                }
            )
        )
        if progress is not None:
            progress(i + 1, len(origins))
    return CaseworkBacktest(pd.concat(frames, ignore_index=True), days, reps, groups)


def run_backtest(
    twin: Twin,
    *,
    days: int = 28,
    origins: int = 8,
    step_days: float = 28.0,
    window_days: float | None = None,
    reps: int = 200,
    seed: int = 1,
    groups: int = DEFAULT_GROUPS,
    progress: Progress | None = None,
) -> CaseworkBacktest:
    """The backtest of a social-services twin over its stored events, with its ``casework:``
    settings (``window_days``: the calibration window before each origin, default the twin's)."""
    cfg = casework_config(twin)
    window = window_days or cfg.window_days
    events = by_segment(load_case_events(twin.engine), cfg.segment)
    if events.empty:
        raise ValueError("there are no case events: ingest some first")
    starts = default_origins(events, days=days, count=origins, step_days=step_days,
                             window_days=window)  # fmt: skip
    if not starts:
        raise ValueError(
            f"the history is too short to backtest: it needs {window:g} days of calibration "
            f"window, a week more and {days} days to score"
        )

    def calibration(origin: datetime) -> CaseworkCalibration:
        return CaseworkCalibration(
            window_days=window,
            deadline_days=cfg.deadline_days,
            caseload=cfg.caseload,
            workers=cfg.workers or None,
            priorities=cfg.priorities or None,
            segment="district",  # the events are already keyed by the segment
        ).fit(events[events["time"] <= pd.Timestamp(origin)], origin)

    return backtest_casework(events, calibration, starts, days=days, reps=reps, seed=seed,
                             groups=groups, progress=progress)  # fmt: skip
