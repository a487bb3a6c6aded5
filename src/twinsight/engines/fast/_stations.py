"""Stations of the fast engine: resources, joining, service start, leaving, the dispatcher.

docs/semantics.md, "Joining a station", "Queues and the dispatcher", "Service". Times are model
time in the spec's ``time_unit``; array layouts in ``_layout.py``. Functions marked
``@inlined`` are compiled into their callers (see ``_jit.py``).
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import hot, inlined
from ._layout import (
    CLS_LVL,
    CLS_PRIO,
    D_KIND,
    DPRIO,
    E_CLS,
    E_DEST,
    E_KEY,
    E_LVL,
    E_NXT,
    E_OPT,
    E_OSEQ,
    E_RSEQ,
    E_SEQ,
    E_ST,
    E_STAT,
    EF_DONE,
    EF_JOINED,
    EV_DONE,
    EV_ONWAIT,
    EV_RENEGE,
    F_D_PAR,
    F_J_TARGET,
    F_OW_AFTER,
    F_REL_ANCHOR,
    F_REL_CUM,
    F_REL_SH,
    F_RT_CUM,
    F_TARGET,
    HELD_N,
    HELD_SUM,
    HORIZON,
    J_CLS,
    J_DONE_BIT,
    J_ENTER,
    J_ENTER_BIT,
    J_FROM,
    J_LEAVE_BIT,
    J_MODE,
    J_ST,
    J_TO,
    KEEP_AMT,
    MPU,
    N_ARR,
    N_CLS,
    N_EF,
    N_JRN,
    N_LVL,
    N_ST,
    N_ST_ACC,
    NBLK,
    NEED_AMT,
    NEED_OFF,
    NEED_RES,
    NWAIT,
    OPT_OFF,
    PAT,
    PRIO,
    QCAP,
    REL,
    RT_OFF,
    RT_REL,
    S_BHEAD,
    S_BTAIL,
    S_NBLK,
    S_NIN,
    S_NWAIT,
    S_QHEAD,
    S_RCAP,
    S_RUSE,
    SF_J,
    SF_ST,
    ST_SERVICE,
    ST_WAIT,
    START,
    SVC,
    WAIT_N,
    WAIT_SUM,
    WARMUP,
    WITHIN,
)
from ._random import EXPONENTIAL, draw, uniform
from ._state import (
    flush_resource,
    flush_station,
    hist_add,
    push,
    q_insert,
    q_remove,
)

__all__ = [
    "ALL",
    "KEPT",
    "REST",
    "dispatch",
    "draw_route",
    "enqueue",
    "enter",
    "join",
    "journeys_start",
    "leave",
    "release",
    "release_at",
    "seize",
]

ALL, REST, KEPT = 0, 1, 2  # which of a station's resources to release: all, all but kept, kept


# ----- resources -------------------------------------------------------------------------------
@hot
def _available(mi: np.ndarray, si: np.ndarray, j: int) -> int:
    """The first resource option of station ``j`` (``resources``, then ``alternatives``) whose
    resources are all available in the needed amounts; -1 if none is."""
    use = si[S_RUSE]
    cap = si[S_RCAP]
    for o in range(mi[mi[OPT_OFF] + j], mi[mi[OPT_OFF] + j + 1]):
        ok = True
        for k in range(mi[mi[NEED_OFF] + o], mi[mi[NEED_OFF] + o + 1]):
            r = mi[mi[NEED_RES] + k]
            if si[cap + r] - si[use + r] < mi[mi[NEED_AMT] + k]:
                ok = False
                break
        if ok:
            return o
    return -1


@hot
def seize(mi: np.ndarray, mf: np.ndarray, si: np.ndarray, sf: np.ndarray, o: int, t: float) -> None:
    """Seize all the resources of option ``o`` (over-commitment allowed)."""
    for k in range(mi[mi[NEED_OFF] + o], mi[mi[NEED_OFF] + o + 1]):
        r = mi[mi[NEED_RES] + k]
        flush_resource(mf, si, sf, r, t)
        si[si[S_RUSE] + r] += mi[mi[NEED_AMT] + k]


@hot
def release(
    mi: np.ndarray, mf: np.ndarray, si: np.ndarray, sf: np.ndarray, o: int, t: float, which: int
) -> None:
    """Release option ``o``'s resources: all, all but the blocking-kept ones, or only those."""
    for k in range(mi[mi[NEED_OFF] + o], mi[mi[NEED_OFF] + o + 1]):
        amount = mi[mi[NEED_AMT] + k]
        kept = mi[mi[KEEP_AMT] + k]
        if which == REST:
            amount -= kept
        elif which == KEPT:
            amount = kept
        if amount != 0:
            r = mi[mi[NEED_RES] + k]
            flush_resource(mf, si, sf, r, t)
            si[si[S_RUSE] + r] -= amount


# ----- stations ----------------------------------------------------------------------------------
@hot
def enter(
    mf: np.ndarray, si: np.ndarray, sf: np.ndarray, ei: np.ndarray, ef: np.ndarray,
    ser: np.ndarray, e: int, j: int, t: float,
) -> None:  # fmt: skip
    flush_station(mf, si, sf, ser, j, t)
    si[si[S_NIN] + j] += 1
    ei[e, E_ST] = j
    ef[e, EF_JOINED] = t


@inlined
def journeys_start(
    mi: np.ndarray, ei: np.ndarray, ef: np.ndarray, e: int, j: int, point: int, t: float
) -> None:
    """``e`` passes ``point`` (J_ENTER, J_SERVICE_END) at station ``j``: start the clock of each
    journey from there that it is not on yet and whose classes include its class."""
    if not mi[mi[J_ST] + j] & (J_ENTER_BIT if point == J_ENTER else J_DONE_BIT):
        return  # the common case: no journey starts here
    n_c = mi[N_CLS]
    for k in range(mi[N_JRN]):
        if (
            mi[mi[J_FROM] + k] == j
            and mi[mi[J_MODE] + k] == point
            and ef[e, N_EF + k] < 0.0
            and mi[mi[J_CLS] + k * n_c + ei[e, E_CLS]]
        ):
            ef[e, N_EF + k] = t


@inlined
def _journeys_end(
    mi: np.ndarray, mf: np.ndarray, si: np.ndarray, sf: np.ndarray, ef: np.ndarray,
    hist: np.ndarray, e: int, i: int, t: float,
) -> None:  # fmt: skip
    """``e`` leaves station ``i``: stop (and count, at t >= warmup) the journeys ending there."""
    for k in range(mi[N_JRN]):
        t0 = ef[e, N_EF + k]
        if t0 >= 0.0 and mi[mi[J_TO] + k] == i:
            ef[e, N_EF + k] = -1.0
            if t >= mf[WARMUP]:
                x = t - t0
                row = si[SF_J] + 3 * k
                sf[row] += x
                sf[row + 1] += 1.0
                if x <= mf[mi[F_J_TARGET] + k]:
                    sf[row + 2] += 1.0
                hist_add(hist, si, sf, mi[N_ST] + mi[N_CLS] + k, x)


@inlined
def leave(
    mi: np.ndarray, mf: np.ndarray, si: np.ndarray, sf: np.ndarray, ef: np.ndarray,
    hist: np.ndarray, ser: np.ndarray, e: int, i: int, o: int, t: float, which: int,
) -> None:  # fmt: skip
    """``e`` leaves station ``i`` after service: release (what it holds of resource option
    ``o``, read before it joined its next station), count its held time, end journeys."""
    flush_station(mf, si, sf, ser, i, t)
    si[si[S_NIN] + i] -= 1
    release(mi, mf, si, sf, o, t, which)
    if t >= mf[WARMUP]:
        row = si[SF_ST] + i * N_ST_ACC
        sf[row + HELD_SUM] += t - ef[e, EF_DONE]
        sf[row + HELD_N] += 1.0
    if mi[mi[J_ST] + i] & J_LEAVE_BIT:
        _journeys_end(mi, mf, si, sf, ef, hist, e, i, t)


@hot
def draw_route(mi: np.ndarray, mf: np.ndarray, rng: np.ndarray, j: int, c: int) -> int:
    """A routing row of station ``j`` for class ``c`` (stream ``routing:<station>``; no draw
    when the table has one row)."""
    row = j * mi[N_CLS] + c
    k = mi[mi[RT_OFF] + row]
    if mi[mi[RT_OFF] + row + 1] - k > 1:
        u = uniform(rng, mi[N_ARR] + 3 * j + 2)
        cum = mi[F_RT_CUM]
        while u >= mf[cum + k]:
            k += 1
    return int(k)


@hot
def release_at(
    mi: np.ndarray, mf: np.ndarray, ei: np.ndarray, rng: np.ndarray, e: int, j: int,
    now: float, end: float,
) -> float:  # fmt: skip
    """The end of ``e``'s service at station ``j`` (with release hours) decided at ``now``,
    whose natural end is ``end``: draws the route (kept in ``E_DEST`` as a routing row until
    the service ends) and, when that row is re-timed, ``_calendar.Calendar.release_at``'s rule
    with one uniform of stream ``release:<station>``."""
    k = draw_route(mi, mf, rng, j, ei[e, E_CLS])
    ei[e, E_DEST] = k
    if not mi[mi[RT_REL] + k] or not end < math.inf:
        return end
    r = mi[mi[REL] + j]
    u1 = uniform(rng, mi[N_ARR] + 4 * mi[N_ST] + r)
    cum = mi[F_REL_CUM] + 25 * r
    h = 0
    while u1 >= mf[cum + h + 1]:  # inf after the last hour with a positive share
        h += 1
    frac = (u1 - mf[cum + h]) / mf[mi[F_REL_SH] + 24 * r + h]
    frac = min(max(frac, 0.0), 1.0 - 1e-12)
    x = 60.0 * (h + frac)
    mpu = mf[MPU]
    w0 = mf[mi[F_REL_ANCHOR] + r] - 720.0  # start of the anchored day (minutes of day)
    p = (mf[START] + end * mpu - w0) % 1440.0  # natural end within it
    q = (x - w0) % 1440.0  # the drawn clock time within it
    out = end + (q - p) / mpu
    if out < now:
        out += 1440.0 / mpu
    return float(out)


@inlined
def _start(
    mi: np.ndarray, mf: np.ndarray, si: np.ndarray, sf: np.ndarray, ei: np.ndarray,
    ef: np.ndarray, ht: np.ndarray, hq: np.ndarray, hist: np.ndarray, rng: np.ndarray,
    e: int, t: float,
) -> None:  # fmt: skip
    """Start ``e``'s service at its station: seize the first free resource option (the caller
    checked there is one), record the wait, draw the service time."""
    j = ei[e, E_ST]
    ei[e, E_STAT] = ST_SERVICE
    ei[e, E_RSEQ] = -1
    ei[e, E_OSEQ] = -1
    o = _available(mi, si, j)
    ei[e, E_OPT] = o
    seize(mi, mf, si, sf, o, t)
    if t >= mf[WARMUP]:
        w = t - ef[e, EF_JOINED]
        row = si[SF_ST] + j * N_ST_ACC
        sf[row + WAIT_SUM] += w
        sf[row + WAIT_N] += 1.0
        if w <= mf[mi[F_TARGET] + j]:
            sf[row + WITHIN] += 1.0
        hist_add(hist, si, sf, j, w)
    d = mi[mi[SVC] + j * mi[N_CLS] + ei[e, E_CLS]]
    kind = mi[mi[D_KIND] + d]
    if kind == EXPONENTIAL:  # the common case without a call to draw(), same arithmetic
        s = -mf[mi[F_D_PAR] + 4 * d] * math.log(1.0 - uniform(rng, mi[N_ARR] + 3 * j))
    else:
        s = draw(rng, mi[N_ARR] + 3 * j, kind, mf, mi[F_D_PAR] + 4 * d)
    t_end = t + s
    if mi[mi[REL] + j] >= 0:
        t_end = release_at(mi, mf, ei, rng, e, j, t, t_end)
    if t_end < mf[HORIZON]:
        push(si, ht, hq, t_end, e * 8 + EV_DONE)


@inlined
def enqueue(mi: np.ndarray, si: np.ndarray, ei: np.ndarray, ef: np.ndarray, e: int, j: int) -> None:
    c = ei[e, E_CLS]
    if mi[mi[PRIO] + j]:
        ei[e, E_KEY] = mi[mi[CLS_PRIO] + c]
        ei[e, E_LVL] = mi[mi[CLS_LVL] + c]
    else:
        ei[e, E_KEY] = 0
        ei[e, E_LVL] = 0
    ei[e, E_STAT] = ST_WAIT
    q_insert(si, ei, ef, j * mi[N_LVL] + ei[e, E_LVL], e)
    si[si[S_NWAIT] + j] += 1
    si[NWAIT] += 1


@hot
def _room(mi: np.ndarray, si: np.ndarray, j: int) -> int:
    """Rule 1 (start now: 1) or 2 (queue: 2) of "Joining a station" for ``j``; 0 if full."""
    n_wait = si[si[S_NWAIT] + j]
    if n_wait == 0 and _available(mi, si, j) >= 0:
        return 1
    qc = mi[mi[QCAP] + j]
    return 2 if qc < 0 or n_wait < qc else 0


@inlined
def join(
    mi: np.ndarray, mf: np.ndarray, si: np.ndarray, sf: np.ndarray, ei: np.ndarray,
    ef: np.ndarray, ht: np.ndarray, hq: np.ndarray, hist: np.ndarray, ser: np.ndarray,
    rng: np.ndarray, e: int, j: int, t: float,
) -> bool:  # fmt: skip
    """ "Joining a station", rules 1-2; False when ``j`` is full (the caller applies rule 3)."""
    room = _room(mi, si, j)
    if room == 0:
        return False
    enter(mf, si, sf, ei, ef, ser, e, j, t)
    if room == 1:
        _start(mi, mf, si, sf, ei, ef, ht, hq, hist, rng, e, t)
        return True
    enqueue(mi, si, ei, ef, e, j)
    d = mi[mi[PAT] + j * mi[N_CLS] + ei[e, E_CLS]]
    if d >= 0:
        p = draw(rng, mi[N_ARR] + 3 * j + 1, mi[mi[D_KIND] + d], mf, mi[F_D_PAR] + 4 * d)
        if t + p < mf[HORIZON]:
            ei[e, E_RSEQ] = push(si, ht, hq, t + p, e * 8 + EV_RENEGE)
    t_offer = t + mf[mi[F_OW_AFTER] + j]  # inf without on_wait
    if t_offer < mf[HORIZON]:
        ei[e, E_OSEQ] = push(si, ht, hq, t_offer, e * 8 + EV_ONWAIT)
    return True


@hot
def _head(mi: np.ndarray, si: np.ndarray, j: int) -> int:
    base = si[S_QHEAD] + j * mi[N_LVL]
    for lv in range(mi[N_LVL] if mi[mi[PRIO] + j] else 1):
        h = si[base + lv]
        if h >= 0:
            return int(h)
    return -1


@hot
def _before(mi: np.ndarray, ei: np.ndarray, ef: np.ndarray, a: int, b: int) -> bool:
    """Whether head ``a`` ranks before head ``b``: (station dispatch priority, class priority
    key, time joined, sequence)."""
    pa = mi[mi[DPRIO] + ei[a, E_ST]]
    pb = mi[mi[DPRIO] + ei[b, E_ST]]
    if pa != pb:
        return bool(pa < pb)
    if ei[a, E_KEY] != ei[b, E_KEY]:
        return bool(ei[a, E_KEY] < ei[b, E_KEY])
    if ef[a, EF_JOINED] != ef[b, EF_JOINED]:
        return bool(ef[a, EF_JOINED] < ef[b, EF_JOINED])
    return bool(ei[a, E_SEQ] < ei[b, E_SEQ])


@inlined
def dispatch(
    mi: np.ndarray, mf: np.ndarray, si: np.ndarray, sf: np.ndarray, ei: np.ndarray,
    ef: np.ndarray, ht: np.ndarray, hq: np.ndarray, hist: np.ndarray, ser: np.ndarray,
    rng: np.ndarray, t: float,
) -> None:  # fmt: skip
    """The dispatch rule: admit blocked entities, then start heads, until nothing changes."""
    n_st = mi[N_ST]
    while True:
        changed = 0
        if si[NBLK] > 0:
            for j in range(n_st):
                while si[si[S_NBLK] + j] > 0 and _room(mi, si, j) > 0:
                    e = si[si[S_BHEAD] + j]
                    nxt = ei[e, E_NXT]
                    si[si[S_BHEAD] + j] = nxt
                    if nxt < 0:
                        si[si[S_BTAIL] + j] = -1
                    ei[e, E_NXT] = -1
                    si[si[S_NBLK] + j] -= 1
                    si[NBLK] -= 1
                    i = ei[e, E_ST]
                    o = ei[e, E_OPT]
                    join(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng, e, j, t)
                    leave(mi, mf, si, sf, ef, hist, ser, e, i, o, t, KEPT)
                    journeys_start(mi, ei, ef, e, j, J_ENTER, t)
                    changed += 1
        while True:
            best = -1
            bj = -1
            for j in range(n_st):
                if si[si[S_NWAIT] + j] > 0:
                    h = _head(mi, si, j)
                    if (best < 0 or _before(mi, ei, ef, h, best)) and _available(mi, si, j) >= 0:
                        best = h
                        bj = j
            if best < 0:
                break
            flush_station(mf, si, sf, ser, bj, t)
            q_remove(si, ei, bj * mi[N_LVL] + ei[best, E_LVL], best)
            si[si[S_NWAIT] + bj] -= 1
            si[NWAIT] -= 1
            _start(mi, mf, si, sf, ei, ef, ht, hq, hist, rng, best, t)
            changed += si[NBLK]  # a start frees a queue place: blocked entities may enter
        if changed == 0:
            return
