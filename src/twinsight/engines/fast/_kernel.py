"""The event loop of the fast engine: docs/semantics.md, rule by rule, compiled with numba.

Events (arrivals, completions, release windows, capacity steps) are here; what happens at a
station (joining, starting, leaving, the dispatcher) is in ``_stations.py``, the events of a
waiting entity (patience, ``on_wait`` offers) in ``_waiting.py``.
Times are model time in the spec's ``time_unit``. Array layouts are in ``_layout.py``; event
helpers take the same bundle ``mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng`` (model, state,
entities, heap, histograms, series, random streams). Stream rows of ``rng``: arrival stream
``a`` is row ``a``; station ``j`` uses rows ``A + 3j`` (service), ``A + 3j + 1`` (patience)
and ``A + 3j + 2`` (routing), then ``A + 3S + j`` (on_wait offers), ``A`` being the number of
arrival streams and ``S`` of stations.
"""

from __future__ import annotations

import numpy as np

from ._compile import Initial, Model
from ._jit import hot, inlined, kernel
from ._layout import (
    A_BAT_OFF,
    A_CONST,
    A_D_OFF,
    A_KIND,
    A_MIX_N,
    A_ST,
    ARRIVALS,
    BALKED,
    BAT_VAL,
    BLOCK,
    CAP_LEN,
    CAP_R,
    CAP_V,
    E_CLS,
    E_DEST,
    E_NXT,
    E_OPT,
    E_OSEQ,
    E_RSEQ,
    E_ST,
    E_STAT,
    EF_DONE,
    EF_ENTER,
    EF_JOINED,
    EV_ARRIVAL,
    EV_CAPACITY,
    EV_DONE,
    EV_ONWAIT,
    EV_RENEGE,
    EV_SCHEDULED,
    EV_WINDOW,
    F_A_DATED,
    F_A_DSTEP,
    F_A_MIX,
    F_A_RATE,
    F_A_RMAX,
    F_BAT_CUM,
    F_CAP_T,
    F_OW_AFTER,
    F_SC_T,
    F_WIN_A,
    F_WIN_B,
    HN,
    HORIZON,
    J_ENTER,
    J_SERVICE_END,
    MAX_NEW,
    MPU,
    N_ARR,
    N_BINS,
    N_CAP,
    N_CLS,
    N_RES,
    N_ST,
    N_ST_ACC,
    NBLK,
    NLIVE,
    NWAIT,
    OPT_OFF,
    POOL,
    R_CAP0,
    REL,
    RT_CLS,
    RT_DEST,
    S_BHEAD,
    S_BTAIL,
    S_NBLK,
    S_RCAP,
    SC_LEN,
    SC_N,
    SC_OFF,
    SERVED,
    SF_C,
    SF_ST,
    ST_BLOCKED,
    ST_HELD,
    ST_SERVICE,
    START,
    WARMUP,
    WIN,
)
from ._random import exponential, uniform
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
)
from ._stations import (
    ALL,
    REST,
    dispatch,
    draw_route,
    enqueue,
    enter,
    join,
    journeys_start,
    leave,
    release,
    release_at,
    seize,
)
from ._waiting import offer, renege

__all__ = ["simulate"]


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
    o = ei[e, E_OPT]  # join() below overwrites it when e starts at once at d
    d = ei[e, E_DEST]
    if d < 0:
        leave(mi, mf, si, sf, ef, hist, ser, e, i, o, t, ALL)
        if t >= mf[WARMUP]:
            c = ei[e, E_CLS]
            tis = t - ef[e, EF_ENTER]
            row = si[SF_C] + 3 * c
            sf[row] += tis
            sf[row + 1] += 1.0
            hist_add(hist, si, sf, mi[N_ST] + c, tis)
        free(si, ei, e)
    elif join(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng, e, d, t):
        leave(mi, mf, si, sf, ef, hist, ser, e, i, o, t, ALL)
        journeys_start(mi, ei, ef, e, d, J_ENTER, t)  # after leave: end at i, then start at d
    elif mi[mi[BLOCK] + i]:
        release(mi, mf, si, sf, o, t, REST)
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
        leave(mi, mf, si, sf, ef, hist, ser, e, i, o, t, ALL)
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
    drawn = mi[mi[REL] + i] >= 0  # release hours: the routing row was drawn at service start
    k = ei[e, E_DEST] if drawn else draw_route(mi, mf, rng, i, ei[e, E_CLS])
    ei[e, E_DEST] = mi[mi[RT_DEST] + k]
    if mi[mi[RT_CLS] + k] >= 0:
        ei[e, E_CLS] = mi[mi[RT_CLS] + k]
    ef[e, EF_DONE] = t
    ei[e, E_STAT] = ST_HELD
    journeys_start(mi, ei, ef, e, i, J_SERVICE_END, t)
    if mi[mi[WIN] + i] and not _in_window(mi, mf, i, t):
        t_open = _window_opens(mi, mf, i, t)
        if t_open < mf[HORIZON]:
            push(si, ht, hq, t_open, e * 8 + EV_WINDOW)
        return
    _move_on(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng, e, t)


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
        if join(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng, e, j, t):
            journeys_start(mi, ei, ef, e, j, J_ENTER, t)
        else:
            if t >= mf[WARMUP]:
                sf[si[SF_ST] + j * N_ST_ACC + BALKED] += 1.0
            free(si, ei, e)


@inlined
def _next_poisson(mi: np.ndarray, mf: np.ndarray, rng: np.ndarray, a: int, t: float) -> float:
    """Next arrival time of Poisson stream ``a`` after ``t`` (thinning when it has a profile:
    the dated rate ``floor(t / step)`` while there is one, else the hour-of-week table's)."""
    rmax = mf[mi[F_A_RMAX] + a]
    mean = 1.0 / rmax
    if mi[mi[A_CONST] + a]:
        return t + exponential(rng, a, mean)
    rates = mi[F_A_RATE] + 168 * a
    d_lo = mi[mi[A_D_OFF] + a]
    n_dated = mi[mi[A_D_OFF] + a + 1] - d_lo
    step = mf[mi[F_A_DSTEP] + a]
    while True:
        t += exponential(rng, a, mean)
        if t >= mf[HORIZON]:
            return t
        k = int(t / step) if n_dated > 0 else n_dated
        if k < n_dated:
            rate = mf[mi[F_A_DATED] + d_lo + k]
        else:
            h = int(((mf[START] + t * mf[MPU]) % 10080.0) // 60.0)
            if h > 167:
                h = 167
            rate = mf[rates + h]
        if uniform(rng, a) * rmax < rate:
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
def _slot_time(mi: np.ndarray, mf: np.ndarray, off: int, n: int, m: int) -> float:
    """Time of occurrence ``m`` of a scheduled stream whose week has ``n`` slots from ``off``:
    first instant + whole weeks, the formula of ``_calendar.Cycle.occurrence``."""
    return float(mf[mi[F_SC_T] + off + m % n] + (m // n) * mf[SC_LEN])


@hot
def _step_time(mi: np.ndarray, mf: np.ndarray, m: int) -> float:
    """Time of occurrence ``m`` of the capacity cycle: first instant + whole cycles."""
    n = mi[N_CAP]
    return float(mf[mi[F_CAP_T] + m % n] + (m // n) * mf[CAP_LEN])


@inlined
def _event(
    mi: np.ndarray, mf: np.ndarray, si: np.ndarray, sf: np.ndarray, ei: np.ndarray,
    ef: np.ndarray, ht: np.ndarray, hq: np.ndarray, hist: np.ndarray, ser: np.ndarray,
    rng: np.ndarray, t: float, seq: int, kind: int, x: int,
) -> None:  # fmt: skip
    """Handle one event of type ``kind`` with datum ``x``, run the dispatcher, and only then put
    the stream's next event (arrival, slot, capacity step) on the list (docs/semantics.md, Time).

    Skipping the dispatcher: after every event the state is settled (no waiting head can start,
    no blocked entity has room; the dispatcher runs to a fixed point). An arrival only takes
    resources or queue places and adds entities that could not start; it frees nothing, so a
    dispatch after it would find nothing to do and change nothing: it is skipped.
    """
    horizon = mf[HORIZON]
    t_next = -1.0
    p_next = 0
    if kind == EV_ARRIVAL:
        # tested first: about half of all events; no dispatch after it (see above)
        _arrive(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng, x, _batch(mi, mf, rng, x), t)
        t1 = _next_poisson(mi, mf, rng, x, t)
        if t1 < horizon:
            push(si, ht, hq, t1, x * 8 + EV_ARRIVAL)
        return
    if kind == EV_DONE:
        _done(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng, x, t)
    elif kind == EV_RENEGE:
        if not renege(mi, mf, si, sf, ei, ser, x, seq, t):
            return
    elif kind == EV_ONWAIT:
        if not offer(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng, x, seq, t):
            return
    elif kind == EV_WINDOW:
        _move_on(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng, x, t)
    elif kind == EV_SCHEDULED:  # x = occurrence * N_ARR + stream
        a = x % mi[N_ARR]
        m = x // mi[N_ARR]
        off = mi[mi[SC_OFF] + a]
        n_a = mi[mi[SC_OFF] + a + 1] - off
        _arrive(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng, a, mi[mi[SC_N] + off + m % n_a], t)
        t1 = _slot_time(mi, mf, off, n_a, m + 1)
        if t1 < horizon:
            push(si, ht, hq, t1, ((m + 1) * mi[N_ARR] + a) * 8 + EV_SCHEDULED)
        return
    else:  # EV_CAPACITY, x = occurrence of the capacity cycle
        i = x % mi[N_CAP]
        r = mi[mi[CAP_R] + i]
        flush_resource(mf, si, sf, r, t)
        si[si[S_RCAP] + r] = mi[mi[CAP_V] + i]
        t1 = _step_time(mi, mf, x + 1)
        if t1 < horizon:
            t_next, p_next = t1, (x + 1) * 8 + EV_CAPACITY
    if si[NWAIT] > 0 or si[NBLK] > 0:  # otherwise there is nothing to dispatch
        dispatch(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng, t)
    if t_next >= 0.0:
        push(si, ht, hq, t_next, p_next)


@hot
def _run(
    mi: np.ndarray, mf: np.ndarray, si: np.ndarray, sf: np.ndarray, ei: np.ndarray,
    ef: np.ndarray, ht: np.ndarray, hq: np.ndarray, hist: np.ndarray, ser: np.ndarray,
    rng: np.ndarray,
) -> bool:  # fmt: skip
    """Process events in order until the horizon (True) or until the heap or the entity pool
    might overflow during the next event (False: grow them and call again)."""
    horizon = mf[HORIZON]
    while si[HN] > 0:
        if (
            si[HN] + 3 * (si[NLIVE] + mi[MAX_NEW]) + 8 > ht.shape[0]
            or si[NLIVE] + mi[MAX_NEW] > ei.shape[0]
        ):
            return False
        t, seq, p = pop(si, ht, hq)
        if t >= horizon:
            return True
        _event(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng, t, seq, p & 7, p >> 3)
    return True


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
    ser = np.zeros((2, mi[N_ST], mi[N_BINS]), np.float64)  # [occupancy | queue, station, bin]
    for r in range(mi[N_RES]):
        si[si[S_RCAP] + r] = mi[mi[R_CAP0] + r]
    # warm start: place the initial entities in order, then dispatch at t = 0
    for k in range(n_ini):
        j = ini.st[k]
        e = alloc(si, ei, ef, ini.cls[k], ini.enter[k])
        enter(mf, si, sf, ei, ef, ser, e, j, 0.0)
        ef[e, EF_JOINED] = ini.joined[k]
        if ini.in_service[k]:
            ei[e, E_STAT] = ST_SERVICE
            ei[e, E_OPT] = mi[mi[OPT_OFF] + j]  # the station's own resources
            seize(mi, mf, si, sf, ei[e, E_OPT], 0.0)
            t_end = ini.t_end[k]
            if mi[mi[REL] + j] >= 0:
                t_end = release_at(mi, mf, ei, rng, e, j, 0.0, t_end)
            if t_end < mf[HORIZON]:
                push(si, ht, hq, t_end, e * 8 + EV_DONE)
        else:
            enqueue(mi, si, ei, ef, e, j)
            if ini.t_end[k] < mf[HORIZON]:
                ei[e, E_RSEQ] = push(si, ht, hq, ini.t_end[k], e * 8 + EV_RENEGE)
            t_offer = ini.joined[k] + mf[mi[F_OW_AFTER] + j]  # offers already past: not made
            if 0.0 <= t_offer < mf[HORIZON]:
                ei[e, E_OSEQ] = push(si, ht, hq, t_offer, e * 8 + EV_ONWAIT)
    dispatch(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng, 0.0)
    if mi[N_CAP] > 0 and mf[mi[F_CAP_T]] < mf[HORIZON]:
        push(si, ht, hq, mf[mi[F_CAP_T]], EV_CAPACITY)
    for a in range(mi[N_ARR]):
        if mi[mi[A_KIND] + a] == 0:
            t1 = _next_poisson(mi, mf, rng, a, 0.0)
            if t1 < mf[HORIZON]:
                push(si, ht, hq, t1, a * 8 + EV_ARRIVAL)
        else:
            k = mi[mi[SC_OFF] + a]
            if k < mi[mi[SC_OFF] + a + 1] and mf[mi[F_SC_T] + k] < mf[HORIZON]:
                push(si, ht, hq, mf[mi[F_SC_T] + k], a * 8 + EV_SCHEDULED)  # occurrence 0

    while not _run(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng):
        need = si[HN] + 3 * (si[NLIVE] + mi[MAX_NEW]) + 8
        if need > ht.shape[0]:
            ht, hq = grow_heap(ht, hq, 2 * need)
        if si[NLIVE] + mi[MAX_NEW] > ei.shape[0]:
            ei, ef = grow_ents(si, ei, ef, 2 * (si[NLIVE] + mi[MAX_NEW]))

    horizon = mf[HORIZON]
    for j in range(mi[N_ST]):
        flush_station(mf, si, sf, ser, j, horizon)
    for r in range(mi[N_RES]):
        flush_resource(mf, si, sf, r, horizon)
    si[POOL] = ei.shape[0]
    return si, sf, hist, ser
