"""Calibration of the casework model from case events (scikit-learn conventions).

``CaseworkCalibration(...).fit(events, until=None)`` learns, over the ``window_days`` before
``until`` (default: the latest event):

- referral rates per day of the week and district (referrals / number of such days; exact
  Poisson intervals) and each district's priority mix (from triage events);
- durations in days, each by censored maximum likelihood with the family chosen by AIC
  (``twinsight.calibrate.LengthOfStay``; a spell still going at ``until`` is right-censored):
  triage (referral to triage), an assessment pass by priority (start or information received
  to the next request or decision), the wait for information, and closure (decision to closed);
- the rework probability per priority: the share of ended passes that ended in a request for
  information (Wilson intervals);
- the teams: which districts each serves (the team of most of the district's allocations), its
  workers (given, else the 95th percentile of its open allocated cases per day / caseload,
  rounded up) and caseload per worker;
- what happened (for comparison with the model): decisions, mean time to decision and the
  share decided within the deadline, per district.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from ..calibrate import LengthOfStay, poisson_interval, wilson
from ._cases import by_segment, case_history
from ._model import CaseworkModel, Team, case_class
from ._uncertainty import referral_level_cv

__all__ = ["PRIORITY_ORDER", "CaseworkCalibration", "CaseworkCalibrationError"]

#: Known priority labels, most urgent first (others follow in alphabetical order).
PRIORITY_ORDER = ("immediate", "urgent", "high", "priority", "standard", "normal", "medium",
                  "routine", "low")  # fmt: skip
_FAMILIES = ("exponential", "gamma", "lognormal", "weibull")
_MINUTE = 1.0 / 1440.0
#: Days a triaged case waits for allocation before its team counts as full.
_FULL_DAYS = 3.0


class CaseworkCalibrationError(ValueError):
    """Too few events to calibrate; the message says what is missing."""


def _ordered(labels: Sequence[str], given: Sequence[str] | None) -> tuple[str, ...]:
    if given:
        return tuple(given) + tuple(sorted(set(labels) - set(given)))
    known = [p for p in PRIORITY_ORDER if p in labels]
    return tuple(known + sorted(set(labels) - set(known)))


def _availability(
    cases: pd.DataFrame, days: pd.DatetimeIndex, slots: int, until: datetime
) -> float:
    """The share of a team's caseload slots that were there to be used: on the days (at noon)
    when some of its cases had waited more than ``_FULL_DAYS`` (3: a weekend is not a
    shortage) for allocation after triage, its slots
    were all taken, so the open allocated cases then are the slots actually staffed (workers
    on leave or sick allocate nothing). Their median over those days (robust to a closure)
    over ``slots``, at most 1; 1 with fewer than 7 such days (no evidence of a shortfall)."""
    cut = pd.Timestamp(until)
    gone = (cases["last"] + pd.Timedelta(days=90)).where(lambda x: x < cut, cut)
    end = cases["closed"].fillna(gone)
    alloc, triage = cases["allocated"], cases["triage"]
    full = []
    for d in days + pd.Timedelta(hours=12):
        waiting = int(((triage <= d - pd.Timedelta(days=_FULL_DAYS)) & ~(alloc <= d)).sum())
        if waiting >= 1:
            full.append(int(((alloc <= d) & (end > d)).sum()))
    if len(full) < 7 or slots < 1:
        return 1.0
    return float(min(1.0, np.median(full) / slots))


def _fit(days: np.ndarray, censored: np.ndarray) -> LengthOfStay:
    return LengthOfStay(_FAMILIES, resolution_hours=_MINUTE).fit(days, censored)


class CaseworkCalibration:
    """Learn the casework model from case events (see the module docstring).

    Config: ``window_days`` (days of history used), ``deadline_days`` (statutory time from
    referral to decision), ``caseload`` (open cases per worker), ``workers`` (team -> workers;
    teams not named are estimated), ``priorities`` (labels, most urgent first; default: known
    labels in :data:`PRIORITY_ORDER`), ``level`` (of the intervals), ``min_class_passes``
    (ended passes a district and priority needs for its own assessment time and rework share),
    ``recent_days`` (the referrals of these last days set the level of a forecast),
    ``segment`` (``district``, or ``group`` where teams serve client groups: the model's
    "districts" are then the client groups).

    Learned: ``until_``, ``referrals_`` (district -> 7 rates per day, Monday first),
    ``referral_intervals_``, ``recent_factor_`` (district -> referrals in the last
    ``recent_days`` over those the weekly rates expect), ``recent_count_`` (those referrals),
    ``level_cv_`` (how much the referral level moves from one ``recent_days`` to the next,
    beyond Poisson noise; ``_uncertainty.referral_level_cv``), ``availability_`` (team -> share
    of its slots staffed when it was full), ``priority_mix_``, ``priorities_``,
    ``triage_``, ``assessment_`` (priority -> LengthOfStay), ``assessment_by_class_`` and
    ``rework_by_class_`` (per ``<district>_<priority>`` with enough passes), ``info_wait_``,
    ``closure_``, ``rework_`` (priority -> (p, low, high, n)), ``teams_`` (team -> Team),
    ``workers_estimated_`` (team names), ``observed_`` (what happened, by district), ``n_cases_``.
    """

    def __init__(
        self,
        window_days: float = 182.0,
        deadline_days: float = 28.0,
        caseload: int = 12,
        workers: Mapping[str, int] | None = None,
        priorities: Sequence[str] | None = None,
        level: float = 0.95,
        min_class_passes: int = 40,
        recent_days: float = 28.0,
        segment: str = "district",
    ) -> None:
        self.window_days = window_days
        self.deadline_days = deadline_days
        self.caseload = caseload
        self.workers = workers
        self.priorities = priorities
        self.level = level
        self.min_class_passes = min_class_passes
        self.recent_days = recent_days
        self.segment = segment

    def fit(self, events: pd.DataFrame, until: datetime | None = None) -> CaseworkCalibration:
        """Learn from ``events`` (``load_case_events``'s frame); returns ``self``."""
        if events.empty:
            raise CaseworkCalibrationError("there are no case events: ingest some first")
        until = until or events["time"].max().to_pydatetime()
        start = until - timedelta(days=self.window_days)
        events = by_segment(events, self.segment)
        hist = case_history(events, until)
        cases, spells = hist.cases, hist.spells
        window = spells[spells["start"] >= pd.Timestamp(start)]
        self.until_ = until
        self._fit_referrals(cases, start, until)
        self.priorities_ = _ordered(
            sorted(cases["priority"].dropna().astype(str).unique()), self.priorities
        )
        if not self.priorities_:
            raise CaseworkCalibrationError("no triage event gives a priority: nothing to model")
        self._fit_mix(cases, start)
        self._fit_durations(window)
        self._fit_teams(cases, until)
        self._observe(cases, start, until)
        self.n_cases_ = len(cases)
        return self

    def _fit_referrals(self, cases: pd.DataFrame, start: datetime, until: datetime) -> None:
        ref = cases.dropna(subset=["referral", "district"])
        ref = ref[ref["referral"] >= pd.Timestamp(start)]
        if len(ref) < 10:
            raise CaseworkCalibrationError(
                f"only {len(ref)} referrals in the {self.window_days:g} days before "
                f"{until:%Y-%m-%d}: ingest a longer history or widen --window-days"
            )
        days = pd.date_range(pd.Timestamp(start).normalize(), pd.Timestamp(until), freq="D")
        exposure = np.bincount(days.day_of_week, minlength=7).astype(float)
        self.referrals_: dict[str, list[float]] = {}
        self.referral_intervals_: dict[str, list[tuple[float, float]]] = {}
        for d, g in ref.groupby("district"):
            counts = np.bincount(g["referral"].dt.day_of_week, minlength=7).astype(float)
            rates = counts / np.maximum(exposure, 1.0)
            lo, hi = poisson_interval(counts, np.maximum(exposure, 1.0), self.level)
            self.referrals_[str(d)] = [float(x) for x in rates]
            self.referral_intervals_[str(d)] = [
                (float(a), float(b)) for a, b in zip(lo, hi, strict=True)
            ]
        # the level of the last recent_days against the window's weekday pattern
        recent = pd.Timestamp(until) - pd.Timedelta(days=self.recent_days)
        tail = pd.date_range(recent.normalize(), pd.Timestamp(until), freq="D")
        self.recent_factor_: dict[str, float] = {}
        self.recent_count_: dict[str, int] = {}
        for d, rates in self.referrals_.items():
            expected = float(sum(rates[w] for w in tail.day_of_week))
            seen = int(((ref["district"] == d) & (ref["referral"] > recent)).sum())
            self.recent_factor_[d] = seen / expected if expected > 0 else 1.0
            self.recent_count_[d] = seen
        # how far the level moves from one such period to the next (for the forecast's bands)
        self.level_cv_ = referral_level_cv(
            ref["referral"], self.referrals_, pd.Timestamp(start), pd.Timestamp(until),
            self.recent_days,
        )  # fmt: skip

    def _fit_mix(self, cases: pd.DataFrame, start: datetime) -> None:
        tri = cases.dropna(subset=["triage", "priority", "district"])
        tri = tri[tri["triage"] >= pd.Timestamp(start)]
        overall = tri["priority"].value_counts(normalize=True)
        self.priority_mix_: dict[str, dict[str, float]] = {}
        for d in self.referrals_:
            g = tri[tri["district"] == d]["priority"].value_counts(normalize=True)
            share = g if len(g) else overall
            self.priority_mix_[d] = {p: float(share.get(p, 0.0)) for p in self.priorities_}
            if sum(self.priority_mix_[d].values()) <= 0:
                self.priority_mix_[d] = {self.priorities_[-1]: 1.0}

    def _fit_durations(self, window: pd.DataFrame) -> None:
        def spells(kind: str) -> pd.DataFrame:
            return window[window["kind"] == kind]

        def fit(frame: pd.DataFrame, what: str) -> LengthOfStay:
            try:
                return _fit(frame["days"].to_numpy(float), frame["censored"].to_numpy(bool))
            except ValueError as exc:
                raise CaseworkCalibrationError(f"{what}: {exc}") from None

        self.triage_ = fit(spells("triage"), "triage times")
        passes = spells("assessment")
        self.assessment_: dict[str, LengthOfStay] = {}
        self.rework_: dict[str, tuple[float, float, float, int]] = {}
        for p in self.priorities_:
            mine = passes[passes["priority"] == p]
            ended = mine[~mine["censored"]]
            use = mine if (~mine["censored"]).sum() >= 20 else passes
            self.assessment_[p] = fit(use, f"assessment passes ({p})")
            base = ended if len(ended) >= 20 else passes[~passes["censored"]]
            k, n = int(base["rework"].sum()), len(base)
            lo, hi = wilson(k, n, self.level)
            self.rework_[p] = (k / n if n else 0.0, lo, hi, n)
        # districts differ in complexity: their own fit where there are enough passes
        self.assessment_by_class_: dict[str, LengthOfStay] = {}
        self.rework_by_class_: dict[str, tuple[float, float, float, int]] = {}
        for key, mine in passes.groupby(["district", "priority"]):
            ended = mine[~mine["censored"]]
            if len(ended) < self.min_class_passes:
                continue
            district, prio = (str(x) for x in key)
            cc = case_class(district, prio)
            self.assessment_by_class_[cc] = fit(mine, f"assessment passes ({district}, {prio})")
            k, n = int(ended["rework"].sum()), len(ended)
            lo, hi = wilson(k, n, self.level)
            self.rework_by_class_[cc] = (k / n, lo, hi, n)
        self.info_wait_ = fit(spells("info_wait"), "waits for information")
        self.closure_ = fit(spells("closure"), "closures")

    def _fit_teams(self, cases: pd.DataFrame, until: datetime) -> None:
        alloc = cases.dropna(subset=["allocated", "team", "district"])
        if alloc.empty:
            raise CaseworkCalibrationError("no assessment_start event names a team")
        serving = alloc.groupby("district")["team"].agg(lambda s: s.value_counts().index[0])
        teams: dict[str, list[str]] = {}
        for d in self.referrals_:
            t = str(serving.get(d, serving.iloc[0]))
            teams.setdefault(t, []).append(d)
        self.workers_estimated_: list[str] = []
        self.teams_: dict[str, Team] = {}
        self.availability_: dict[str, float] = {}
        given = dict(self.workers or {})
        days = pd.date_range(pd.Timestamp(until) - pd.Timedelta(days=self.window_days),
                             pd.Timestamp(until), freq="D")  # fmt: skip
        for t, districts in teams.items():
            if t in given:
                workers = int(given[t])
            else:
                mine = alloc[alloc["team"] == t]
                end = mine["closed"].fillna(pd.Timestamp(until))
                open_per_day = [
                    int(((mine["allocated"] <= d) & (end > d)).sum()) for d in days[::7]
                ]
                p95 = float(np.percentile(open_per_day, 95)) if open_per_day else 1.0
                workers = max(1, math.ceil(p95 / self.caseload))
                self.workers_estimated_.append(t)
            self.teams_[t] = Team(workers, self.caseload, tuple(districts))
            mine = cases[cases["district"].isin(districts)]
            self.availability_[t] = _availability(mine, days, workers * self.caseload, until)

    def _observe(self, cases: pd.DataFrame, start: datetime, until: datetime) -> None:
        dec = cases.dropna(subset=["referral", "decision"])
        dec = dec[dec["decision"] >= pd.Timestamp(start)]
        days = (dec["decision"] - dec["referral"]).dt.total_seconds() / 86400.0
        dec = dec.assign(days=days, within=days <= self.deadline_days)
        out: dict[str, dict[str, float]] = {}
        seg, other = ("district", "group") if self.segment == "district" else ("group", "district")
        for key, g in [("all", dec), *[(f"{seg}={d}", g) for d, g in dec.groupby("district")]]:
            out[str(key)] = {
                "decisions": len(g),
                "time_to_decision": float(g["days"].mean()) if len(g) else math.nan,
                "within_deadline": float(g["within"].mean()) if len(g) else math.nan,
            }
        for grp, g in dec.groupby("client_group"):
            out[f"{other}={grp}"] = {
                "decisions": len(g),
                "time_to_decision": float(g["days"].mean()),
                "within_deadline": float(g["within"].mean()),
            }
        open_now = cases[cases["state"] != "closed"]
        out["open"] = {"cases": len(open_now)}
        self.observed_ = out

    # -- use -----------------------------------------------------------------------------------

    def recent_level(self, district: str) -> tuple[float, float]:
        """The referral level of the last ``recent_days`` relative to the window's rates, and
        its relative standard error: the observed ratio ``f`` (``recent_factor_``; ``n``
        referrals, Poisson variance ``f^2 / n``) shrunk towards 1 by how much the level truly
        moves (``level_cv_^2``), the normal-normal posterior: weight
        ``w = cv^2 / (cv^2 + f^2 / n)``, mean ``1 + w (f - 1)``, variance ``w f^2 / n``. A
        month of 30 referrals says little against half a year of them."""
        f = float(self.recent_factor_.get(district, 1.0))
        n = int(getattr(self, "recent_count_", {}).get(district, 0))
        if n <= 0 or f <= 0:
            return f, 0.0
        tau2, v = float(getattr(self, "level_cv_", 0.0)) ** 2, f * f / n
        w = tau2 / (tau2 + v)
        mean = 1.0 + w * (f - 1.0)
        return mean, math.sqrt(w * v) / mean

    def model(
        self, workers: Mapping[str, int] | None = None, *, recent: bool = False
    ) -> CaseworkModel:
        """The calibrated :class:`CaseworkModel` (``workers`` overrides team sizes; ``recent``:
        for a forecast, referral rates at the level of the last ``recent_days``
        (:meth:`recent_level`) and the slots staffed when a team was full)."""
        teams = {
            t: Team(int((workers or {}).get(t, team.workers)), team.caseload, team.districts)
            for t, team in self.teams_.items()
        }
        if recent:  # the present's staffed slots: absences leave some of them unused
            teams = {
                t: Team(team.workers, team.caseload, team.districts,
                        self.availability_.get(t, 1.0))
                for t, team in teams.items()
            }  # fmt: skip
        return CaseworkModel(
            teams=teams,
            referrals={
                d: [r * (self.recent_level(d)[0] if recent else 1.0) for r in rates]
                for d, rates in self.referrals_.items()
            },
            priority_mix=self.priority_mix_,
            priorities=self.priorities_,
            triage=self.triage_.spec_,
            assessment={p: los.spec_ for p, los in self.assessment_.items()},
            info_wait=self.info_wait_.spec_,
            closure=self.closure_.spec_,
            rework={p: r[0] for p, r in self.rework_.items()},
            deadline_days=self.deadline_days,
            assessment_by_class={c: los.spec_ for c, los in self.assessment_by_class_.items()},
            rework_by_class={c: r[0] for c, r in self.rework_by_class_.items()},
            segment=self.segment,
        )

    def to_dict(self) -> dict[str, Any]:
        """Configuration and fit as JSON types (round trip with :meth:`from_dict`)."""
        return {
            "config": {
                "window_days": self.window_days,
                "deadline_days": self.deadline_days,
                "caseload": self.caseload,
                "workers": dict(self.workers or {}),
                "priorities": list(self.priorities or []),
                "level": self.level,
                "min_class_passes": self.min_class_passes,
                "recent_days": self.recent_days,
                "segment": self.segment,
            },
            "until": self.until_.isoformat(),
            "referrals": self.referrals_,
            "referral_intervals": self.referral_intervals_,
            "recent_factor": self.recent_factor_,
            "recent_count": self.recent_count_,
            "level_cv": self.level_cv_,
            "priority_mix": self.priority_mix_,
            "priorities": list(self.priorities_),
            "triage": self.triage_.to_dict(),
            "assessment": {p: los.to_dict() for p, los in self.assessment_.items()},
            "assessment_by_class": {c: x.to_dict() for c, x in self.assessment_by_class_.items()},
            "rework_by_class": {c: list(r) for c, r in self.rework_by_class_.items()},
            "info_wait": self.info_wait_.to_dict(),
            "closure": self.closure_.to_dict(),
            "rework": {p: list(r) for p, r in self.rework_.items()},
            "teams": {
                t: {"workers": x.workers, "caseload": x.caseload, "districts": list(x.districts)}
                for t, x in self.teams_.items()
            },
            "workers_estimated": self.workers_estimated_,
            "availability": self.availability_,
            "observed": self.observed_,
            "n_cases": self.n_cases_,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CaseworkCalibration:
        """The fitted calibration back from :meth:`to_dict`."""
        c = d["config"]
        cal = cls(c["window_days"], c["deadline_days"], c["caseload"], c["workers"] or None,
                  c["priorities"] or None, c["level"], c["min_class_passes"],
                  c.get("recent_days", 28.0), c.get("segment", "district"))  # fmt: skip
        cal.until_ = datetime.fromisoformat(d["until"])
        cal.referrals_ = {k: [float(x) for x in v] for k, v in d["referrals"].items()}
        cal.referral_intervals_ = {
            k: [(float(a), float(b)) for a, b in v] for k, v in d["referral_intervals"].items()
        }
        cal.recent_factor_ = {k: float(v) for k, v in d.get("recent_factor", {}).items()}
        cal.recent_count_ = {k: int(v) for k, v in d.get("recent_count", {}).items()}
        cal.level_cv_ = float(d.get("level_cv", 0.0))
        cal.priority_mix_ = d["priority_mix"]
        cal.priorities_ = tuple(d["priorities"])
        cal.triage_ = LengthOfStay.from_dict(d["triage"])
        cal.assessment_ = {p: LengthOfStay.from_dict(x) for p, x in d["assessment"].items()}
        cal.assessment_by_class_ = {
            k: LengthOfStay.from_dict(x) for k, x in d["assessment_by_class"].items()
        }
        cal.rework_by_class_ = {
            k: (float(r[0]), float(r[1]), float(r[2]), int(r[3]))
            for k, r in d["rework_by_class"].items()
        }
        cal.info_wait_ = LengthOfStay.from_dict(d["info_wait"])
        cal.closure_ = LengthOfStay.from_dict(d["closure"])
        cal.rework_ = {
            p: (float(r[0]), float(r[1]), float(r[2]), int(r[3])) for p, r in d["rework"].items()
        }
        cal.teams_ = {t: Team(int(x["workers"]), int(x["caseload"]), tuple(x["districts"]))
                      for t, x in d["teams"].items()}  # fmt: skip
        cal.workers_estimated_ = list(d["workers_estimated"])
        cal.availability_ = {k: float(v) for k, v in d.get("availability", {}).items()}
        cal.observed_ = d["observed"]
        cal.n_cases_ = int(d["n_cases"])
        return cal

    def report(self) -> str:
        """A plain-text report of the calibration."""
        lines = [
            f"casework calibration: {self.n_cases_} cases, {self.window_days:g} days to "
            f"{self.until_:%Y-%m-%d %H:%M} UTC; deadline {self.deadline_days:g} days"
        ]
        lines.append("referrals per day (Mon..Sun):")
        for d, r in self.referrals_.items():
            mix = ", ".join(f"{p} {100 * s:.0f}%" for p, s in self.priority_mix_[d].items())
            mix += f"; last {self.recent_days:g} days x{self.recent_factor_.get(d, 1.0):.2f}"
            lines.append(f"  {d:12} " + " ".join(f"{x:5.2f}" for x in r) + f"   ({mix})")
        lines.append(
            f"  the level moves by {100 * self.level_cv_:.1f}% (CV) from one "
            f"{self.recent_days:g}-day period to the next, beyond Poisson noise"
        )
        lines.append("durations (days; family by AIC, mean):")
        rows = [("triage", self.triage_)]
        rows += [(f"assessment ({p})", los) for p, los in self.assessment_.items()]
        rows += [(f"  {c}", los) for c, los in self.assessment_by_class_.items()]
        rows += [("info wait", self.info_wait_), ("closure", self.closure_)]
        for name, los in rows:
            lines.append(f"  {name:24} {los.family_:12} mean {los.mean_:6.2f}  "
                         f"(n {los.n_}, ended {los.n_events_})")  # fmt: skip
        lines.append("requests for information per assessment pass:")
        for p, (share, lo, hi, n) in self.rework_.items():
            lines.append(f"  {p:20} {100 * share:5.1f}%  [{100 * lo:.1f}-{100 * hi:.1f}]  (n {n})")
        for c, (share, lo, hi, n) in self.rework_by_class_.items():
            lines.append(
                f"    {c:18} {100 * share:5.1f}%  [{100 * lo:.1f}-{100 * hi:.1f}]  (n {n})"
            )
        lines.append("teams:")
        for t, team in self.teams_.items():
            est = " (estimated)" if t in self.workers_estimated_ else ""
            lines.append(f"  {t:12} {team.workers} workers{est} x caseload {team.caseload}: "
                         f"{', '.join(team.districts)}; slots staffed when full "
                         f"{100 * self.availability_.get(t, 1.0):.0f}%")  # fmt: skip
        obs = self.observed_.get("all", {})
        if obs.get("decisions"):
            lines.append(
                f"observed: {obs['decisions']} decisions, mean {obs['time_to_decision']:.1f} days "
                f"to decision, {100 * obs['within_deadline']:.1f}% within the deadline; "
                f"{self.observed_['open']['cases']} cases open"
            )
        return "\n".join(lines) + "\n"
