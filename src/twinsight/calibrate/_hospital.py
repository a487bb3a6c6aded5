"""The hospital twin's calibration: everything the forecast needs, learned from the stored events
over one window ``[until - window_days, until]``. Times are hours unless a name says otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from ..assimilate import ED
from ..store import AdtEventRow
from ._episodes import CalibrationError, episodes, latest_event
from ._los import LengthOfStay
from ._profiles import ArrivalRates, DischargeHours
from ._routing import EXIT, Routing

__all__ = ["FORMAT", "HospitalCalibration", "calibrate_hospital"]

#: Version of the calibration's JSON form.
FORMAT = 1
_MIN_ENDED = 3


@dataclass
class HospitalCalibration:
    """What the twin learned from its events (see docs/calibration.md).

    Units: LOS in hours, arrival rates in arrivals per hour, electives in admissions per day,
    ``elective_hour`` in hours after midnight UTC. ``capacity`` is the most patients seen at
    once in each inpatient unit over the window: an estimate (a lower bound) of its beds.
    """

    watermark: datetime
    window_start: datetime
    window_days: float
    arrivals: ArrivalRates
    acuity_shares: dict[int, float]
    ed_exit_los: LengthOfStay
    ed_admit_los: LengthOfStay
    ed_next_unit: dict[int, dict[str, float]]
    los: dict[str, LengthOfStay]
    unit_next: dict[str, dict[str, float]]
    electives: dict[str, list[float]]
    elective_hour: float | None
    discharge: DischargeHours
    capacity: dict[str, int]
    counts: dict[str, int]
    routing: Routing
    notes: list[str] = field(default_factory=list)
    #: Estimated share of closing events lost (a missing discharge leaves a ghost): measured on
    #: the ED, where every loss shows (see ``calibrate_hospital``); 0 on a clean feed.
    lost_share: float = 0.0

    @property
    def admit_prob(self) -> dict[int, float]:
        """P(admitted | acuity) for patients leaving the ED: 1 - P(exit)."""
        return {a: 1.0 - nxt.get(EXIT, 0.0) for a, nxt in self.ed_next_unit.items()}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types; ``HospitalCalibration.from_dict(c.to_dict()).to_dict()`` equals it."""
        return {
            "format": FORMAT,
            "watermark": self.watermark.isoformat(),
            "window_start": self.window_start.isoformat(),
            "window_days": self.window_days,
            "arrivals": self.arrivals.to_dict(),
            "acuity_shares": {str(k): v for k, v in self.acuity_shares.items()},
            "ed_exit_los": self.ed_exit_los.to_dict(),
            "ed_admit_los": self.ed_admit_los.to_dict(),
            "ed_next_unit": {str(k): v for k, v in self.ed_next_unit.items()},
            "los": {u: f.to_dict() for u, f in self.los.items()},
            "unit_next": self.unit_next,
            "electives": self.electives,
            "elective_hour": self.elective_hour,
            "discharge": self.discharge.to_dict(),
            "capacity": self.capacity,
            "counts": self.counts,
            "routing": self.routing.to_dict(),
            "notes": self.notes,
            "lost_share": self.lost_share,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HospitalCalibration:
        """A calibration back from :meth:`to_dict` (e.g. read from calibration.json)."""
        if d.get("format") != FORMAT:
            raise CalibrationError(
                f"calibration format {d.get('format')!r} is not {FORMAT}: calibrate again"
            )
        hour = d["elective_hour"]
        return cls(
            watermark=datetime.fromisoformat(d["watermark"]),
            window_start=datetime.fromisoformat(d["window_start"]),
            window_days=float(d["window_days"]),
            arrivals=ArrivalRates.from_dict(d["arrivals"]),
            acuity_shares={int(k): float(v) for k, v in d["acuity_shares"].items()},
            ed_exit_los=LengthOfStay.from_dict(d["ed_exit_los"]),
            ed_admit_los=LengthOfStay.from_dict(d["ed_admit_los"]),
            ed_next_unit={
                int(k): {u: float(p) for u, p in v.items()} for k, v in d["ed_next_unit"].items()
            },
            los={u: LengthOfStay.from_dict(f) for u, f in d["los"].items()},
            unit_next={u: {n: float(p) for n, p in v.items()} for u, v in d["unit_next"].items()},
            electives={u: [float(x) for x in v] for u, v in d["electives"].items()},
            elective_hour=None if hour is None else float(hour),
            discharge=DischargeHours.from_dict(d["discharge"]),
            capacity={u: int(c) for u, c in d["capacity"].items()},
            counts={k: int(v) for k, v in d["counts"].items()},
            routing=Routing.from_dict(d["routing"]),
            notes=[str(n) for n in d.get("notes", [])],
            lost_share=float(d.get("lost_share", 0.0)),
        )

    def report(self) -> str:
        """A readable summary: arrivals, ED, LOS tables per unit, routing, electives, discharges."""
        from ._report import render

        return render(self)

    def frames(self) -> dict[str, pd.DataFrame]:
        """The calibration as pandas DataFrames (for notebooks): ``arrivals``, ``acuity``,
        ``ed_next_unit``, ``unit_next``, ``los``, ``electives``, ``discharge``, ``capacity``."""
        from ._report import frames

        return frames(self)


def _entry(frame: pd.DataFrame, since: pd.Timestamp) -> np.ndarray:
    """Hours of each segment before ``since`` (left truncation), 0 when it started inside."""
    before = np.asarray((since - frame["start"]).dt.total_seconds(), dtype=float) / 3600.0
    return np.maximum(before, 0.0)


def _fit_los(frame: pd.DataFrame, since: pd.Timestamp, censored: bool = True) -> LengthOfStay:
    cens = np.asarray(frame["censored"], dtype=bool) if censored else None
    hours = np.asarray(frame["hours"], dtype=float)
    entry = np.minimum(_entry(frame, since), hours)
    return LengthOfStay().fit(hours, cens, entry)


def _ghosts(unit: pd.DataFrame, fit: LengthOfStay, lost: float) -> pd.Index:
    """Open segments (still there at the end) more likely ghosts than real stays.

    A segment open for ``e`` hours is a real stay with prior probability ``1 - lost`` and
    likelihood ``S(e)``, or a ghost (its discharge lost) with prior ``lost`` and likelihood 1:
    a ghost when ``lost > (1 - lost) S(e)``. ``lost`` is the share of segments found broken or
    stale (an estimate of the share of lost closing events); 0 on a clean feed: no ghosts.
    """
    if lost <= 0:
        return unit.index[:0]
    open_ = unit[unit["censored"] & ~unit["stale"]]
    alive = fit.survival(np.asarray(open_["hours"], dtype=float))
    return open_.index[lost > (1 - lost) * alive]


def _capacity(frame: pd.DataFrame, since: pd.Timestamp, until: pd.Timestamp) -> dict[str, int]:
    """Most patients at once in each inpatient unit within [since, until] (stale: until their
    last event)."""
    out: dict[str, int] = {}
    held = pd.to_timedelta((frame["hours"] * 3600).round(), unit="s")  # censored: to until/last
    stop = frame["end"].fillna(frame["start"] + held)
    for unit, g in frame[frame["unit"] != ED].groupby("unit"):
        s = np.maximum(g["start"].to_numpy("datetime64[ns]"), since.to_datetime64())
        e = stop[g.index].to_numpy("datetime64[ns]")
        times = np.concatenate([s, e])
        steps = np.concatenate([np.ones(len(g)), -np.ones(len(g))])
        order = np.lexsort((steps, times))  # at one instant, leaving before entering
        census = np.cumsum(steps[order])
        out[str(unit)] = int(census.max()) if len(census) else 0
    return dict(sorted(out.items()))


def _history_start(engine: Engine, since: datetime, until: datetime) -> datetime | None:
    """The first UTC day in the window with at least 60% of the median daily ED arrivals:
    days before it hold only the earlier events of patients already in (the feed's start)."""
    with engine.connect() as conn:
        query = select(AdtEventRow.time).where(
            AdtEventRow.type == "arrival", AdtEventRow.time >= since, AdtEventRow.time <= until
        )
        times = pd.DatetimeIndex(list(conn.execute(query).scalars()))
    if not len(times):
        return None
    first_day = pd.Timestamp(since).ceil("D")  # complete days only
    full = pd.date_range(first_day, pd.Timestamp(until).floor("D") - pd.Timedelta(days=1))
    if not len(full):
        return None
    days = pd.Series(times.tz_convert("UTC").floor("D")).value_counts().reindex(full, fill_value=0)
    enough = days[days >= 0.6 * float(days.median())]
    if not len(enough) or enough.index.min() <= first_day:
        return None
    first = enough.index.min()
    return datetime.fromtimestamp(first.timestamp(), UTC)


def _events_in(engine: Engine, since: datetime, until: datetime) -> int:
    with engine.connect() as conn:
        query = select(func.count()).where(AdtEventRow.time >= since, AdtEventRow.time <= until)
        return int(conn.execute(query).scalar_one())


def calibrate_hospital(
    engine: Engine,
    *,
    until: datetime | None = None,
    window_days: float = 56,
    stale_after_hours: float = 60 * 24.0,
    ed_stale_after_hours: float = 72.0,
    stale_factor: float = 2.0,
) -> HospitalCalibration:
    """Calibrate the hospital model on the events in ``[until - window_days, until]``.

    ``until`` defaults to the latest stored event. Raises :class:`CalibrationError` when the
    store is empty, ``until`` is naive, or the window holds no ED arrival, ED stay or discharge.
    """
    if not window_days > 0 or not math.isfinite(window_days):
        raise CalibrationError(f"window_days must be a positive number of days, got {window_days}")
    if until is None:
        until = latest_event(engine)
    elif until.tzinfo is None:
        raise CalibrationError(
            f"until '{until.isoformat()}' has no UTC offset: give an aware instant"
        )
    until = until.astimezone(UTC)
    latest_event(engine)  # an empty store is its own error
    since = until - timedelta(days=window_days)
    notes: list[str] = []
    begins = _history_start(engine, since, until)
    if begins is not None and begins > since:
        notes.append(
            f"the history starts about {begins:%Y-%m-%d}: window shortened from "
            f"{window_days:g} to {(until - begins) / timedelta(days=1):.1f} days"
        )
        since = begins
        window_days = (until - since) / timedelta(days=1)
    where = f"between {since:%Y-%m-%d %H:%M} and {until:%Y-%m-%d %H:%M} UTC"
    frame = episodes(
        engine,
        until=until,
        since=since,
        stale_after_hours=stale_after_hours,
        ed_stale_after_hours=ed_stale_after_hours,
        stale_factor=stale_factor,
    )
    lo, hi = pd.Timestamp(since), pd.Timestamp(until)
    ed = frame[frame["unit"] == ED]
    arrivals_at = ed.loc[ed["prev_unit"].isna() & (ed["start"] >= lo), "start"]
    if not len(arrivals_at):
        raise CalibrationError(f"no ED arrivals {where}: choose another --until or a wider window")
    arrivals = ArrivalRates(window_days).fit(arrivals_at, until=until)
    ended_ed = ed[ed["next_unit"].notna()]
    exits = ended_ed[ended_ed["next_unit"] == EXIT]
    admits = ended_ed[ended_ed["next_unit"] != EXIT]
    for name, part in (("ED discharges", exits), ("admissions from the ED", admits)):
        if len(part) < _MIN_ENDED:
            raise CalibrationError(
                f"only {len(part)} {name} {where}: too few to fit; choose a wider window"
            )
    ed_exit_los = _fit_los(exits, lo, censored=False)
    ed_admit_los = _fit_los(admits, lo, censored=False)

    los: dict[str, LengthOfStay] = {}
    ghosts = 0
    # share of closing events lost: an ED segment's loss always shows (a lost ED discharge
    # goes stale, a lost admit breaks the chain) once the ED stale limit has passed
    judged = ed[ed["start"] <= hi - pd.Timedelta(hours=ed_stale_after_hours)]
    lost = float(judged["stale"].mean()) if len(judged) else 0.0
    for unit, g in frame[frame["unit"] != ED].groupby("unit"):
        ended = int((~g["censored"]).sum())
        if ended < _MIN_ENDED:
            notes.append(
                f"{unit}: only {ended} ended stays in the window, no length of stay fitted"
            )
            continue
        fit = _fit_los(g, lo)
        suspects = _ghosts(g, fit, lost)
        if len(suspects):
            ghosts += len(suspects)
            frame.loc[suspects, "stale"] = True
            frame.loc[suspects, "hours"] = 0.0
            fit = _fit_los(frame.loc[g.index], lo)
        los[str(unit)] = fit
    if ghosts:
        notes.append(
            f"{ghosts} patients still in at the end are more likely ghosts (a lost discharge) "
            "than real long stays: left out of lengths of stay and capacity"
        )
    inpatient = frame[frame["unit"] != ED]

    routing = Routing().fit(frame, since, until)
    left = inpatient[(inpatient["next_unit"] == EXIT) & (inpatient["end"] >= lo)]
    if not len(left):
        raise CalibrationError(f"no discharges from inpatient units {where}: choose a wider window")
    discharge = DischargeHours().fit(left["end"])
    stale = int(frame["stale"].sum()) - ghosts
    if stale:
        notes.append(
            f"{stale} segments stale or broken (a missing discharge or movement): "
            "censored at their last event"
        )
    counts = {
        "events": _events_in(engine, since, until),
        "segments": len(frame),
        "ed_arrivals": len(arrivals_at),
        "ed_exits": len(exits),
        "ed_admits": len(admits),
        "inpatient_segments": len(inpatient),
        "discharges": len(left),
        "electives": sum(sum(v) for v in routing.elective_counts_.values()),
        "censored": int(frame["censored"].sum()),
        "stale": stale,
        "ghosts": ghosts,
    }
    return HospitalCalibration(
        watermark=until,
        window_start=since,
        window_days=float(window_days),
        arrivals=arrivals,
        acuity_shares=dict(routing.acuity_shares_),
        ed_exit_los=ed_exit_los,
        ed_admit_los=ed_admit_los,
        ed_next_unit={a: dict(p) for a, p in routing.ed_next_.items()},
        los=los,
        unit_next={u: dict(p) for u, p in routing.unit_next_.items()},
        electives={u: list(v) for u, v in routing.electives_.items()},
        elective_hour=routing.elective_hour_,
        discharge=discharge,
        capacity=_capacity(frame, lo, hi),
        counts=counts,
        routing=routing,
        lost_share=lost,
        notes=notes,
    )
