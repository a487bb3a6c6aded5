"""The hospital's current state from the stored ADT events: who is where, since when.

``current_state(engine, at=None)`` replays each patient's events up to the instant ``at`` (by
event time, not by the order they arrived in) with one streamed SQL query ordered by patient and
time, keeping only the patients present at ``at`` in memory. Definitions, the stale rule and the
choice of ``at`` are in ``docs/state.md``. Durations are hours unless a name says otherwise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, case, func, or_, select, union

from ..spec import TimeUnit
from ..store import AdtEventRow

__all__ = [
    "ED",
    "HospitalState",
    "PresentPatient",
    "StateError",
    "current_state",
    "replay_rows",
]

#: The emergency department's unit name in ADT events.
ED = "ED"
_SECONDS_PER_HOUR = 3600.0
#: The ED stale limit is never shorter than this (hours).
_ED_FLOOR_HOURS = 24.0
#: Events at the same instant for one patient apply in this order.
_TYPE_ORDER = {"arrival": 0, "admit": 1, "transfer": 2, "discharge": 3}


class StateError(ValueError):
    """The state cannot be reconstructed (an empty store, a naive instant); the message says why."""


@dataclass(frozen=True)
class PresentPatient:
    """One patient in the hospital at the state's instant.

    ``unit_since`` is when the patient entered ``unit``; ``hospital_since`` when the stay began
    (the arrival, or the first event of the stay when its arrival is missing). ``in_unit_hours``
    and ``in_hospital_hours`` are the elapsed times up to the state's instant, hours.
    """

    patient_key: str
    unit: str
    unit_since: datetime
    hospital_since: datetime
    in_unit_hours: float
    in_hospital_hours: float
    acuity: int | None = None
    specialty: str | None = None
    admission: str | None = None
    #: For a patient in the ED: whether the store holds a later admit out of the ED (known in
    #: hindsight only, when ``at`` is before the latest event); None outside the ED.
    admitted_later: bool | None = None


@dataclass
class HospitalState:
    """Census per unit and the present patients at instant ``at`` (UTC).

    ``census`` counts every unit that holds a present patient (the ED included: its census
    includes patients boarding there). ``dropped_stale`` counts patients left out because their
    last event is older than the stale horizon (a missing discharge would otherwise keep them
    forever); ``events`` is how many stored events at or before ``at`` were replayed.
    """

    at: datetime
    census: dict[str, int]
    patients: list[PresentPatient]
    dropped_stale: int = 0
    events: int = 0
    #: The stale horizons used (hours): inpatients (time since the last event), ED (time in the
    #: ED; the limit the ED rule arrived at, see ``current_state``).
    stale_after_hours: float = 60 * 24.0
    ed_stale_after_hours: float = 14 * 24.0
    dropped_by_unit: dict[str, int] = field(default_factory=dict)

    @property
    def in_ed(self) -> int:
        """Patients in the ED at ``at`` (those waiting to be seen, treated, or boarding)."""
        return self.census.get(ED, 0)

    @property
    def awaiting_admission(self) -> int:
        """ED patients at ``at`` whom the store later shows admitted from the ED (hindsight).

        An upper bound on the patients boarding at ``at``: it also counts those whose admission
        had not been decided yet (the events carry no decision time).
        """
        return sum(1 for p in self.patients if p.unit == ED and p.admitted_later)

    def to_initial_state(
        self, time_unit: TimeUnit | str = TimeUnit.hours, *, entity_class: str = "default"
    ) -> list[dict[str, Any]]:
        """The present patients as flow-spec ``initial_state`` groups (a forecast's warm start).

        One group per patient: ``station`` the unit, ``status`` in_service, ``elapsed`` the time
        in the unit and ``in_system`` the time in hospital, both in ``time_unit``.
        """
        unit = TimeUnit(time_unit)
        per_hour = 60.0 / unit.minutes_per_unit
        return [
            {
                "station": p.unit,
                "class": entity_class,
                "status": "in_service",
                "count": 1,
                "elapsed": p.in_unit_hours * per_hour,
                "in_system": max(p.in_hospital_hours, p.in_unit_hours) * per_hour,
            }
            for p in self.patients
        ]


@dataclass
class _Stay:
    unit: str
    unit_since: datetime
    hospital_since: datetime
    last: datetime
    acuity: int | None = None
    specialty: str | None = None
    admission: str | None = None


def _apply(stay: _Stay | None, kind: str, t: datetime, row: Any) -> _Stay | None:
    """One event's effect on a patient's stay (None: not in the hospital)."""
    if kind == "discharge":
        return None  # whatever unit the record names: the patient has left
    if kind == "arrival" or stay is None:
        # a new stay: an arrival, or an admit/transfer whose arrival is missing
        stay = _Stay(row.unit, t, t, t, acuity=row.acuity)
    elif row.unit != stay.unit:
        stay.unit, stay.unit_since = row.unit, t
    stay.last = t
    if row.acuity is not None:
        stay.acuity = row.acuity
    if row.specialty is not None:
        stay.specialty = row.specialty
    if row.admission is not None:
        stay.admission = row.admission
    return stay


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / _SECONDS_PER_HOUR


def _latest(engine: Engine) -> datetime:
    with engine.connect() as conn:
        query = select(AdtEventRow.time).order_by(AdtEventRow.time.desc()).limit(1)
        latest = conn.execute(query).scalar_one_or_none()
    if latest is None:
        raise StateError("the store holds no events: ingest an ADT event file first")
    return latest


def _active(at: datetime, since: datetime, also_since: datetime | None) -> Any:
    """Patients who may be present at ``at``: an event in ``[since, at]`` and none of them a
    discharge after their last other event (a discharge at the same instant as another event
    applies last, so it counts as after); plus every patient with an event in
    ``[also_since, at]``."""
    is_discharge = AdtEventRow.type == "discharge"
    last_discharge = func.max(case((is_discharge, AdtEventRow.time)))
    last_other = func.max(case((~is_discharge, AdtEventRow.time)))
    present = (
        select(AdtEventRow.patient_key)
        .where(AdtEventRow.time >= since, AdtEventRow.time <= at)
        .group_by(AdtEventRow.patient_key)
        .having(or_(last_discharge.is_(None), last_other > last_discharge))
    )
    if also_since is None:
        return present
    recent = select(AdtEventRow.patient_key).where(
        AdtEventRow.time >= also_since, AdtEventRow.time <= at
    )
    return union(present, recent)


def replay_rows(
    engine: Engine,
    at: datetime,
    batch: int = 10_000,
    *,
    active_since: datetime | None = None,
    also_since: datetime | None = None,
) -> Iterator[Any]:
    """Every stored event at or before ``at``, patient by patient in replay order (event time,
    then arrival < admit < transfer < discharge at one instant, then storage order), streamed
    in batches of ``batch`` rows: what ``current_state``, ``census_series`` and the
    calibration's episodes replay. ``active_since``: only patients who may be present at
    ``at`` (an event in ``[active_since, at]``, the last of them not a discharge) and, with
    ``also_since``, every patient with an event in ``[also_since, at]``: all of their events up
    to ``at``."""
    order = case(_TYPE_ORDER, value=AdtEventRow.type, else_=9)
    query = (
        select(
            AdtEventRow.patient_key,
            AdtEventRow.type,
            AdtEventRow.time,
            AdtEventRow.unit,
            AdtEventRow.from_unit,
            AdtEventRow.acuity,
            AdtEventRow.specialty,
            AdtEventRow.admission,
        )
        .where(AdtEventRow.time <= at)
        .order_by(AdtEventRow.patient_key, AdtEventRow.time, order, AdtEventRow.id)
    )
    if active_since is not None:
        query = query.where(AdtEventRow.patient_key.in_(_active(at, active_since, also_since)))
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
        yield from result


def _admitted_later(engine: Engine, at: datetime, keys: Iterable[str]) -> set[str]:
    """Of ``keys``, the patients with an admit out of the ED after ``at``."""
    found: set[str] = set()
    pending = list(keys)
    with engine.connect() as conn:
        for i in range(0, len(pending), 500):
            chunk = pending[i : i + 500]
            query = select(AdtEventRow.patient_key).where(
                and_(
                    AdtEventRow.patient_key.in_(chunk),
                    AdtEventRow.type == "admit",
                    AdtEventRow.from_unit == ED,
                    AdtEventRow.time > at,
                )
            )
            found.update(conn.execute(query).scalars())
    return found


def current_state(
    engine: Engine,
    at: datetime | None = None,
    *,
    stale_after_hours: float = 60 * 24.0,
    ed_stale_after_hours: float = 14 * 24.0,
    ed_stale_factor: float = 2.0,
    ed_window_hours: float = 7 * 24.0,
    batch: int = 10_000,
    recent_only: bool = False,
) -> HospitalState:
    """The hospital at instant ``at`` (default: the latest event time in the store).

    Events at or before ``at`` count (a patient who arrives at exactly ``at`` is present, one
    discharged at exactly ``at`` is not). Stale rule (a missing discharge would otherwise keep a
    ghost forever): an inpatient whose last event is more than ``stale_after_hours`` before
    ``at`` is taken to have left without a record, dropped and counted in ``dropped_stale``; a
    patient in the ED is dropped once their time in the ED exceeds ``ed_stale_factor`` times
    the longest ED stay that ended in the ``ed_window_hours`` before ``at`` (at least 24 hours,
    at most ``ed_stale_after_hours``; the cap alone when no ED stay ended in the window).
    Rows are streamed in batches of ``batch``.

    ``recent_only``: replay only the patients who can be present (an event within the stale
    horizons, the last one not a discharge) and those with an event in the ED window: the same
    census and patients, read in time that does not grow with the history; ``dropped_stale``
    and ``events`` then count those patients only.
    """
    if at is None:
        at = _latest(engine)
    elif at.tzinfo is None:
        raise StateError(f"'{at.isoformat()}' has no UTC offset: give an aware instant")
    at = at.astimezone(UTC)
    if min(stale_after_hours, ed_stale_after_hours, ed_stale_factor, ed_window_hours) <= 0:
        raise StateError("the stale horizons, factor and window must be positive")
    ed_window_start = at - timedelta(hours=ed_window_hours)
    longest_ed = 0.0  # hours: the longest ED stay that ended in the window
    patients: list[PresentPatient] = []
    dropped: Counter[str] = Counter()
    events = 0
    key: str | None = None
    stay: _Stay | None = None

    def close(k: str | None, s: _Stay | None) -> None:
        if k is None or s is None:
            return
        if s.unit != ED and _hours(at - s.last) > stale_after_hours:
            dropped[s.unit] += 1
            return
        patients.append(
            PresentPatient(
                patient_key=k,
                unit=s.unit,
                unit_since=s.unit_since,
                hospital_since=s.hospital_since,
                in_unit_hours=_hours(at - s.unit_since),
                in_hospital_hours=_hours(at - s.hospital_since),
                acuity=s.acuity,
                specialty=s.specialty,
                admission=s.admission,
            )
        )

    horizon = timedelta(hours=max(stale_after_hours, ed_stale_after_hours))
    since = at - horizon if recent_only else None
    # the ED rule also needs the ED stays that ended in the window: those patients too
    for row in replay_rows(engine, at, batch, active_since=since, also_since=ed_window_start):
        events += 1
        if row.patient_key != key:
            close(key, stay)
            key, stay = row.patient_key, None
        if (
            stay is not None
            and stay.unit == ED
            and (row.unit == ED if row.type == "discharge" else row.from_unit == ED)
            and row.time > ed_window_start
        ):
            longest_ed = max(longest_ed, _hours(row.time - stay.unit_since))
        stay = _apply(stay, row.type, row.time, row)
    close(key, stay)

    ed_limit = ed_stale_after_hours
    if longest_ed > 0:
        ed_limit = min(ed_stale_after_hours, max(_ED_FLOOR_HOURS, ed_stale_factor * longest_ed))
    kept = [p for p in patients if p.unit != ED or p.in_unit_hours <= ed_limit]
    if len(kept) < len(patients):
        dropped[ED] += len(patients) - len(kept)
        patients = kept

    in_ed = [p.patient_key for p in patients if p.unit == ED]
    later = _admitted_later(engine, at, in_ed) if in_ed else set()
    patients = [p if p.unit != ED else _with_flag(p, p.patient_key in later) for p in patients]
    patients.sort(key=lambda p: (p.unit, p.unit_since, p.patient_key))
    census = dict(sorted(Counter(p.unit for p in patients).items()))
    return HospitalState(
        at=at,
        census=census,
        patients=patients,
        dropped_stale=sum(dropped.values()),
        events=events,
        stale_after_hours=stale_after_hours,
        ed_stale_after_hours=ed_limit,
        dropped_by_unit=dict(sorted(dropped.items())),
    )


def _with_flag(p: PresentPatient, admitted: bool) -> PresentPatient:
    return replace(p, admitted_later=admitted)
