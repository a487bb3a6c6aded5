"""The event loop of the fast engine: docs/semantics.md, rule by rule, compiled with numba.

Times are model time in the spec's ``time_unit``. Array layouts are in ``_layout.py``; event
helpers take the same bundle ``mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng`` (model, state,
entities, heap, histograms, series, random streams). Stream rows of ``rng``: arrival stream
``a`` is row ``a``; station ``j`` uses rows ``A + 3j`` (service), ``A + 3j + 1`` (patience)
and ``A + 3j + 2`` (routing), ``A`` being the number of arrival streams.
"""

from __future__ import annotations

import numpy as np

from ._compile import Initial, Model
from ._jit import hot, inlined, kernel
from ._layout import (
    A_BAT_OFF,
    A_CONST,
    A_KIND,
    A_MIX_N,
    A_ST,
    ABANDONED,
    ARRIVALS,
    BALKED,
    BAT_VAL,
    BLOCK,
    CAP_R,
    CAP_V,
    CLS_LVL,
    CLS_PRIO,
    D_KIND,
    E_CLS,
    E_DEST,
    E_KEY,
    E_LVL,
    E_NXT,
    E_RSEQ,
    E_SEQ,
    E_ST,
    E_STAT,
    EF_DONE,
    EF_ENTER,
    EF_JOINED,
    EV_ARRIVAL,
    EV_CAPACITY,
    EV_DONE,
    EV_RENEGE,
    EV_SCHEDULED,
    EV_WINDOW,
    F_A_MIX,
    F_A_RATE,
    F_A_RMAX,
    F_BAT_CUM,
    F_CAP_T,
    F_D_PAR,
    F_RT_CUM,
    F_SC_T,
    F_TARGET,
    F_WIN_A,
    F_WIN_B,
    HELD_N,
    HELD_SUM,
    HN,
    HORIZON,
    KEEP_AMT,
    MAX_NEW,
    MPU,
    N_ARR,
    N_BINS,
    N_CAP,
    N_CLS,
    N_LVL,
    N_RES,
    N_ST,
    N_ST_ACC,
    NBLK,
    NEED_AMT,
    NEED_OFF,
    NEED_RES,
    NLIVE,
    NWAIT,
    PAT,
    POOL,
    PRIO,
    QCAP,
    R_CAP0,
    RT_CLS,
    RT_DEST,
    RT_OFF,
    S_BHEAD,
    S_BTAIL,
    S_NBLK,
    S_NIN,
    S_NWAIT,
    S_QHEAD,
    S_RCAP,
    S_RUSE,
    SC_A,
    SC_N,
    SC_OFF,
    SERVED,
    SF_C,
    SF_ST,
    ST_BLOCKED,
    ST_HELD,
    ST_SERVICE,
    ST_WAIT,
    START,
    SVC,
    WAIT_N,
    WAIT_SUM,
    WARMUP,
    WIN,
    WITHIN,
)
from ._random import draw, exponential, uniform
from ._state import (
    alloc,
    flush_resource,
    flush_station,
    free,
    grow_ents,
    grow_heap,
    hist_add,
    new_state,
    pop,
    push,
    q_insert,
    q_remove,
)

__all__ = ["simulate"]

_ALL, _REST, _KEPT = 0, 1, 2  # which of a station's resources to release


# ----- resources -------------------------------------------------------------------------------
@hot
def _available(mi: np.ndarray, si: np.ndarray, j: int) -> bool:
    """Whether station ``j``'s resources are all available in the needed amounts."""
    use = si[S_RUSE]
    cap = si[S_RCAP]
    for k in range(mi[mi[NEED_OFF] + j], mi[mi[NEED_OFF] + j + 1]):
        r = mi[mi[NEED_RES] + k]
        if si[cap + r] - si[use + r] < mi[mi[NEED_AMT] + k]:
            return False
    return True


@hot
def _seize(
    mi: np.ndarray, mf: np.ndarray, si: np.ndarray, sf: np.ndarray, j: int, t: float
) -> None:
    """Seize all of station ``j``'s resources (over-commitment allowed)."""
    for k in range(mi[mi[NEED_OFF] + j], mi[mi[NEED_OFF] + j + 1]):
        r = mi[mi[NEED_RES] + k]
        flush_resource(mf, si, sf, r, t)
        si[si[S_RUSE] + r] += mi[mi[NEED_AMT] + k]


@hot
def _release(
    mi: np.ndarray, mf: np.ndarray, si: np.ndarray, sf: np.ndarray, j: int, t: float, which: int
) -> None:
    """Release station ``j``'s resources: all, all but the blocking-kept ones, or only those."""
    for k in range(mi[mi[NEED_OFF] + j], mi[mi[NEED_OFF] + j + 1]):
        amount = mi[mi[NEED_AMT] + k]
        kept = mi[mi[KEEP_AMT] + k]
        if which == _REST:
            amount -= kept
        elif which == _KEPT:
            amount = kept
        if amount != 0:
            r = mi[mi[NEED_RES] + k]
            flush_resource(mf, si, sf, r, t)
            si[si[S_RUSE] + r] -= amount


# ----- stations ----------------------------------------------------------------------------------
@hot
def _enter(
    mf: np.ndarray, si: np.ndarray, sf: np.ndarray, ei: np.ndarray, ef: np.ndarray,
    ser: np.ndarray, e: int, j: int, t: float,
) -> None:  # fmt: skip
    flush_station(mf, si, sf, ser, j, t)
    si[si[S_NIN] + j] += 1
    ei[e, E_ST] = j
    ef[e, EF_JOINED] = t


@inlined
def _leave(
    mi: np.ndarray, mf: np.ndarray, si: np.ndarray, sf: np.ndarray, ef: np.ndarray,
    ser: np.ndarray, e: int, i: int, t: float, which: int,
) -> None:  # fmt: skip
    """``e`` leaves station ``i`` after service: release, count its held time."""
    flush_station(mf, si, sf, ser, i, t)
    si[si[S_NIN] + i] -= 1
    _release(mi, mf, si, sf, i, t, which)
    if t >= mf[WARMUP]:
        row = si[SF_ST] + i * N_ST_ACC
        sf[row + HELD_SUM] += t - ef[e, EF_DONE]
        sf[row + HELD_N] += 1.0


@inlined
def _start(
    mi: np.ndarray, mf: np.ndarray, si: np.ndarray, sf: np.ndarray, ei: np.ndarray,
    ef: np.ndarray, ht: np.ndarray, hq: np.ndarray, hist: np.ndarray, rng: np.ndarray,
    e: int, t: float,
) -> None:  # fmt: skip
    """Start ``e``'s service at its station: seize, record the wait, draw the service time."""
    j = ei[e, E_ST]
    ei[e, E_STAT] = ST_SERVICE
    ei[e, E_RSEQ] = -1
    _seize(mi, mf, si, sf, j, t)
    if t >= mf[WARMUP]:
        w = t - ef[e, EF_JOINED]
        row = si[SF_ST] + j * N_ST_ACC
        sf[row + WAIT_SUM] += w
        sf[row + WAIT_N] += 1.0
        if w <= mf[mi[F_TARGET] + j]:
            sf[row + WITHIN] += 1.0
        hist_add(hist, si, sf, j, w)
    d = mi[mi[SVC] + j * mi[N_CLS] + ei[e, E_CLS]]
    s = draw(rng, mi[N_ARR] + 3 * j, mi[mi[D_KIND] + d], mf, mi[F_D_PAR] + 4 * d)
    if t + s < mf[HORIZON]:
        push(si, ht, hq, t + s, e * 8 + EV_DONE)


@inlined
def _enqueue(
    mi: np.ndarray, si: np.ndarray, ei: np.ndarray, ef: np.ndarray, e: int, j: int
) -> None:
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
    if n_wait == 0 and _available(mi, si, j):
        return 1
    qc = mi[mi[QCAP] + j]
    return 2 if qc < 0 or n_wait < qc else 0


@inlined
def _join(
    mi: np.ndarray, mf: np.ndarray, si: np.ndarray, sf: np.ndarray, ei: np.ndarray,
    ef: np.ndarray, ht: np.ndarray, hq: np.ndarray, hist: np.ndarray, ser: np.ndarray,
    rng: np.ndarray, e: int, j: int, t: float,
) -> bool:  # fmt: skip
    """ "Joining a station", rules 1-2; False when ``j`` is full (the caller applies rule 3)."""
    room = _room(mi, si, j)
    if room == 0:
        return False
    _enter(mf, si, sf, ei, ef, ser, e, j, t)
    if room == 1:
        _start(mi, mf, si, sf, ei, ef, ht, hq, hist, rng, e, t)
        return True
    _enqueue(mi, si, ei, ef, e, j)
    d = mi[mi[PAT] + j * mi[N_CLS] + ei[e, E_CLS]]
    if d >= 0:
        p = draw(rng, mi[N_ARR] + 3 * j + 1, mi[mi[D_KIND] + d], mf, mi[F_D_PAR] + 4 * d)
        if t + p < mf[HORIZON]:
            ei[e, E_RSEQ] = push(si, ht, hq, t + p, e * 8 + EV_RENEGE)
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
def _before(ei: np.ndarray, ef: np.ndarray, a: int, b: int) -> bool:
    """Whether head ``a`` ranks before head ``b``: (priority key, time joined, sequence)."""
    if ei[a, E_KEY] != ei[b, E_KEY]:
        return bool(ei[a, E_KEY] < ei[b, E_KEY])
    if ef[a, EF_JOINED] != ef[b, EF_JOINED]:
        return bool(ef[a, EF_JOINED] < ef[b, EF_JOINED])
    return bool(ei[a, E_SEQ] < ei[b, E_SEQ])


@hot
def _dispatch(
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
                    _join(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng, e, j, t)
                    _leave(mi, mf, si, sf, ef, ser, e, i, t, _KEPT)
                    changed += 1
        while True:
            best = -1
            bj = -1
            for j in range(n_st):
                if si[si[S_NWAIT] + j] > 0:
                    h = _head(mi, si, j)
                    if (best < 0 or _before(ei, ef, h, best)) and _available(mi, si, j):
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


# ----- events ------------------------------------------------------------------------------------
@hot
def _in_window(mi: np.ndarray, mf: np.ndarray, j: int, t: float) -> bool:
    """Calendar.in_window: the wall clock at ``t`` is inside station ``j``'s daily window."""
    a = mf[mi[F_WIN_A] + j]
    b = mf[mi[F_WIN_B] + j]
    x = (mf[START] + t * mf[MPU]) % 1440.0
    if a < b:
        return bool(a <= x < b)
    return bool(x >= a or x < b)


@hot
def _window_opens(mi: np.ndarray, mf: np.ndarray, j: int, t: float) -> float:
    """Calendar.next_wall(t, window start, 1440): when station ``j``'s window next opens."""
    now = (mf[START] + t * mf[MPU]) % 1440.0
    delta = (mf[mi[F_WIN_A] + j] - now) % 1440.0
    return float(t + delta / mf[MPU])


@inlined
def _move_on(
    mi: np.ndarray, mf: np.ndarray, si: np.ndarray, sf: np.ndarray, ei: np.ndarray,
    ef: np.ndarray, ht: np.ndarray, hq: np.ndarray, hist: np.ndarray, ser: np.ndarray,
    rng: np.ndarray, e: int, t: float,
) -> None:  # fmt: skip
    """ "After service", step 3: exit, join the destination, block, or be lost."""
    i = ei[e, E_ST]
    d = ei[e, E_DEST]
    if d < 0:
        _leave(mi, mf, si, sf, ef, ser, e, i, t, _ALL)
        if t >= mf[WARMUP]:
            c = ei[e, E_CLS]
            tis = t - ef[e, EF_ENTER]
            row = si[SF_C] + 3 * c
            sf[row] += tis
            sf[row + 1] += 1.0
            hist_add(hist, si, sf, mi[N_ST] + c, tis)
        free(si, ei, e)
    elif _join(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng, e, d, t):
        _leave(mi, mf, si, sf, ef, ser, e, i, t, _ALL)
    elif mi[mi[BLOCK] + i]:
        _release(mi, mf, si, sf, i, t, _REST)
        ei[e, E_STAT] = ST_BLOCKED
        ei[e, E_NXT] = -1
        tail = si[si[S_BTAIL] + d]
        if tail >= 0:
            ei[tail, E_NXT] = e
        else:
            si[si[S_BHEAD] + d] = e
        si[si[S_BTAIL] + d] = e
        si[si[S_NBLK] + d] += 1
        si[NBLK] += 1
    else:
        if t >= mf[WARMUP]:
            sf[si[SF_ST] + d * N_ST_ACC + BALKED] += 1.0
        _leave(mi, mf, si, sf, ef, ser, e, i, t, _ALL)
        free(si, ei, e)


@inlined
def _done(
    mi: np.ndarray, mf: np.ndarray, si: np.ndarray, sf: np.ndarray, ei: np.ndarray,
    ef: np.ndarray, ht: np.ndarray, hq: np.ndarray, hist: np.ndarray, ser: np.ndarray,
    rng: np.ndarray, e: int, t: float,
) -> None:  # fmt: skip
    """Service completion: count, route (maybe change class), wait for the window or move on."""
    i = ei[e, E_ST]
    if t >= mf[WARMUP]:
        sf[si[SF_ST] + i * N_ST_ACC + SERVED] += 1.0
    row = i * mi[N_CLS] + ei[e, E_CLS]
    k = mi[mi[RT_OFF] + row]
    if mi[mi[RT_OFF] + row + 1] - k > 1:
        u = uniform(rng, mi[N_ARR] + 3 * i + 2)
        cum = mi[F_RT_CUM]
        while u >= mf[cum + k]:
            k += 1
    ei[e, E_DEST] = mi[mi[RT_DEST] + k]
    if mi[mi[RT_CLS] + k] >= 0:
        ei[e, E_CLS] = mi[mi[RT_CLS] + k]
    ef[e, EF_DONE] = t
    ei[e, E_STAT] = ST_HELD
    if mi[mi[WIN] + i] and not _in_window(mi, mf, i, t):
        t_open = _window_opens(mi, mf, i, t)
        if t_open < mf[HORIZON]:
            push(si, ht, hq, t_open, e * 8 + EV_WINDOW)
        return
    _move_on(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng, e, t)


@inlined
def _renege(
    mi: np.ndarray, mf: np.ndarray, si: np.ndarray, sf: np.ndarray, ei: np.ndarray,
    ser: np.ndarray, e: int, seq: int, t: float,
) -> bool:  # fmt: skip
    """Patience ran out: leave the queue and the system. False for a stale event."""
    if ei[e, E_STAT] != ST_WAIT or ei[e, E_RSEQ] != seq:
        return False
    j = ei[e, E_ST]
    flush_station(mf, si, sf, ser, j, t)
    q_remove(si, ei, j * mi[N_LVL] + ei[e, E_LVL], e)
    si[si[S_NWAIT] + j] -= 1
    si[NWAIT] -= 1
    si[si[S_NIN] + j] -= 1
    if t >= mf[WARMUP]:
        sf[si[SF_ST] + j * N_ST_ACC + ABANDONED] += 1.0
        sf[si[SF_C] + 3 * ei[e, E_CLS] + 2] += 1.0
    free(si, ei, e)
    return True


@inlined
def _arrive(
    mi: np.ndarray, mf: np.ndarray, si: np.ndarray, sf: np.ndarray, ei: np.ndarray,
    ef: np.ndarray, ht: np.ndarray, hq: np.ndarray, hist: np.ndarray, ser: np.ndarray,
    rng: np.ndarray, a: int, n: int, t: float,
) -> None:  # fmt: skip
    """``n`` entities of stream ``a`` arrive one after another; classes drawn from its mix."""
    j = mi[mi[A_ST] + a]
    if t >= mf[WARMUP]:
        si[ARRIVALS] += n
    mix = mi[F_A_MIX] + a * mi[N_CLS]
    for _ in range(n):
        u = uniform(rng, a) if mi[mi[A_MIX_N] + a] > 1 else 0.0
        c = 0
        while u >= mf[mix + c]:  # cumulative; the last class with p > 0 holds inf
            c += 1
        e = alloc(si, ei, ef, c, t)
        if not _join(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng, e, j, t):
            if t >= mf[WARMUP]:
                sf[si[SF_ST] + j * N_ST_ACC + BALKED] += 1.0
            free(si, ei, e)


@hot
def _next_poisson(mi: np.ndarray, mf: np.ndarray, rng: np.ndarray, a: int, t: float) -> float:
    """Next arrival time of Poisson stream ``a`` after ``t`` (thinning when it has a profile)."""
    rmax = mf[mi[F_A_RMAX] + a]
    mean = 1.0 / rmax
    if mi[mi[A_CONST] + a]:
        return t + exponential(rng, a, mean)
    rates = mi[F_A_RATE] + 168 * a
    while True:
        t += exponential(rng, a, mean)
        if t >= mf[HORIZON]:
            return t
        h = int(((mf[START] + t * mf[MPU]) % 10080.0) // 60.0)
        if h > 167:
            h = 167
        if uniform(rng, a) * rmax < mf[rates + h]:
            return t


@hot
def _batch(mi: np.ndarray, mf: np.ndarray, rng: np.ndarray, a: int) -> int:
    """Batch size of an arrival of stream ``a`` (1 without a batch table)."""
    lo = mi[mi[A_BAT_OFF] + a]
    hi = mi[mi[A_BAT_OFF] + a + 1]
    if hi == lo:
        return 1
    k = lo
    if hi - lo > 1:
        u = uniform(rng, a)
        while u >= mf[mi[F_BAT_CUM] + k]:
            k += 1
    return int(mi[mi[BAT_VAL] + k])


@hot
def _event(
    mi: np.ndarray, mf: np.ndarray, si: np.ndarray, sf: np.ndarray, ei: np.ndarray,
    ef: np.ndarray, ht: np.ndarray, hq: np.ndarray, hist: np.ndarray, ser: np.ndarray,
    rng: np.ndarray, t: float, seq: int, kind: int, x: int,
) -> None:  # fmt: skip
    """Handle one event of type ``kind`` with datum ``x``, then run the dispatcher."""
    horizon = mf[HORIZON]
    if kind == EV_DONE:
        _done(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng, x, t)
    elif kind == EV_ARRIVAL:
        _arrive(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng, x, _batch(mi, mf, rng, x), t)
        t1 = _next_poisson(mi, mf, rng, x, t)
        if t1 < horizon:
            push(si, ht, hq, t1, x * 8 + EV_ARRIVAL)
    elif kind == EV_RENEGE:
        if not _renege(mi, mf, si, sf, ei, ser, x, seq, t):
            return
    elif kind == EV_WINDOW:
        _move_on(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng, x, t)
    elif kind == EV_SCHEDULED:
        a = mi[mi[SC_A] + x]
        _arrive(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng, a, mi[mi[SC_N] + x], t)
        t1 = mf[mi[F_SC_T] + x + 1]
        if x + 1 < mi[mi[SC_OFF] + a + 1] and t1 < horizon:
            push(si, ht, hq, t1, (x + 1) * 8 + EV_SCHEDULED)
    else:  # EV_CAPACITY
        r = mi[mi[CAP_R] + x]
        flush_resource(mf, si, sf, r, t)
        si[si[S_RCAP] + r] = mi[mi[CAP_V] + x]
        if x + 1 < mi[N_CAP]:
            push(si, ht, hq, mf[mi[F_CAP_T] + x + 1], (x + 1) * 8 + EV_CAPACITY)
    if si[NWAIT] > 0 or si[NBLK] > 0:  # otherwise there is nothing to dispatch
        _dispatch(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng, t)


# ----- the run -----------------------------------------------------------------------------------
@kernel
def simulate(
    model: Model, rng: np.ndarray, ini: Initial
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One replication from t = 0 to the horizon; returns ``si, sf, hist, ser`` (see
    ``_layout.py``) with the accumulators over [warmup, horizon]."""
    mi = model.mi
    mf = model.mf
    n_ini = ini.st.shape[0]
    n0 = max(256, 2 * n_ini + 4 * mi[MAX_NEW])
    si, sf, ei, ef, ht, hq, hist = new_state(mi, n0, 2 * n0 + mi[N_ARR] + 8)
    ser = np.zeros((mi[N_ST], mi[N_BINS]), np.float64)
    for r in range(mi[N_RES]):
        si[si[S_RCAP] + r] = mi[mi[R_CAP0] + r]
    # warm start: place the initial entities in order, then dispatch at t = 0
    for k in range(n_ini):
        j = ini.st[k]
        e = alloc(si, ei, ef, ini.cls[k], ini.enter[k])
        _enter(mf, si, sf, ei, ef, ser, e, j, 0.0)
        ef[e, EF_JOINED] = ini.joined[k]
        if ini.in_service[k]:
            ei[e, E_STAT] = ST_SERVICE
            _seize(mi, mf, si, sf, j, 0.0)
            if ini.t_end[k] < mf[HORIZON]:
                push(si, ht, hq, ini.t_end[k], e * 8 + EV_DONE)
        else:
            _enqueue(mi, si, ei, ef, e, j)
            if ini.t_end[k] < mf[HORIZON]:
                ei[e, E_RSEQ] = push(si, ht, hq, ini.t_end[k], e * 8 + EV_RENEGE)
    _dispatch(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng, 0.0)
    if mi[N_CAP] > 0:
        push(si, ht, hq, mf[mi[F_CAP_T]], EV_CAPACITY)
    for a in range(mi[N_ARR]):
        if mi[mi[A_KIND] + a] == 0:
            t1 = _next_poisson(mi, mf, rng, a, 0.0)
            if t1 < mf[HORIZON]:
                push(si, ht, hq, t1, a * 8 + EV_ARRIVAL)
        else:
            k = mi[mi[SC_OFF] + a]
            if k < mi[mi[SC_OFF] + a + 1]:
                push(si, ht, hq, mf[mi[F_SC_T] + k], k * 8 + EV_SCHEDULED)

    horizon = mf[HORIZON]
    while si[HN] > 0:
        need = si[HN] + 2 * (si[NLIVE] + mi[MAX_NEW]) + 8
        if need > ht.shape[0]:
            ht, hq = grow_heap(ht, hq, 2 * need)
        if si[NLIVE] + mi[MAX_NEW] > ei.shape[0]:
            ei, ef = grow_ents(si, ei, ef, 2 * (si[NLIVE] + mi[MAX_NEW]))
        t, seq, p = pop(si, ht, hq)
        if t >= horizon:
            break
        _event(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng, t, seq, p & 7, p >> 3)

    for j in range(mi[N_ST]):
        flush_station(mf, si, sf, ser, j, horizon)
    for r in range(mi[N_RES]):
        flush_resource(mf, si, sf, r, horizon)
    si[POOL] = ei.shape[0]
    return si, sf, hist, ser
