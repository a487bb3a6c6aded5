"""``emulate_hospital``: a synthetic ADT history of a general acute hospital, with its truth.

The run starts ``warmup_days`` before ``start`` with an empty hospital, so that the wards are
full when the history begins; the file holds every event before the end of the window of each
patient who is in the hospital at ``start`` or arrives later. Times are hours since the origin
(midnight UTC of the first warm-up day) inside, ISO 8601 UTC in the rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from ..connect import ADT_FIELDS
from ._arrivals import ed_arrivals, elective_arrivals
from ._defects import DefectLog, Defects, apply_defects
from ._flow import Move, Patient, new_patients, run_flow
from ._params import WARD_SHARES, HospitalParams

__all__ = ["UNITS", "Emulation", "GroundTruth", "emulate_hospital", "ward_beds"]

#: The units, in the order of the ground-truth census columns.
UNITS = ("ED", *WARD_SHARES)


def ward_beds(beds: int) -> dict[str, int]:
    """Beds per inpatient unit for ``beds`` inpatient beds in all (each at least 2)."""
    return {u: max(2, round(beds * share)) for u, share in WARD_SHARES.items()}


@dataclass
class GroundTruth:
    """What really happened, for scoring a twin; hour ``k`` is ``start + k`` hours (UTC)."""

    start: datetime
    beds: dict[str, int]
    #: Patients in each unit (columns ``UNITS``) at the start of each hour, shape (hours, 6).
    census: np.ndarray
    #: Patients boarding in the ED (admitted, waiting for a bed) at the start of each hour.
    boarding: np.ndarray
    #: Ward stays (specialty, days from admit or transfer in to discharge) that began and ended
    #: in the window.
    ward_stays: list[tuple[str, float]]
    #: Elective admissions cancelled for want of a bed in the window.
    cancelled_electives: int
    #: Surge days in the window and their arrival-rate multipliers.
    surge_days: dict[date, float]
    #: The true events (before defects), sorted by time, as rows like the file's.
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Emulation:
    """The rows of the file (in file order, defects included), the truth and the defect log."""

    rows: list[dict[str, Any]]
    truth: GroundTruth
    defects: DefectLog


def _iso(origin: datetime, hours: float) -> str:
    return (origin + timedelta(seconds=round(hours * 3600))).strftime("%Y-%m-%dT%H:%M:%SZ")


def _row(move: Move, origin: datetime, patient_ids: list[str], event_id: str) -> dict[str, Any]:
    values = {
        "v": 1,
        "event_id": event_id,
        "type": move.type,
        "time": _iso(origin, move.time_h),
        "unit": move.unit,
        "from_unit": move.from_unit,
        "patient_id": patient_ids[move.patient],
        "acuity": move.acuity,
        "specialty": move.specialty,
        "admission": move.admission,
    }
    return {k: values[k] for k in ADT_FIELDS}


def _count_at(intervals: list[tuple[float, float]], t0: float, n: int) -> np.ndarray:
    """How many [a, b) intervals contain each of the hours t0, t0 + 1, ..., t0 + n - 1."""
    diff = np.zeros(n + 1, dtype=np.int64)
    for a, b in intervals:
        lo = max(0, math.ceil(a - t0))
        hi = n if math.isinf(b) else min(n, max(0, math.ceil(b - t0)))
        if lo < hi:
            diff[lo] += 1
            diff[hi] -= 1
    return np.cumsum(diff[:n])


def emulate_hospital(
    days: int,
    seed: int,
    *,
    beds: int = 400,
    start: date = date(2026, 1, 5),
    defects: Defects | None = None,
    params: HospitalParams | None = None,
    warmup_days: int = 21,
) -> Emulation:
    """Emulate ``days`` days from ``start`` of a hospital with ``beds`` inpatient beds.

    Same arguments, same result (``seed`` drives independent streams for arrivals, flow,
    identifiers and defects). ``defects`` defaults to ``Defects()``; ``Defects.none()`` is clean.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if beds < 10:
        raise ValueError(f"beds must be at least 10, got {beds}")
    params = params or HospitalParams()
    defects = Defects() if defects is None else defects
    arr_rng, flow_rng, id_rng, def_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)
    )
    first = start - timedelta(days=warmup_days)
    origin = datetime(first.year, first.month, first.day, tzinfo=UTC)
    n_days = warmup_days + days
    start_h, end_h = 24.0 * warmup_days, 24.0 * n_days

    ed_times, surge = ed_arrivals(params, first, n_days, beds, arr_rng)
    el_times = elective_arrivals(params, first, n_days, beds, arr_rng)
    patients = new_patients(params, len(ed_times), len(el_times), flow_rng)
    capacity = ward_beds(beds)
    moves = run_flow(params, patients, ed_times + el_times, capacity, end_h, flow_rng)

    keep = [any(b >= start_h for _, _, b in p.segments) for p in patients]
    base = int(id_rng.integers(100_000, 5_000_000))
    patient_ids = [f"MRN{base + i:07d}" for i in range(len(patients))]
    kept = sorted((m for m in moves if keep[m.patient]), key=lambda m: round(m.time_h * 3600))
    true_rows = [_row(m, origin, patient_ids, f"E{i + 1:08d}") for i, m in enumerate(kept)]
    rows, log = apply_defects(true_rows, [m.time_h for m in kept], defects, def_rng)
    truth = _truth(patients, capacity, origin, start_h, days, surge, warmup_days, first)
    truth.events = true_rows
    return Emulation(rows=rows, truth=truth, defects=log)


def _truth(
    patients: list[Patient],
    capacity: dict[str, int],
    origin: datetime,
    start_h: float,
    days: int,
    surge: np.ndarray,
    warmup_days: int,
    first: date,
) -> GroundTruth:
    n = 24 * days
    census = np.zeros((n, len(UNITS)), dtype=np.int64)
    for j, unit in enumerate(UNITS):
        spans = [(a, b) for p in patients for u, a, b in p.segments if u == unit]
        census[:, j] = _count_at(spans, start_h, n)
    boarding = _count_at([p.boarding for p in patients if p.boarding], start_h, n)
    end_h = start_h + n
    stays = [
        (str(p.specialty), (b - a) / 24)
        for p in patients
        for u, a, b in p.segments
        if u not in ("ED", "ICU") and start_h <= a and b < end_h
    ]
    cancelled = sum(
        1 for p in patients if p.cancelled and p.elective and _admit_day(p, start_h, end_h)
    )
    surges = {
        first + timedelta(days=d): float(surge[d])
        for d in range(warmup_days, len(surge))
        if surge[d] != 1.0
    }
    return GroundTruth(
        start=origin + timedelta(hours=start_h),
        beds=dict(capacity),
        census=census,
        boarding=boarding,
        ward_stays=stays,
        cancelled_electives=cancelled,
        surge_days=surges,
    )


def _admit_day(p: Patient, start_h: float, end_h: float) -> bool:
    return not math.isnan(p.request_h) and start_h <= p.request_h < end_h
