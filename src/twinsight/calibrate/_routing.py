"""Where patients go: acuity mix of ED arrivals, next unit after the ED (by acuity) and after
each inpatient unit, and elective admissions by weekday, from episodes (``episodes()``)."""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ..assimilate import ED
from ._intervals import poisson_interval, wilson

__all__ = ["EXIT", "WEEKDAYS", "Routing"]

EXIT = "exit"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

Interval = tuple[float, float]


def _shares(counts: dict[Any, int], level: float) -> tuple[dict[Any, float], dict[Any, Interval]]:
    n = sum(counts.values())
    shares = {k: (v / n if n else 0.0) for k, v in counts.items()}
    return shares, {k: wilson(v, n, level) for k, v in counts.items()}


def _sorted(counter: Counter[str]) -> dict[str, int]:
    """Exit first, then units by name."""
    return {k: counter[k] for k in sorted(counter, key=lambda u: (u != EXIT, u))}


class Routing:
    """Routing and admission probabilities, with Wilson intervals at ``level``.

    ``fit(frame, since, until)`` uses, from the episodes ``frame``: ED arrivals (an ED segment
    starting a stay) that start in ``[since, until]``; movements (a segment with a known
    ``next_unit``) that end in it; elective admissions (the first segment of a stay, admission
    ``elective``) on the complete UTC days inside it.

    Learned (counts ``n``, shares ``p`` and intervals ``(lo, hi)``):
    ``acuity_counts_`` / ``acuity_shares_`` / ``acuity_ci_`` (keys 1-5; arrivals without an
    acuity are counted in ``unknown_acuity_``), ``ed_next_counts_`` / ``ed_next_`` /
    ``ed_next_ci_`` (acuity -> next unit or ``"exit"``), ``unit_next_counts_`` /
    ``unit_next_`` / ``unit_next_ci_`` (inpatient unit -> next), ``elective_counts_`` (unit ->
    7 totals Mon..Sun), ``weekday_days_`` (complete days of each weekday in the window),
    ``electives_`` (unit -> 7 means per day), ``electives_ci_`` (exact Poisson intervals),
    ``elective_hour_`` (median hour of day of elective admissions, UTC, e.g. 8.5 = 08:30;
    None without electives).
    """

    def __init__(self, level: float = 0.95) -> None:
        self.level = level

    def fit(self, frame: pd.DataFrame, since: datetime, until: datetime) -> Routing:
        """Estimate from an episodes frame over ``[since, until]`` (aware). Returns ``self``."""
        lo, hi = pd.Timestamp(since), pd.Timestamp(until)
        first = frame["prev_unit"].isna() & (frame["unit"] == ED)
        arrivals = frame[first & (frame["start"] >= lo) & (frame["start"] <= hi)]
        acuity = arrivals["acuity"].dropna().astype(int)
        self.unknown_acuity_ = int(len(arrivals) - len(acuity))
        self.acuity_counts_ = {int(a): int(n) for a, n in sorted(Counter(acuity).items())}
        self.acuity_shares_, self.acuity_ci_ = _shares(self.acuity_counts_, self.level)

        moved = frame[frame["next_unit"].notna() & (frame["end"] >= lo) & (frame["end"] <= hi)]
        ed = moved[moved["unit"] == ED]
        self.ed_next_counts_ = {
            int(str(a)): _sorted(Counter(g["next_unit"]))
            for a, g in ed.dropna(subset=["acuity"]).groupby("acuity")
        }
        self.ed_next_, self.ed_next_ci_ = {}, {}
        for a, counts in self.ed_next_counts_.items():
            self.ed_next_[a], self.ed_next_ci_[a] = _shares(counts, self.level)
        ward = moved[moved["unit"] != ED]
        self.unit_next_counts_ = {
            str(u): _sorted(Counter(g["next_unit"])) for u, g in ward.groupby("unit")
        }
        self.unit_next_, self.unit_next_ci_ = {}, {}
        for u, counts in self.unit_next_counts_.items():
            self.unit_next_[u], self.unit_next_ci_[u] = _shares(counts, self.level)
        self._fit_electives(frame, lo, hi)
        return self

    def _fit_electives(self, frame: pd.DataFrame, lo: pd.Timestamp, hi: pd.Timestamp) -> None:
        days = pd.date_range(lo.ceil("D"), hi.floor("D") - pd.Timedelta(days=1), freq="D")
        self.weekday_days_ = [int((days.day_of_week == d).sum()) for d in range(7)]
        elective = frame[
            frame["prev_unit"].isna()
            & (frame["admission"] == "elective")
            & (frame["unit"] != ED)
            & (frame["start"] >= lo.ceil("D"))
            & (frame["start"] < hi.floor("D"))
        ]
        self.elective_counts_: dict[str, list[int]] = {}
        self.electives_: dict[str, list[float]] = {}
        self.electives_ci_: dict[str, list[Interval]] = {}
        exposure = np.asarray(self.weekday_days_, dtype=float)
        for unit, g in elective.groupby("unit"):
            counts = np.bincount(g["start"].dt.day_of_week, minlength=7).astype(float)
            with np.errstate(divide="ignore", invalid="ignore"):
                low, high = poisson_interval(counts, exposure, self.level)
                means = np.where(exposure > 0, counts / exposure, 0.0)
            self.elective_counts_[str(unit)] = [int(c) for c in counts]
            self.electives_[str(unit)] = [float(m) for m in means]
            self.electives_ci_[str(unit)] = [
                (_fin(a), _fin(b)) for a, b in zip(low, high, strict=True)
            ]
        hours = elective["start"].dt.hour + elective["start"].dt.minute / 60.0
        self.elective_hour_ = float(np.median(hours)) if len(hours) else None

    # -- JSON ----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Configuration and fit as plain JSON types (integer keys become strings)."""

        def nested(d: dict[Any, dict[str, Any]]) -> dict[str, Any]:
            return {str(k): {u: _json(v) for u, v in inner.items()} for k, inner in d.items()}

        return {
            "level": self.level,
            "unknown_acuity": self.unknown_acuity_,
            "acuity_counts": {str(k): v for k, v in self.acuity_counts_.items()},
            "acuity_shares": {str(k): v for k, v in self.acuity_shares_.items()},
            "acuity_ci": {str(k): list(v) for k, v in self.acuity_ci_.items()},
            "ed_next_counts": nested(self.ed_next_counts_),
            "ed_next": nested(self.ed_next_),
            "ed_next_ci": nested(self.ed_next_ci_),
            "unit_next_counts": nested(self.unit_next_counts_),
            "unit_next": nested(self.unit_next_),
            "unit_next_ci": nested(self.unit_next_ci_),
            "weekday_days": self.weekday_days_,
            "elective_counts": self.elective_counts_,
            "electives": self.electives_,
            "electives_ci": {u: [list(iv) for iv in v] for u, v in self.electives_ci_.items()},
            "elective_hour": self.elective_hour_,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Routing:
        """The fitted estimator back from :meth:`to_dict`."""
        r = cls(d["level"])
        r.unknown_acuity_ = int(d["unknown_acuity"])
        r.acuity_counts_ = {int(k): int(v) for k, v in d["acuity_counts"].items()}
        r.acuity_shares_ = {int(k): float(v) for k, v in d["acuity_shares"].items()}
        r.acuity_ci_ = {int(k): _pair(v) for k, v in d["acuity_ci"].items()}
        r.ed_next_counts_ = {int(k): dict(v) for k, v in d["ed_next_counts"].items()}
        r.ed_next_ = {int(k): dict(v) for k, v in d["ed_next"].items()}
        r.ed_next_ci_ = {
            int(k): {u: _pair(iv) for u, iv in v.items()} for k, v in d["ed_next_ci"].items()
        }
        r.unit_next_counts_ = {k: dict(v) for k, v in d["unit_next_counts"].items()}
        r.unit_next_ = {k: dict(v) for k, v in d["unit_next"].items()}
        r.unit_next_ci_ = {
            k: {u: _pair(iv) for u, iv in v.items()} for k, v in d["unit_next_ci"].items()
        }
        r.weekday_days_ = [int(x) for x in d["weekday_days"]]
        r.elective_counts_ = {k: [int(x) for x in v] for k, v in d["elective_counts"].items()}
        r.electives_ = {k: [float(x) for x in v] for k, v in d["electives"].items()}
        r.electives_ci_ = {k: [_pair(iv) for iv in v] for k, v in d["electives_ci"].items()}
        hour = d["elective_hour"]
        r.elective_hour_ = None if hour is None else float(hour)
        return r


def _fin(x: float) -> float:
    return float(x) if math.isfinite(x) else 0.0


def _json(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def _pair(v: Any) -> Interval:
    return (float(v[0]), float(v[1]))
