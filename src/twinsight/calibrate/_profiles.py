"""Time profiles: ED arrival rates by hour of week, the discharge hour-of-day pattern.

All instants are UTC; hour of week 0 is Monday 00:00-01:00, 167 is Sunday 23:00-24:00.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._intervals import poisson_interval

__all__ = ["ArrivalRates", "DischargeHours", "hour_of_week_label", "utc_index"]

HOURS_PER_WEEK = 168
_HOUR = pd.Timedelta(hours=1)


def utc_index(times: Any) -> pd.DatetimeIndex:
    """Aware instants (datetimes, strings with offsets, a Series) as a UTC DatetimeIndex.

    Naive instants are refused: an hour of week is only meaningful with a known offset.
    """
    idx = pd.DatetimeIndex(times)
    if len(idx) and idx.tz is None:
        raise ValueError("naive instants: give times with a UTC offset")
    return idx.tz_convert("UTC") if idx.tz is not None else idx.tz_localize("UTC")


def _utc(at: datetime) -> pd.Timestamp:
    ts = pd.Timestamp(at)
    if ts.tzinfo is None:
        raise ValueError(f"'{at}' has no UTC offset: give an aware instant")
    return ts.tz_convert("UTC")


class ArrivalRates:
    """Arrivals per hour for each of the 168 hours of the week, from arrival instants.

    Over the ``window_days`` days before ``until``: ``rate_per_hour_[k]`` = arrivals in hour of
    week ``k`` / hours of that kind in the window (exposure), with an exact Poisson (Garwood)
    interval at ``level`` (``lower_``, ``upper_``), widened to quasi-Poisson by
    ``overdispersion_`` when the daily totals are significantly over-dispersed (chi-square test
    at ``dispersion_test`` level). No smoothing across hours: each hour's estimate stands alone
    (see docs/calibration.md).

    Learned: ``rate_per_hour_``, ``lower_``, ``upper_`` (arrays of 168, arrivals per hour),
    ``counts_`` and ``exposure_hours_`` (per hour of week), ``daily_dispersion_`` (variance of
    the complete days' totals around their day-of-week means, over their mean: 1 for Poisson),
    ``overdispersion_`` (the factor used for the intervals, >= 1), ``n_days_`` (complete days),
    ``start_``, ``end_`` (the window, UTC), ``n_`` (arrivals in the window).
    """

    def __init__(
        self, window_days: float = 56, level: float = 0.90, *, dispersion_test: float = 0.01
    ) -> None:
        self.window_days = window_days
        self.level = level
        self.dispersion_test = dispersion_test

    def fit(self, arrival_times: Any, until: datetime | None = None) -> ArrivalRates:
        """Estimate from aware arrival instants; the window ends at ``until`` (default: the
        latest arrival) and starts ``window_days`` earlier. Returns ``self``."""
        if self.window_days <= 0 or not 0 < self.level < 1:
            raise ValueError("window_days must be > 0 and level in (0, 1)")
        times = utc_index(arrival_times)
        if until is None:
            if not len(times):
                raise ValueError("no arrivals to fit")
            end = times.max()
        else:
            end = _utc(until)
        start = end - pd.Timedelta(days=self.window_days)
        times = times[(times >= start) & (times <= end)]
        counts = np.bincount(_hour_of_week(times), minlength=HOURS_PER_WEEK).astype(float)
        exposure = _exposure(start, end)
        daily = _daily_totals(times, start, end)
        phi = _dispersion(daily)
        over = 1.0
        if math.isfinite(phi) and phi > 1:
            dof = len(daily) - daily["dow"].nunique()
            if stats.chi2.sf(dof * phi, dof) < self.dispersion_test:
                over = phi
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(exposure > 0, counts / exposure, np.nan)
            lo, hi = poisson_interval(
                counts, np.where(exposure > 0, exposure, np.nan), self.level, over
            )
        self.rate_per_hour_ = rate
        self.lower_, self.upper_ = lo, hi
        self.counts_, self.exposure_hours_ = counts, exposure
        self.daily_dispersion_ = phi
        self.overdispersion_ = over
        self.n_days_ = len(daily)
        self.n_ = len(times)
        self.start_, self.end_ = start.to_pydatetime(), end.to_pydatetime()
        return self

    @property
    def per_day(self) -> float:
        """Mean arrivals per day (the weekly profile's total / 7)."""
        return float(np.nansum(self.rate_per_hour_) / 7)

    def to_dict(self) -> dict[str, Any]:
        """Configuration and fit as plain JSON types."""
        return {
            "window_days": self.window_days,
            "level": self.level,
            "dispersion_test": self.dispersion_test,
            "rate_per_hour": _floats(self.rate_per_hour_),
            "lower": _floats(self.lower_),
            "upper": _floats(self.upper_),
            "counts": _floats(self.counts_),
            "exposure_hours": _floats(self.exposure_hours_),
            "daily_dispersion": _float(self.daily_dispersion_),
            "overdispersion": self.overdispersion_,
            "n_days": self.n_days_,
            "n": self.n_,
            "start": self.start_.isoformat(),
            "end": self.end_.isoformat(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ArrivalRates:
        """The fitted estimator back from :meth:`to_dict`."""
        est = cls(d["window_days"], d["level"], dispersion_test=d["dispersion_test"])
        for key in ("rate_per_hour", "lower", "upper", "counts", "exposure_hours"):
            setattr(est, key + "_", _array(d[key]))
        est.daily_dispersion_ = math.nan if d["daily_dispersion"] is None else d["daily_dispersion"]
        est.overdispersion_ = float(d["overdispersion"])
        est.n_days_, est.n_ = int(d["n_days"]), int(d["n"])
        est.start_ = datetime.fromisoformat(d["start"])
        est.end_ = datetime.fromisoformat(d["end"])
        return est


def _float(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _floats(a: np.ndarray) -> list[float | None]:
    return [_float(float(x)) for x in a]


def _array(values: Sequence[float | None]) -> np.ndarray:
    return np.array([math.nan if v is None else v for v in values], dtype=float)


def _hour_of_week(times: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray(times.day_of_week * 24 + times.hour, dtype=np.int64)


def _exposure(start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    """Hours of each hour-of-week kind inside [start, end]."""
    edges = pd.date_range(start.floor("h"), end, freq="h")
    offset = np.asarray((edges - start) / _HOUR, dtype=float)  # hours from the start
    total = float((end - start) / _HOUR)
    overlap = np.clip(np.minimum(offset + 1, total) - np.maximum(offset, 0.0), 0.0, None)
    kind = np.asarray(edges.day_of_week * 24 + edges.hour, dtype=np.int64)
    return np.bincount(kind, weights=overlap, minlength=HOURS_PER_WEEK).astype(float)


def _daily_totals(times: pd.DatetimeIndex, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Arrivals on each complete UTC day inside the window, with its day of week."""
    first = start.ceil("D")
    days = pd.date_range(first, end.floor("D") - pd.Timedelta(days=1), freq="D")
    counts = pd.Series(times.floor("D")).value_counts()
    totals = np.array([counts.get(d, 0) for d in days], dtype=float)
    return pd.DataFrame({"total": totals, "dow": days.day_of_week})


def _dispersion(daily: pd.DataFrame) -> float:
    """Residual variance of daily totals around their day-of-week means / the mean total."""
    groups = daily["dow"].nunique()
    dof = len(daily) - groups
    mean = float(daily["total"].mean()) if len(daily) else 0.0
    if dof < 1 or mean <= 0:
        return math.nan
    resid = daily["total"] - daily.groupby("dow")["total"].transform("mean")
    return float((resid**2).sum() / dof / mean)


class DischargeHours:
    """When in the day patients leave: shares by hour of day and a window holding most of them.

    Learned: ``shares_`` (24 shares of discharges by UTC hour of day, summing to 1),
    ``window_`` (``("HH:MM", "HH:MM")``: from the ``(1 - coverage) / 2`` quantile of the
    discharges' clock times to the ``(1 + coverage) / 2`` one, the day being cut at its
    quietest hour so that a window may run across midnight), ``coverage_`` (the share inside),
    ``n_``.
    """

    def __init__(self, coverage: float = 0.90) -> None:
        self.coverage = coverage

    def fit(self, discharge_times: Any) -> DischargeHours:
        """Estimate from aware discharge instants. Returns ``self``."""
        if not 0 < self.coverage <= 1:
            raise ValueError("coverage must be in (0, 1]")
        times = utc_index(discharge_times)
        if not len(times):
            raise ValueError("no discharges to fit")
        counts = np.bincount(np.asarray(times.hour), minlength=24).astype(float)
        self.shares_ = counts / counts.sum()
        minutes = np.asarray(times.hour * 60 + times.minute, dtype=np.int64)
        cut = _quietest_minute(counts)
        shifted = np.sort((minutes - cut) % 1440)  # the day starts at its quietest hour
        tail = (1 - self.coverage) / 2
        first = int(np.floor(np.quantile(shifted, tail))) + cut
        last = int(np.ceil(np.quantile(shifted, 1 - tail))) + cut
        inside = ((minutes - first) % 1440) <= (last - first)
        n = len(minutes)
        self.window_ = (_clock(first), _clock(last))
        self.coverage_ = float(inside.mean())
        self.n_ = n
        return self

    def to_dict(self) -> dict[str, Any]:
        """Configuration and fit as plain JSON types."""
        return {
            "coverage": self.coverage,
            "shares": [float(x) for x in self.shares_],
            "window": list(self.window_),
            "achieved": self.coverage_,
            "n": self.n_,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DischargeHours:
        """The fitted estimator back from :meth:`to_dict`."""
        est = cls(d["coverage"])
        est.shares_ = np.asarray(d["shares"], dtype=float)
        est.window_ = (str(d["window"][0]), str(d["window"][1]))
        est.coverage_ = float(d["achieved"])
        est.n_ = int(d["n"])
        return est


def _quietest_minute(counts: np.ndarray) -> int:
    """Start (minute of day) of the middle hour of the longest run of least-busy hours."""
    low = counts == counts.min()
    best, best_len = int(np.argmin(counts)), 0
    for h in range(24):
        if low[h] and not low[(h - 1) % 24]:
            length = 1
            while length < 24 and low[(h + length) % 24]:
                length += 1
            if length > best_len:
                best, best_len = (h + length // 2) % 24, length
    return best * 60


def _clock(minute: int) -> str:
    m = minute % 1440 if minute != 1440 else 1440
    return "24:00" if m == 1440 else f"{m // 60:02d}:{m % 60:02d}"


def hour_of_week_label(k: int) -> str:
    """``Mon 00:00`` for hour of week ``k``."""
    day = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[k // 24]
    return f"{day} {k % 24:02d}:00"
