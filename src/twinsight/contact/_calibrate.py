"""Calibration of the contact-centre twin from stored interactions (scikit-learn conventions:
configuration in ``__init__``, ``fit(data)`` returns ``self``, learned attributes end in ``_``).

- :class:`IntervalArrivals`: calls per queue, weekday and 15- or 30-minute interval, with exact
  Poisson (Garwood) intervals; the number of each weekday in the window is counted from the
  calendar, so a closed day (no calls) counts as a day with zero calls.
- Handle time per queue: :class:`twinsight.calibrate.LengthOfStay` (maximum likelihood over
  exponential, gamma, lognormal and Weibull, chosen by AIC) on the answered calls' handle times.
- Patience per queue: the same censored fit, on waits: an abandoned call's wait is its patience
  (an event); an answered call's wait is a right-censored patience (it would have waited at
  least that long). Averaging the abandoned calls' waits instead would understate patience.
- :class:`SatisfactionModel`: least squares of the score on the wait and the handle time
  (minutes), with standard errors; linear, so the mean score of a scenario follows exactly from
  its mean wait of the answered and mean handle time.

Durations in the fitted models are in minutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..calibrate import LengthOfStay

__all__ = [
    "WEEKDAYS",
    "ContactCalibration",
    "ContactCalibrationError",
    "IntervalArrivals",
    "SatisfactionModel",
    "calibrate_contact",
    "stated_calibration",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FAMILIES = ("exponential", "gamma", "lognormal", "weibull")


class ContactCalibrationError(ValueError):
    """Too little data to calibrate; the message says what is missing."""


class IntervalArrivals:
    """Arrival rates per queue, weekday and interval of ``interval_minutes`` (15 or 30 or 60).

    Learned: ``table_`` (queue, weekday, slot, start, calls, days, rate (calls per interval),
    lo, hi (the ``level`` Garwood interval of the rate)), ``queues_``, ``days_`` (each
    weekday's count of days in the window).
    """

    def __init__(self, interval_minutes: int = 30, level: float = 0.95) -> None:
        self.interval_minutes = interval_minutes
        self.level = level

    def fit(self, frame: pd.DataFrame, first: datetime, last: datetime) -> IntervalArrivals:
        """Count ``frame``'s calls (columns arrived_at (UTC), queue) per queue, weekday and
        interval; ``[first, last)`` is the window (whole UTC days). Returns ``self``."""
        if self.interval_minutes not in (15, 30, 60):
            raise ValueError("interval_minutes must be 15, 30 or 60")
        slots = 1440 // self.interval_minutes
        n_days = max(1, (last.date() - first.date()).days)
        days = [0] * 7
        for d in range(n_days):
            days[(first.date() + timedelta(days=d)).weekday()] += 1
        t = frame["arrived_at"]
        minute = t.dt.hour * 60 + t.dt.minute
        slot = (minute // self.interval_minutes).to_numpy()
        weekday = t.dt.day_of_week.to_numpy()
        self.queues_ = sorted(str(q) for q in frame["queue"].unique())
        counts = np.zeros((len(self.queues_), 7, slots))
        qi = frame["queue"].map({q: i for i, q in enumerate(self.queues_)}).to_numpy()
        np.add.at(counts, (qi, weekday, slot), 1)
        alpha = 1 - self.level
        rows = []
        for i, q in enumerate(self.queues_):
            for w in range(7):
                for s in range(slots):
                    k, n = counts[i, w, s], days[w]
                    lo = stats.chi2.ppf(alpha / 2, 2 * k) / 2 if k > 0 else 0.0
                    hi = stats.chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2
                    m = s * self.interval_minutes
                    rows.append(
                        {
                            "queue": q,
                            "weekday": WEEKDAYS[w],
                            "slot": s,
                            "start": f"{m // 60:02d}:{m % 60:02d}",
                            "calls": int(k),
                            "days": n,
                            "rate": k / n if n else 0.0,
                            "lo": lo / n if n else 0.0,
                            "hi": hi / n if n else math.inf,
                        }
                    )
        self.table_ = pd.DataFrame(rows)
        self.days_ = days
        return self

    def rates(self, queue: str, weekday: str) -> np.ndarray:
        """Mean calls per interval of one queue on one weekday (one value per interval)."""
        t = self.table_
        sel = t[(t["queue"] == queue) & (t["weekday"] == weekday)]
        return sel.sort_values("slot")["rate"].to_numpy(dtype=float)

    def hour_of_week(self, queue: str) -> list[float]:
        """Calls per hour for each of the 168 hours of the week (Monday 00:00 first), the mean
        of the hour's intervals (the flow spec's profiles are hourly)."""
        per_hour = 60 // self.interval_minutes
        out: list[float] = []
        for w in WEEKDAYS:
            r = self.rates(queue, w)
            out += [float(r[h * per_hour : (h + 1) * per_hour].sum()) for h in range(24)]
        return out


class SatisfactionModel:
    """Satisfaction score = b0 + b_wait * wait + b_handle * handle (minutes) + noise, by least
    squares on the surveyed answered calls. Learned: ``coef_`` (b0, b_wait, b_handle), ``se_``
    (their standard errors), ``r2_``, ``n_``, ``mean_`` (the observed mean score)."""

    def fit(self, wait: np.ndarray, handle: np.ndarray, score: np.ndarray) -> SatisfactionModel:
        """Fit to answered calls' waits and handle times (minutes) and their scores."""
        x = np.column_stack([np.ones(len(wait)), wait, handle])
        if len(score) < 10:
            raise ContactCalibrationError(
                f"only {len(score)} satisfaction scores: need at least 10 to fit the model"
            )
        coef, *_ = np.linalg.lstsq(x, score, rcond=None)
        resid = score - x @ coef
        dof = max(1, len(score) - 3)
        sigma2 = float(resid @ resid) / dof
        cov = sigma2 * np.linalg.pinv(x.T @ x)
        self.coef_ = [float(c) for c in coef]
        self.se_ = [float(math.sqrt(max(v, 0.0))) for v in np.diag(cov)]
        total = float(((score - score.mean()) ** 2).sum())
        self.r2_ = 1.0 - float(resid @ resid) / total if total > 0 else 0.0
        self.n_ = len(score)
        self.mean_ = float(score.mean())
        return self

    def predict(self, wait: float, handle: float) -> float:
        """Mean score at a mean wait and a mean handle time (minutes); exact for means, since
        the model is linear."""
        b0, bw, bh = self.coef_
        return b0 + bw * wait + bh * handle

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "coef": self.coef_,
            "se": self.se_,
            "r2": self.r2_,
            "n": self.n_,
            "mean": self.mean_,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SatisfactionModel:
        """Back from :meth:`to_dict`."""
        m = cls()
        m.coef_, m.se_ = [float(x) for x in d["coef"]], [float(x) for x in d["se"]]
        m.r2_, m.n_, m.mean_ = float(d["r2"]), int(d["n"]), float(d["mean"])
        return m


@dataclass
class ContactCalibration:
    """Everything learned from a window of interactions (durations in minutes)."""

    first: datetime
    last: datetime
    interval_minutes: int
    arrivals: IntervalArrivals
    handle: dict[str, LengthOfStay]
    patience: dict[str, LengthOfStay | None]
    satisfaction: SatisfactionModel | None
    observed: dict[str, dict[str, float]]

    @property
    def watermark(self) -> datetime:
        """End of the window (the audit log's name for it)."""
        return self.last

    @property
    def window_start(self) -> datetime:
        """Start of the window."""
        return self.first

    @property
    def window_days(self) -> float:
        """Length of the window, days."""
        return (self.last - self.first).total_seconds() / 86400.0

    @property
    def queues(self) -> list[str]:
        """The queues (skills) seen."""
        return list(self.arrivals.queues_)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (saved as the twin's contact-calibration.json)."""
        a = self.arrivals
        return {
            "kind": "contact-centre",
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "interval_minutes": self.interval_minutes,
            "arrivals": {
                "level": a.level,
                "days": a.days_,
                "queues": a.queues_,
                "table": a.table_.to_dict(orient="list"),
            },
            "handle": {q: m.to_dict() for q, m in self.handle.items()},
            "patience": {q: (m.to_dict() if m else None) for q, m in self.patience.items()},
            "satisfaction": self.satisfaction.to_dict() if self.satisfaction else None,
            "observed": self.observed,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ContactCalibration:
        """Back from :meth:`to_dict`."""
        arr = IntervalArrivals(int(d["interval_minutes"]), float(d["arrivals"]["level"]))
        arr.table_ = pd.DataFrame(d["arrivals"]["table"])
        arr.queues_ = list(d["arrivals"]["queues"])
        arr.days_ = list(d["arrivals"]["days"])
        sat = d.get("satisfaction")
        return cls(
            datetime.fromisoformat(d["first"]),
            datetime.fromisoformat(d["last"]),
            int(d["interval_minutes"]),
            arr,
            {q: LengthOfStay.from_dict(m) for q, m in d["handle"].items()},
            {q: (LengthOfStay.from_dict(m) if m else None) for q, m in d["patience"].items()},
            SatisfactionModel.from_dict(sat) if sat else None,
            d["observed"],
        )

    def report(self) -> str:
        """A plain-text summary."""
        lines = [
            f"contact-centre calibration: {self.first:%Y-%m-%d} to {self.last:%Y-%m-%d} "
            f"(interval {self.interval_minutes} min)",
            f"{'queue':12} {'calls/wk':>9} {'handle (min)':>22} {'patience (min)':>24} "
            f"{'answered':>9} {'SL obs':>7}",
        ]
        t = self.arrivals.table_
        weeks = max(sum(self.arrivals.days_) / 7.0, 1e-9)
        for q in self.queues:
            calls = float(t.loc[t["queue"] == q, "calls"].sum()) / weeks
            h = self.handle[q]
            p = self.patience[q]
            pat = f"{p.family_} mean {p.mean_:.2f}" if p else "no abandonment"
            o = self.observed[q]
            lines.append(
                f"{q:12} {calls:9.0f} {h.family_ + f' mean {h.mean_:.2f}':>22} {pat:>24} "
                f"{100 * o['answered']:8.1f}% {100 * o['service_level']:6.1f}%"
            )
        s = self.satisfaction
        if s is not None:
            b0, bw, bh = s.coef_
            lines.append(
                f"satisfaction = {b0:.3f} {bw:+.4f} x wait {bh:+.4f} x handle (minutes), "
                f"R2 {s.r2_:.3f}, n {s.n_} (se {s.se_[1]:.4f}, {s.se_[2]:.4f})"
            )
        return "\n".join(lines) + "\n"


def calibrate_contact(
    frame: pd.DataFrame,
    *,
    interval_minutes: int = 30,
    target_seconds: float = 20.0,
    level: float = 0.95,
) -> ContactCalibration:
    """Calibrate from interactions (``load_interactions``: seconds, UTC) over whole UTC days
    from the first to the last call."""
    if len(frame) < 50:
        raise ContactCalibrationError(
            f"only {len(frame)} interactions stored: ingest at least a few days of records"
        )
    start = frame["arrived_at"].min().floor("D").to_pydatetime()
    end = (frame["arrived_at"].max().floor("D") + pd.Timedelta(days=1)).to_pydatetime()
    arrivals = IntervalArrivals(interval_minutes, level).fit(frame, start, end)
    handle: dict[str, LengthOfStay] = {}
    patience: dict[str, LengthOfStay | None] = {}
    observed: dict[str, dict[str, float]] = {}
    for q, g in frame.groupby("queue"):
        q = str(q)
        ans = g["answered"].to_numpy(bool)
        wait = g["wait"].to_numpy(float) / 60.0
        h = g.loc[g["answered"], "handle"].to_numpy(float) / 60.0
        if len(h) < 3:
            raise ContactCalibrationError(f"queue '{q}' has {len(h)} answered calls: need 3")
        handle[q] = LengthOfStay(_FAMILIES, resolution_hours=1 / 60).fit(h)
        abandoned = int((~ans).sum())
        patience[q] = (
            LengthOfStay(_FAMILIES, resolution_hours=1 / 60).fit(wait, censored=ans)
            if abandoned >= 3
            else None
        )
        observed[q] = {
            "calls": float(len(g)),
            "answered": float(ans.mean()),
            "service_level": float((wait[ans] <= target_seconds / 60).mean())
            if ans.any()
            else math.nan,
            "asa_minutes": float(wait[ans].mean()) if ans.any() else math.nan,
            "handle_cv": float(np.std(h) / np.mean(h)),
        }
    scored = frame[frame["answered"] & frame["satisfaction"].notna()]
    sat = None
    if len(scored) >= 10:
        sat = SatisfactionModel().fit(
            scored["wait"].to_numpy(float) / 60,
            scored["handle"].to_numpy(float) / 60,
            scored["satisfaction"].to_numpy(float),
        )
    return ContactCalibration(
        start, end, interval_minutes, arrivals, handle, patience, sat, observed
    )


def _exponential(mean: float, n: int) -> LengthOfStay:
    """A fitted-looking exponential duration of ``mean`` minutes (no data: covariance 0)."""
    return LengthOfStay.from_dict(
        {
            "families": ["exponential"],
            "criterion": "aic",
            "level": 0.95,
            "resolution_hours": 1 / 60,
            "family": "exponential",
            "params": {"scale": mean},
            "fits": {"exponential": {"scale": mean}},
            "cov": [[0.0]],
            "n": n,
            "n_events": n,
            "table": [],
        }
    )


def stated_calibration(
    queues: dict[str, tuple[float, float, float | None]],
    *,
    interval_minutes: int = 30,
    first: datetime = datetime(2026, 1, 5),
) -> ContactCalibration:
    """A calibration stated rather than learned (planning a new queue, validating against
    queueing theory): per queue ``(calls per interval, every interval of every day; mean
    handle time, minutes; mean patience, minutes, or None)``, both exponential. No
    satisfaction model; the window is one week from ``first``."""
    slots = 1440 // interval_minutes
    rows = []
    for q, (calls, _, _) in queues.items():
        for w in range(7):
            for s in range(slots):
                m = s * interval_minutes
                rows.append({"queue": q, "weekday": WEEKDAYS[w], "slot": s,
                             "start": f"{m // 60:02d}:{m % 60:02d}", "calls": calls, "days": 1,
                             "rate": calls, "lo": calls, "hi": calls})  # fmt: skip
    arrivals = IntervalArrivals(interval_minutes)
    arrivals.table_ = pd.DataFrame(rows)
    arrivals.queues_ = sorted(queues)
    arrivals.days_ = [1] * 7
    observed = {q: {"calls": 0.0, "answered": math.nan, "service_level": math.nan,
                    "asa_minutes": math.nan, "handle_cv": 1.0} for q in queues}  # fmt: skip
    return ContactCalibration(
        first,
        first + timedelta(days=7),
        interval_minutes,
        arrivals,
        {q: _exponential(h, 0) for q, (_, h, _) in queues.items()},
        {q: (None if p is None else _exponential(p, 0)) for q, (_, _, p) in queues.items()},
        None,
        observed,
    )
