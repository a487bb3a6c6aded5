"""Mutable state of one replication: event heap, entity pool, queues and accumulators.

Memory is bounded by the number of entities present at once, not by the number of events: the
event heap and the entity pool grow by reallocation when needed; waits and times in system go
into log-spaced histograms (see docs/semantics.md, "Percentiles"). Array layouts: ``_layout.py``.
Helpers are compiled without reference counting (``_nrt=False``): they never allocate.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import hot, inlined, kernel
from ._layout import (
    AREA_IN,
    AREA_Q,
    E_CLS,
    E_NXT,
    E_OSEQ,
    E_PREV,
    E_RSEQ,
    E_SEQ,
    E_STAT,
    EF_ENTER,
    EF_JOINED,
    ESEQ,
    FREE,
    HN,
    HORIZON,
    INTERVAL,
    LAST,
    N_CLS,
    N_EF,
    N_EI,
    N_JRN,
    N_LVL,
    N_RES,
    N_SHEAD,
    N_ST,
    N_ST_ACC,
    NLIVE,
    S_BHEAD,
    S_BTAIL,
    S_NIN,
    S_NWAIT,
    S_QHEAD,
    S_QTAIL,
    S_RCAP,
    S_RUSE,
    SEQ,
    SF_C,
    SF_H,
    SF_J,
    SF_R,
    SF_ST,
    ST_FREE,
    WARMUP,
)

__all__ = [
    "HIST_BINS",
    "HIST_GROWTH",
    "HIST_ZERO",
    "alloc",
    "flush_resource",
    "flush_station",
    "free",
    "grow_ents",
    "grow_heap",
    "hist_add",
    "new_state",
    "pop",
    "push",
    "q_insert",
    "q_remove",
]

# ----- histogram of non-negative durations -----------------------------------------------------
#: Values at or below this are counted in bin 0 (the zero bin).
HIST_ZERO = 1e-9
#: Ratio of consecutive bin edges (relative bin width 0.5 %).
HIST_GROWTH = 1.005
_HIST_TOP = 1e15  # larger values fall in the last bin
#: Bin ``k >= 1`` holds values in ``[HIST_ZERO * g**(k-1), HIST_ZERO * g**k)``.
HIST_BINS = 2 + math.ceil(math.log(_HIST_TOP / HIST_ZERO) / math.log(HIST_GROWTH))
_INV_LOG_G = 1.0 / math.log(HIST_GROWTH)
_INV_ZERO = 1.0 / HIST_ZERO


@hot
def hist_add(hist: np.ndarray, si: np.ndarray, sf: np.ndarray, row: int, x: float) -> None:
    """Count duration ``x`` in histogram row ``row`` (and track the row's min and max)."""
    if x <= HIST_ZERO:
        hist[row, 0] += 1
    else:
        k = 1 + int(math.log(x * _INV_ZERO) * _INV_LOG_G)
        if k >= HIST_BINS:
            k = HIST_BINS - 1
        hist[row, k] += 1
    h = si[SF_H] + 2 * row
    if x < sf[h]:
        sf[h] = x
    if x > sf[h + 1]:
        sf[h + 1] = x


# ----- allocation (reference-counted, outside the hot loop) ---------------------------------------
@kernel
def new_state(mi: np.ndarray, n_ents: int, n_events: int) -> tuple[np.ndarray, ...]:
    """Fresh ``si, sf, ei, ef, ht, hq, hist`` for the model ``mi``."""
    n_st, n_res, n_cls, n_jrn = mi[N_ST], mi[N_RES], mi[N_CLS], mi[N_JRN]
    nq = n_st * mi[N_LVL]
    sizes = np.array([n_st, n_st, n_st, n_st, n_st, nq, nq, n_res, n_res])
    si = np.zeros(N_SHEAD + sizes.sum(), np.int64)
    off = N_SHEAD
    for k in range(sizes.shape[0]):  # sections S_NWAIT .. S_RCAP, in this order
        si[S_NWAIT + k] = off
        off += sizes[k]
    si[si[S_BHEAD] : si[S_BHEAD] + n_st] = -1
    si[si[S_BTAIL] : si[S_BTAIL] + n_st] = -1
    si[si[S_QHEAD] : si[S_QHEAD] + nq] = -1
    si[si[S_QTAIL] : si[S_QTAIL] + nq] = -1
    si[SF_ST] = 0
    si[SF_R] = n_st * N_ST_ACC
    si[SF_C] = si[SF_R] + 3 * n_res
    si[SF_J] = si[SF_C] + 3 * n_cls
    si[SF_H] = si[SF_J] + 3 * n_jrn
    n_hist = n_st + n_cls + n_jrn  # histogram rows: waits, times in system, journeys
    sf = np.zeros(si[SF_H] + 2 * n_hist, np.float64)
    sf[si[SF_H] :: 2] = np.inf  # smallest value seen by each histogram
    sf[si[SF_H] + 1 :: 2] = -np.inf  # largest
    ei = np.full((n_ents, N_EI), -1, np.int64)
    ef = np.zeros((n_ents, N_EF + n_jrn), np.float64)
    si[FREE] = -1
    chain_free(si, ei, 0, n_ents)
    ht = np.empty(n_events, np.float64)
    hq = np.empty((n_events, 2), np.int64)
    hist = np.zeros((n_hist, HIST_BINS), np.int64)
    return si, sf, ei, ef, ht, hq, hist


@kernel
def grow_heap(ht: np.ndarray, hq: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Copies of the heap arrays with room for ``n`` events."""
    m = ht.shape[0]
    ht2 = np.empty(n, np.float64)
    hq2 = np.empty((n, 2), np.int64)
    ht2[:m] = ht
    hq2[:m] = hq
    return ht2, hq2


@kernel
def grow_ents(
    si: np.ndarray, ei: np.ndarray, ef: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Copies of the entity pool with ``n`` slots, the new ones free."""
    m = ei.shape[0]
    ei2 = np.full((n, N_EI), -1, np.int64)
    ef2 = np.zeros((n, ef.shape[1]), np.float64)
    ei2[:m] = ei
    ef2[:m] = ef
    chain_free(si, ei2, m, n)
    return ei2, ef2


@hot
def chain_free(si: np.ndarray, ei: np.ndarray, lo: int, hi: int) -> None:
    """Put slots ``lo..hi-1`` in front of the free list."""
    for i in range(lo, hi - 1):
        ei[i, E_NXT] = i + 1
    ei[hi - 1, E_NXT] = si[FREE]
    si[FREE] = lo


# ----- event heap ---------------------------------------------------------------------------------
@hot
def push(si: np.ndarray, ht: np.ndarray, hq: np.ndarray, t: float, payload: int) -> int:
    """Schedule an event at ``t``; returns its sequence number (FIFO among equal times)."""
    seq = si[SEQ]
    si[SEQ] = seq + 1
    i = si[HN]
    si[HN] = i + 1
    while i > 0:
        parent = (i - 1) >> 1
        if t < ht[parent]:  # a new event never precedes an equal-time one (larger sequence)
            ht[i] = ht[parent]
            hq[i, 0] = hq[parent, 0]
            hq[i, 1] = hq[parent, 1]
            i = parent
        else:
            break
    ht[i] = t
    hq[i, 0] = seq
    hq[i, 1] = payload
    return int(seq)


@hot
def pop(si: np.ndarray, ht: np.ndarray, hq: np.ndarray) -> tuple[float, int, int]:
    """Remove and return the first event (time, sequence, payload)."""
    t0, s0, p0 = ht[0], hq[0, 0], hq[0, 1]
    n = si[HN] - 1
    si[HN] = n
    if n > 0:
        t, s, p = ht[n], hq[n, 0], hq[n, 1]
        i = 0
        while True:
            c = 2 * i + 1
            if c >= n:
                break
            c2 = c + 1
            if c2 < n and (ht[c2] < ht[c] or (ht[c2] == ht[c] and hq[c2, 0] < hq[c, 0])):
                c = c2
            if ht[c] < t or (ht[c] == t and hq[c, 0] < s):
                ht[i] = ht[c]
                hq[i, 0] = hq[c, 0]
                hq[i, 1] = hq[c, 1]
                i = c
            else:
                break
        ht[i] = t
        hq[i, 0] = s
        hq[i, 1] = p
    return t0, s0, p0


# ----- entity pool --------------------------------------------------------------------------------
@hot
def alloc(si: np.ndarray, ei: np.ndarray, ef: np.ndarray, cls: int, t_enter: float) -> int:
    """Take a free slot for a new entity of class ``cls`` entering the system at ``t_enter``."""

    e = si[FREE]
    si[FREE] = ei[e, E_NXT]
    si[NLIVE] += 1
    ei[e, E_CLS] = cls
    ei[e, E_SEQ] = si[ESEQ]
    si[ESEQ] += 1
    ei[e, E_RSEQ] = -1
    ei[e, E_OSEQ] = -1
    ei[e, E_PREV] = -1
    ei[e, E_NXT] = -1
    ef[e, EF_ENTER] = t_enter
    for k in range(N_EF, ef.shape[1]):  # on no journey yet
        ef[e, k] = -1.0
    return int(e)


@hot
def free(si: np.ndarray, ei: np.ndarray, e: int) -> None:
    """Return entity ``e``'s slot to the pool."""

    ei[e, E_STAT] = ST_FREE
    ei[e, E_RSEQ] = -1
    ei[e, E_NXT] = si[FREE]
    si[FREE] = e
    si[NLIVE] -= 1


# ----- queues: doubly linked lists per (station, level), ordered by (joined, seq) -----------------
@hot
def q_insert(si: np.ndarray, ei: np.ndarray, ef: np.ndarray, qi: int, e: int) -> None:
    """Insert ``e`` into queue ``qi``, walking from the tail (O(1) for a newcomer)."""
    heads = si[S_QHEAD]
    tails = si[S_QTAIL]
    x = si[tails + qi]
    tj = ef[e, EF_JOINED]
    sq = ei[e, E_SEQ]
    while x >= 0 and (ef[x, EF_JOINED] > tj or (ef[x, EF_JOINED] == tj and ei[x, E_SEQ] > sq)):
        x = ei[x, E_PREV]
    if x < 0:
        h = si[heads + qi]
        ei[e, E_PREV] = -1
        ei[e, E_NXT] = h
        if h >= 0:
            ei[h, E_PREV] = e
        else:
            si[tails + qi] = e
        si[heads + qi] = e
    else:
        n = ei[x, E_NXT]
        ei[e, E_PREV] = x
        ei[e, E_NXT] = n
        ei[x, E_NXT] = e
        if n >= 0:
            ei[n, E_PREV] = e
        else:
            si[tails + qi] = e


@hot
def q_remove(si: np.ndarray, ei: np.ndarray, qi: int, e: int) -> None:
    """Unlink ``e`` from queue ``qi`` in O(1)."""
    p = ei[e, E_PREV]
    n = ei[e, E_NXT]
    if p >= 0:
        ei[p, E_NXT] = n
    else:
        si[si[S_QHEAD] + qi] = n
    if n >= 0:
        ei[n, E_PREV] = p
    else:
        si[si[S_QTAIL] + qi] = p
    ei[e, E_PREV] = -1
    ei[e, E_NXT] = -1


# ----- time averages -----------------------------------------------------------------------------
@inlined
def flush_station(
    mf: np.ndarray, si: np.ndarray, sf: np.ndarray, ser: np.ndarray, j: int, t: float
) -> None:
    """Integrate station ``j``'s queue and occupancy up to ``t`` (before they change).

    Series: ``ser[0, j]`` is the occupancy of station ``j`` per bin, ``ser[1, j]`` its queue."""

    row = si[SF_ST] + j * N_ST_ACC
    last = sf[row + LAST]
    if t <= last:
        return
    n_in = si[si[S_NIN] + j]
    warmup = mf[WARMUP]
    lo = last if last > warmup else warmup
    if t > lo:
        sf[row + AREA_Q] += si[si[S_NWAIT] + j] * (t - lo)
        sf[row + AREA_IN] += n_in * (t - lo)
    interval = mf[INTERVAL]
    horizon = mf[HORIZON]
    if interval > 0.0 and n_in > 0 and last < horizon:
        nb = ser.shape[2]
        a = last
        b = t if t < horizon else horizon
        k = int(a / interval)
        if k >= nb:
            k = nb - 1
        while a < b:
            end = (k + 1) * interval
            if end > b or k >= nb - 1:
                end = b
            if end > a:
                ser[0, j, k] += n_in * (end - a)
                ser[1, j, k] += si[si[S_NWAIT] + j] * (end - a)
                a = end
            k += 1
    sf[row + LAST] = t


@hot
def flush_resource(mf: np.ndarray, si: np.ndarray, sf: np.ndarray, r: int, t: float) -> None:
    """Integrate resource ``r``'s use and capacity up to ``t`` (before they change)."""

    row = si[SF_R] + 3 * r
    last = sf[row + 2]
    warmup = mf[WARMUP]
    lo = last if last > warmup else warmup
    if t > lo:
        sf[row] += si[si[S_RUSE] + r] * (t - lo)
        sf[row + 1] += si[si[S_RCAP] + r] * (t - lo)
    sf[row + 2] = t
