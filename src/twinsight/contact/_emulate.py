"""A synthetic contact centre with its own generative structure (not the twin's model run
forwards), written as interaction records with data defects.

What it assumes, and how it differs from the twin's model:

- **Arrivals**: per skill, a non-homogeneous Poisson process whose rate is a smooth intraday
  double peak (Gaussian bumps at 10:30 and 14:30 on a floor) times a weekday factor (a Monday
  surge, a quieter Friday, a short Saturday, closed on Sunday) times a **day-level gamma
  multiplier** (over-dispersion: some days are busier than others). The twin assumes a rate that
  is constant within each interval and the same every week.
- **Agents**: individuals on daily shifts (early, middle, late) per skill; each has a personal
  speed factor; a roster sized by a square-root rule with a random absence. The twin models a
  headcount per interval.
- **Handle time**: lognormal per skill times the agent's speed factor (a mixture across agents).
- **Patience**: heterogeneous: each caller is patient (lognormal, median 4 min) or impatient
  (exponential, mean 45 s), with a share depending on the skill. The twin fits one family.
- **Queue**: first come first served per skill; an agent who finishes after the shift ends goes
  home; a caller whose patience runs out before an agent is free hangs up.
- **Satisfaction** (1-5, 35% surveyed): a latent score that falls with the wait (log-shaped)
  and with very long handles, rises when resolved, plus logistic noise, cut at thresholds.
- **Defects**: duplicate rows, malformed rows (bad time, negative wait, unknown answered flag),
  a blank queue.

Times are UTC; durations in seconds.
"""

from __future__ import annotations

import bisect
import heapq
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

__all__ = ["SKILLS", "ContactEmulation", "emulate_contact_centre"]

#: Skill -> (share of calls, mean handle seconds, handle CV, share of impatient callers).
SKILLS: dict[str, tuple[float, float, float, float]] = {
    "billing": (0.45, 300.0, 0.6, 0.25),
    "technical": (0.35, 480.0, 0.8, 0.15),
    "sales": (0.20, 240.0, 0.5, 0.35),
}
#: Opening hours per weekday (Monday first): (open hour, close hour), None when closed.
HOURS: tuple[tuple[float, float] | None, ...] = (
    (8.0, 20.0),
    (8.0, 20.0),
    (8.0, 20.0),
    (8.0, 20.0),
    (8.0, 20.0),
    (9.0, 17.0),
    None,
)
DAY_FACTOR = (1.30, 1.05, 1.0, 1.0, 0.9, 0.55, 0.0)
_SHIFTS = ((8.0, 16.0), (10.0, 18.0), (12.0, 20.0))
_CUTS = (2.0, 2.8, 3.6, 4.4)


@dataclass
class ContactEmulation:
    """The records written (``rows``: dicts of text values, with defects) and the truth."""

    rows: list[dict[str, str]]
    truth: list[dict[str, Any]]
    defects: dict[str, int] = field(default_factory=dict)


def _intraday(hour: float) -> float:
    """Relative arrival intensity at ``hour`` of the day (double peak on a floor)."""
    return (
        0.25
        + math.exp(-0.5 * ((hour - 10.5) / 1.3) ** 2)
        + 0.8 * math.exp(-0.5 * ((hour - 14.5) / 1.6) ** 2)
    )


def _arrivals(rng: np.random.Generator, day: int, calls_per_day: float) -> list[float]:
    """Arrival hours of one day (from midnight) of all skills, by thinning."""
    hours = HOURS[day % 7]
    if hours is None:
        return []
    lo, hi = hours
    grid = np.linspace(lo, hi, 200)
    norm = float(np.mean([_intraday(h) for h in grid]) * (hi - lo))
    level = calls_per_day * DAY_FACTOR[day % 7] * rng.gamma(25.0, 1.0 / 25.0) / norm
    peak = level * 2.3
    out: list[float] = []
    t = lo
    while True:
        t += rng.exponential(1.0 / peak)
        if t >= hi:
            return out
        if rng.random() * peak < level * _intraday(t):
            out.append(t)


def _roster(rng: np.random.Generator, skill: str, calls_per_day: float) -> list[tuple[int, float]]:
    """Agents of a skill: (shift index, speed factor), sized by a square-root rule on the
    busiest hour's load with a random absence."""
    share, mean, _, _ = SKILLS[skill]
    peak_rate = calls_per_day * share * 1.3 * 2.05 / 12.0 / 3600.0  # calls per second
    load = peak_rate * mean
    need = 0.8 * load + 0.4 * math.sqrt(load)
    per_shift = max(1, round(need / 2.0))
    agents = []
    for s in range(len(_SHIFTS)):
        count = max(1, per_shift + (1 if s == 0 else 0) - int(rng.binomial(per_shift, 0.08)))
        agents += [(s, float(rng.lognormal(0.0, 0.15))) for _ in range(count)]
    return agents


def _on_shift(t: float, shift: tuple[float, float], day_start: float) -> float:
    """The first instant >= t (seconds from the day's midnight) the agent is on shift."""
    lo, hi = day_start + shift[0] * 3600, day_start + shift[1] * 3600
    return max(t, lo) if t < hi else math.inf


def _day_queue(
    rng: np.random.Generator, skill: str, times: list[float], agents: list[tuple[int, float]]
) -> list[dict[str, Any]]:
    """FCFS multi-agent queue with abandonment for one skill and one day (seconds)."""
    _, mean, cv, impatient = SKILLS[skill]
    sigma = math.sqrt(math.log(1 + cv * cv))
    mu = math.log(mean) - sigma * sigma / 2
    heap = [(_on_shift(0.0, _SHIFTS[s], 0.0), i) for i, (s, _) in enumerate(agents)]
    heapq.heapify(heap)
    out = []
    for arrival in times:
        if rng.random() < impatient:
            patience = rng.exponential(45.0)
        else:
            patience = rng.lognormal(math.log(240.0), 0.7)
        free, i = heap[0]
        start = max(arrival, free)
        if start - arrival > patience or not math.isfinite(start):
            out.append({"arrival": arrival, "wait": float(patience), "answered": False})
            continue
        heapq.heappop(heap)
        handle = rng.lognormal(mu, sigma) * agents[i][1]
        end = start + handle
        heapq.heappush(heap, (_on_shift(end, _SHIFTS[agents[i][0]], 0.0), i))
        out.append(
            {"arrival": arrival, "wait": start - arrival, "answered": True, "handle": handle}
        )
    return out


def _satisfaction(rng: np.random.Generator, wait: float, handle: float, resolved: bool) -> int:
    latent = 3.9 - 0.45 * math.log1p(wait / 30.0) - 0.4 * max(0.0, handle / 600.0 - 1.0)
    latent += 0.8 * resolved + rng.logistic(0.0, 0.6)
    return 1 + bisect.bisect(_CUTS, latent)


def emulate_contact_centre(
    days: int,
    seed: int,
    *,
    start: date = date(2026, 1, 5),
    calls_per_day: float = 2400.0,
    defects: bool = True,
) -> ContactEmulation:
    """``days`` of interaction records from ``start`` (a Monday by default), ``calls_per_day``
    on an ordinary weekday (Wednesday) across all skills; same arguments, same records."""
    if days < 1:
        raise ValueError("days must be at least 1")
    rng = np.random.default_rng(seed)
    truth: list[dict[str, Any]] = []
    rosters = {s: _roster(rng, s, calls_per_day) for s in SKILLS}
    names = list(SKILLS)
    shares = np.array([SKILLS[s][0] for s in names])
    for d in range(days):
        day = start + timedelta(days=d)
        times = _arrivals(rng, day.weekday(), calls_per_day)
        which = rng.choice(len(names), size=len(times), p=shares)
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        for k, skill in enumerate(names):
            mine = sorted(float(h) * 3600.0 for h, w in zip(times, which, strict=True) if w == k)
            for rec in _day_queue(rng, skill, mine, rosters[skill]):
                resolved = bool(rng.random() < 0.82)
                answered = rec["answered"]
                truth.append(
                    {
                        "interaction_id": f"I{len(truth) + 1:08d}",
                        "arrived_at": midnight + timedelta(seconds=round(rec["arrival"])),
                        "queue": skill,
                        "wait": round(rec["wait"], 1),
                        "answered": answered,
                        "handle": round(rec["handle"], 1) if answered else None,
                        "outcome": ("resolved" if resolved else "transferred")
                        if answered
                        else "abandoned",
                        "satisfaction": _satisfaction(rng, rec["wait"], rec["handle"], resolved)
                        if answered and rng.random() < 0.35
                        else None,
                        "customer_id": f"C{int(rng.integers(1, 400_000)):06d}",
                    }
                )
    truth.sort(key=lambda r: r["arrived_at"])
    return _with_defects(rng, truth, defects)


def _text(rec: dict[str, Any]) -> dict[str, str]:
    def s(x: Any) -> str:
        return "" if x is None else str(x)

    return {
        "interaction_id": rec["interaction_id"],
        "arrived_at": rec["arrived_at"].isoformat().replace("+00:00", "Z"),
        "queue": rec["queue"],
        "wait_seconds": s(rec["wait"]),
        "answered": "true" if rec["answered"] else "false",
        "handle_seconds": s(rec["handle"]),
        "outcome": rec["outcome"],
        "satisfaction": s(rec["satisfaction"]),
        "customer_id": rec["customer_id"],
    }


def _with_defects(
    rng: np.random.Generator, truth: list[dict[str, Any]], defects: bool
) -> ContactEmulation:
    rows: list[dict[str, str]] = []
    counts = {"duplicate": 0, "malformed": 0}
    for rec in truth:
        row = _text(rec)
        if defects and rng.random() < 0.003:
            kind = int(rng.integers(0, 4))
            bad = dict(row)
            if kind == 0:
                bad["arrived_at"] = "yesterday"
            elif kind == 1:
                bad["wait_seconds"] = "-" + row["wait_seconds"]
            elif kind == 2:
                bad["answered"] = "maybe"
            else:
                bad["queue"] = ""
            rows.append(bad)
            counts["malformed"] += 1
            continue
        rows.append(row)
        if defects and rng.random() < 0.01:
            rows.append(dict(row))
            counts["duplicate"] += 1
    return ContactEmulation(rows, truth, counts)
