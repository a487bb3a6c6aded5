"""A synthetic social-services department that writes case events: emulated reality to test the
casework twin against. Its generative structure is deliberately *not* the twin's model:

- referrals per day are Poisson with a weekday pattern (few at weekends), a winter peak, a
  September surge (schools return) and a Christmas dip, by district and client group;
- triage happens in office hours on the next working day (urgent ones the same day when
  referred before 14:00); the priority depends on the client group;
- each worker holds at most ``caseload`` cases and allocates on working days at 09:30 from the
  team's queue (urgent first, then oldest);
- an assessment is *work*: a gamma-distributed number of the worker's working days (weekends,
  sickness and leave do not count), longer in complex districts;
- a pass may end in a request for information (more often in complex districts); the reply
  comes after a lognormal number of calendar days and needs a shorter re-assessment;
- decisions are batched: a panel meets on Tuesdays and Thursdays at 14:00 (urgent cases are
  decided the next working day at 16:00); cases close 1-5 working days after the decision;
- workers are absent on 4% of working days and take whole weeks of leave (more in August).

Events of the 120 days before ``start`` are simulated but not written: the history begins
with cases in progress, as a real extract does. Defects: dropped, duplicated and malformed rows,
and rows written out of order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

__all__ = ["CaseDefects", "CaseworkEmulation", "DepartmentParams", "emulate_casework"]

_BURN_IN = 120


@dataclass(frozen=True)
class DepartmentParams:
    """The emulated department (rates per working day, durations in days)."""

    #: district -> referrals per working day (weekends: ``weekend_factor`` of it).
    referrals: dict[str, float] = field(
        default_factory=lambda: {"north": 2.4, "south": 1.8, "east": 2.0, "west": 1.3}
    )
    weekend_factor: float = 0.15
    #: district -> effort multiplier (complexity) and rework probability per pass.
    complexity: dict[str, float] = field(
        default_factory=lambda: {"north": 1.0, "south": 1.1, "east": 0.9, "west": 1.2}
    )
    rework: dict[str, float] = field(
        default_factory=lambda: {"north": 0.22, "south": 0.25, "east": 0.18, "west": 0.3}
    )
    #: client group -> share of referrals, and its share of urgent triage outcomes.
    groups: dict[str, float] = field(
        default_factory=lambda: {"children": 0.45, "adults": 0.35, "older": 0.20}
    )
    urgent: dict[str, float] = field(
        default_factory=lambda: {"children": 0.30, "adults": 0.12, "older": 0.22}
    )
    #: team -> (workers, districts)
    teams: dict[str, tuple[int, tuple[str, ...]]] = field(
        default_factory=lambda: {"alpha": (7, ("north", "east")), "beta": (6, ("south", "west"))}
    )
    caseload: int = 12
    #: mean working days of a first assessment (standard; urgent x0.6) and a re-assessment.
    effort: float = 6.0
    reassess_effort: float = 3.0
    info_wait_mean: float = 9.0
    info_wait_sd: float = 7.0
    sickness: float = 0.04


@dataclass(frozen=True)
class CaseDefects:
    """Rates per event of data defects."""

    missing: float = 0.004
    duplicate: float = 0.01
    malformed: float = 0.003
    late: float = 0.01

    @classmethod
    def none(cls) -> CaseDefects:
        """No defects."""
        return cls(0.0, 0.0, 0.0, 0.0)


@dataclass
class CaseworkEmulation:
    """The rows to write (with defects), the true events (without) and the ground truth."""

    rows: list[dict[str, Any]]
    events: list[dict[str, Any]]
    params: DepartmentParams
    defects: dict[str, int]


@dataclass
class _Case:
    id: str
    district: str
    group: str
    team: str
    referred: float
    priority: str = ""
    triaged: float = math.nan
    effort: float = 0.0
    worker: int = -1
    ready: float = math.nan  # assessment pass finished (waiting for the panel)
    info_back: float = math.nan
    state: str = "referred"


def _season(day: date) -> float:
    doy = day.timetuple().tm_yday
    f = 1.0 + 0.15 * math.cos(2 * math.pi * (doy - 20) / 365.0)
    if 245 <= doy <= 275:
        f *= 1.3
    if (day.month == 12 and day.day >= 22) or (day.month == 1 and day.day <= 2):
        f *= 0.4
    return f


def emulate_casework(
    days: int,
    seed: int,
    *,
    start: date = date(2026, 1, 5),
    params: DepartmentParams | None = None,
    defects: CaseDefects | None = None,
) -> CaseworkEmulation:
    """``days`` of case events from ``start`` (UTC) of the department ``params``."""
    p = params or DepartmentParams()
    rng = np.random.default_rng(seed)
    team_of = {d: t for t, (_, ds) in p.teams.items() for d in ds}
    first = start - timedelta(days=_BURN_IN)
    t0 = datetime(first.year, first.month, first.day, tzinfo=UTC)
    events: list[dict[str, Any]] = []
    open_cases: list[_Case] = []
    queue: dict[str, list[_Case]] = {t: [] for t in p.teams}
    held: dict[str, list[list[_Case]]] = {
        t: [[] for _ in range(n)] for t, (n, _) in p.teams.items()
    }
    leave: dict[str, np.ndarray] = {t: np.zeros(n, bool) for t, (n, _) in p.teams.items()}
    number = 0

    def emit(case: _Case, kind: str, at: float) -> None:
        events.append({"case": case, "type": kind, "t": at})

    def working(day: date) -> bool:
        return day.weekday() < 5 and _season(day) > 0.5  # Christmas week: office closed

    groups, gshare = list(p.groups), np.array(list(p.groups.values()))
    for k in range(_BURN_IN + days):
        day = first + timedelta(days=k)
        base = float(k)
        work = working(day)
        # referrals
        for d, rate in p.referrals.items():
            lam = rate * _season(day) * (1.0 if day.weekday() < 5 else p.weekend_factor)
            for _ in range(rng.poisson(lam)):
                number += 1
                g = groups[int(rng.choice(len(groups), p=gshare / gshare.sum()))]
                hour = rng.uniform(8, 18) if day.weekday() < 5 else rng.uniform(0, 24)
                c = _Case(f"C{number:06d}", d, g, team_of[d], base + hour / 24)
                emit(c, "referral", c.referred)
                open_cases.append(c)
        if day.weekday() == 0:  # weekly leave draw
            aug = day.month == 8
            for t in leave:
                leave[t] = rng.random(len(leave[t])) < (0.25 if aug else 0.08)
        if not work:
            continue
        # triage: everything referred before today 09:00, urgent the same day if before 14:00
        for c in open_cases:
            if c.state != "referred":
                continue
            at = base + rng.uniform(9, 17) / 24
            if c.referred < base + 14 / 24:
                at = max(at, c.referred + 0.02)
                c.priority = "urgent" if rng.random() < p.urgent[c.group] else "standard"
                c.triaged, c.state = at, "queued"
                emit(c, "triage", at)
                queue[c.team].append(c)
        present = {t: ~leave[t] & (rng.random(len(leave[t])) >= p.sickness) for t in p.teams}
        # allocation at 09:30 by each present worker with room
        for t, q in queue.items():
            q.sort(key=lambda c: (c.priority != "urgent", c.triaged))
            for w in np.flatnonzero(present[t]).tolist():
                while q and len(held[t][w]) < p.caseload and q[0].triaged < base + 9.5 / 24:
                    c = q.pop(0)
                    mult = p.complexity[c.district] * (0.6 if c.priority == "urgent" else 1.0)
                    c.effort = float(rng.gamma(2.0, p.effort * mult / 2.0))
                    c.worker, c.state = int(w), "assessing"
                    held[t][w].append(c)
                    emit(c, "assessment_start", base + rng.uniform(9.5, 12) / 24)
        # work on cases, information coming back, the decision panel, closures
        panel = day.weekday() in (1, 3)
        for t, workers in held.items():
            for w, cases in enumerate(workers):
                for c in list(cases):
                    if c.state == "info" and c.info_back < base + 1:
                        c.state = "assessing"
                        c.effort = float(
                            rng.gamma(2.0, p.reassess_effort * p.complexity[c.district] / 2)
                        )
                        emit(c, "info_received", c.info_back)
                        continue
                    if c.state == "assessing" and present[t][w]:
                        c.effort -= 1.0
                        if c.effort <= 0:
                            at = base + rng.uniform(10, 17) / 24
                            if rng.random() < p.rework[c.district]:
                                c.state = "info"
                                c.info_back = at + _lognormal(rng, p.info_wait_mean, p.info_wait_sd)
                                emit(c, "info_requested", at)
                            else:
                                c.state, c.ready = "ready", at
                    elif c.state == "ready" and (panel or c.priority == "urgent"):
                        at = base + (14 if panel else 16) / 24
                        if at > c.ready:
                            emit(c, "decision", at)
                            c.state, c.ready = "decided", at + int(rng.integers(1, 6))
                    elif c.state == "decided" and base >= c.ready and present[t][w]:
                        emit(c, "closed", base + rng.uniform(9, 17) / 24)
                        c.state = "closed"
                        cases.remove(c)
        open_cases = [c for c in open_cases if c.state == "referred"]
    cut = float(_BURN_IN)
    truth = [
        _row(e, t0, i) for i, e in enumerate(sorted(events, key=lambda e: e["t"])) if e["t"] >= cut
    ]
    rows, counts = _defects(truth, defects or CaseDefects(), rng)
    return CaseworkEmulation(rows, truth, p, counts)


def _lognormal(rng: np.random.Generator, mean: float, sd: float) -> float:
    s2 = math.log(1 + (sd / mean) ** 2)
    return float(rng.lognormal(math.log(mean) - s2 / 2, math.sqrt(s2)))


def _row(e: dict[str, Any], t0: datetime, i: int) -> dict[str, Any]:
    c: _Case = e["case"]
    at = t0 + timedelta(days=float(e["t"]))
    at = at.replace(microsecond=0)
    kind = e["type"]
    return {
        "event_id": f"E{i:07d}",
        "case_id": c.id,
        "type": kind,
        "time": at.isoformat().replace("+00:00", "Z"),
        "team": c.team if kind not in ("referral", "triage") else "",
        "district": c.district,
        "group": c.group,
        "priority": c.priority if kind != "referral" else "",
    }


def _defects(
    rows: list[dict[str, Any]], d: CaseDefects, rng: np.random.Generator
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    out: list[dict[str, Any]] = []
    counts = {"missing": 0, "duplicate": 0, "malformed": 0, "late": 0}
    late: list[tuple[int, dict[str, Any]]] = []
    for r in rows:
        u = rng.random(4)
        if u[0] < d.missing:
            counts["missing"] += 1
            continue
        r = dict(r)
        if u[1] < d.malformed:
            counts["malformed"] += 1
            field, garbled = rng.random() < 0.5, rng.random() < 0.5
            if field:  # a time a person typed, or a misspelt event type
                r["time"] = "31/02/2026 25:00" if garbled else str(r["time"])[:10]
            else:
                r["type"] = "assesment_start" if garbled else str(r["type"]).upper() + "?"
        if u[2] < d.late:
            counts["late"] += 1
            late.append((len(out) + int(rng.integers(5, 200)), r))
            continue
        out.append(r)
        if u[3] < d.duplicate:
            counts["duplicate"] += 1
            out.append(dict(r))
    for at, r in sorted(late, key=lambda x: x[0], reverse=True):
        out.insert(min(at, len(out)), r)
    return out, counts
