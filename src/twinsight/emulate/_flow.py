"""The patient-by-patient flow through beds: boarding, ICU step-down, daytime discharges.

A small event loop (``heapq``) over bed requests and departures. Each unit has a fixed number of
beds; a patient who needs a bed that is not free waits in a first-come queue for that unit (an
ED patient boards in the ED; an ICU patient ready for a ward keeps the ICU bed). An elective
patient who finds no bed is cancelled. Times are hours since the emulation's origin.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from ._params import SPECIALTY_WARDS, HospitalParams

__all__ = ["Move", "Patient", "run_flow"]

_LEAVE, _READY, _REQUEST = 0, 1, 2  # at equal times: beds are freed before they are asked for


@dataclass
class Move:
    """One true movement (an ADT event before defects); ``time_h`` in hours since the origin."""

    time_h: float
    type: str
    unit: str
    patient: int
    from_unit: str | None = None
    acuity: int | None = None
    specialty: str | None = None
    admission: str | None = None


@dataclass
class Patient:
    """One patient's path; ``segments`` are (unit, enter_h, leave_h) with leave inf if still in."""

    index: int
    elective: bool
    specialty: str | None
    ward: str | None
    needs_icu: bool
    acuity: int | None = None
    request_h: float = math.nan
    segments: list[tuple[str, float, float]] = field(default_factory=list)
    boarding: tuple[float, float] | None = None
    cancelled: bool = False


def _discharge_time(
    ready_h: float, not_before_h: float, cdf: np.ndarray, rng: np.random.Generator
) -> float:
    """The daytime discharge slot of the day the patient is ready (next day if already past)."""
    day = math.floor(ready_h / 24)
    hour = float(np.searchsorted(cdf, rng.random(), side="right")) + float(rng.random())
    t = day * 24 + hour
    while t <= not_before_h + 1.0:
        t += 24
    return t


def run_flow(
    params: HospitalParams,
    patients: list[Patient],
    arrivals_h: list[float],
    capacity: dict[str, int],
    horizon_h: float,
    rng: np.random.Generator,
) -> list[Move]:
    """Move ``patients`` (arriving at ``arrivals_h``) through the beds until ``horizon_h``.

    Fills each patient's ``segments``, ``boarding`` and ``cancelled``; returns the movements.
    """
    shape = np.asarray(params.discharge_hour_shape, dtype=float)
    cdf = np.cumsum(shape) / shape.sum()
    moves: list[Move] = []
    occupied = dict.fromkeys(capacity, 0)
    waiting: dict[str, deque[tuple[int, str]]] = {u: deque() for u in capacity}
    where: dict[int, tuple[str, float]] = {}  # patient -> (unit, entered at)
    heap: list[tuple[float, int, int, int, str]] = []
    seq = 0

    def push(t: float, kind: int, p: int, unit: str) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(heap, (t, kind, seq, p, unit))

    def leave(p: int, t: float) -> None:
        unit, since = where.pop(p)
        patients[p].segments.append((unit, since, t))

    def enter(p: int, unit: str, t: float) -> None:
        where[p] = (unit, t)
        if unit in occupied:
            occupied[unit] += 1

    def free(unit: str, t: float) -> None:
        occupied[unit] -= 1
        if waiting[unit]:
            p, kind = waiting[unit].popleft()
            admit(p, unit, t, kind)

    def admit(p: int, unit: str, t: float, kind: str) -> None:
        pat = patients[p]
        prev = where[p][0] if p in where else None
        if prev is not None:
            leave(p, t)
        enter(p, unit, t)
        if kind == "transfer":
            moves.append(Move(t, "transfer", unit, p, prev, specialty=pat.specialty))
            assert prev is not None
            free(prev, t)
        else:
            admission = "elective" if pat.elective else "emergency"
            moves.append(Move(t, "admit", unit, p, prev, specialty=pat.specialty,
                              admission=admission))  # fmt: skip
            if prev == "ED":
                pat.boarding = (pat.request_h, t)
        if unit == "ICU":
            push(t + 24 * float(rng.lognormal(math.log(params.icu_median_days),
                                              params.icu_sigma)), _READY, p, unit)  # fmt: skip
        else:
            assert pat.specialty is not None
            ready = t + 24 * float(params.los[pat.specialty].sample_days(rng, 1)[0])
            push(_discharge_time(ready, t, cdf, rng), _LEAVE, p, unit)

    for p, t in enumerate(arrivals_h):
        pat = patients[p]
        if pat.elective:
            pat.request_h = t
            push(t, _REQUEST, p, "ICU" if pat.needs_icu else str(pat.ward))
            continue
        moves.append(Move(t, "arrival", "ED", p, acuity=pat.acuity))
        enter(p, "ED", t)
        if pat.ward is None:  # treated and sent home from the ED
            stay = float(rng.lognormal(math.log(params.ed_stay_median_h), params.ed_sigma))
            push(t + stay, _LEAVE, p, "ED")
        else:
            pat.request_h = t + float(
                rng.lognormal(math.log(params.ed_decision_median_h), params.ed_sigma)
            )
            push(pat.request_h, _REQUEST, p, "ICU" if pat.needs_icu else pat.ward)

    while heap:
        t, kind, _, p, unit = heapq.heappop(heap)
        if t >= horizon_h:
            break
        pat = patients[p]
        if kind == _LEAVE:
            moves.append(Move(t, "discharge", unit, p))
            leave(p, t)
            if unit in occupied:
                free(unit, t)
        elif kind == _REQUEST:
            if occupied[unit] < capacity[unit]:
                admit(p, unit, t, "admit")
            elif pat.elective:
                pat.cancelled = True
            else:
                waiting[unit].append((p, "admit"))
        elif rng.random() < params.icu_direct_discharge_prob:  # ICU stay over: home (or died)
            push(_discharge_time(t, t, cdf, rng), _LEAVE, p, unit)
        else:  # ICU stay over: step down to a ward when one has a bed
            ward = str(pat.ward)
            if occupied[ward] < capacity[ward]:
                admit(p, ward, t, "transfer")
            else:
                waiting[ward].append((p, "transfer"))
    for p, (unit, since) in where.items():
        patients[p].segments.append((unit, since, math.inf))
    return moves


def new_patients(
    params: HospitalParams, n_ed: int, n_elective: int, rng: np.random.Generator
) -> list[Patient]:
    """Triage ``n_ed`` ED patients (acuity, admit?, specialty, ICU?) then ``n_elective``."""
    out: list[Patient] = []
    acuity = rng.choice(5, size=n_ed, p=np.asarray(params.acuity_shares)) + 1
    u_admit, u_icu, u_ward = rng.random(n_ed), rng.random(n_ed), rng.random(n_ed)
    spec_names = list(params.emergency_specialty)
    spec = rng.choice(len(spec_names), size=n_ed, p=list(params.emergency_specialty.values()))
    for i in range(n_ed):
        a = int(acuity[i])
        admitted = bool(u_admit[i] < params.admit_prob[a - 1])
        s = spec_names[int(spec[i])] if admitted else None
        ward = _ward(s, float(u_ward[i]))
        icu = admitted and bool(u_icu[i] < params.icu_prob[a - 1])
        out.append(Patient(i, False, s, ward, icu, acuity=a))
    el_names = list(params.elective_specialty)
    el = rng.choice(len(el_names), size=n_elective, p=list(params.elective_specialty.values()))
    u_icu, u_ward = rng.random(n_elective), rng.random(n_elective)
    for j in range(n_elective):
        s = el_names[int(el[j])]
        icu = bool(u_icu[j] < params.elective_icu_prob)
        out.append(Patient(n_ed + j, True, s, _ward(s, float(u_ward[j])), icu))
    return out


def _ward(specialty: str | None, u: float) -> str | None:
    if specialty is None:
        return None
    wards = SPECIALTY_WARDS[specialty]
    return wards[min(int(u * len(wards)), len(wards) - 1)]
