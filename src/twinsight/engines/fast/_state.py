"""Mutable state of one replication: event heap, entity pool, queues and accumulators.

Memory is bounded by the number of entities present at once, not by the number of events: the
event heap and the entity pool grow by reallocation when needed; waits and times in system go
into log-spaced histograms (see docs/semantics.md, "Percentiles").
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

__all__ = [
    "HIST_BINS",
    "HIST_GROWTH",
    "HIST_ZERO",
    "Ents",
    "Heap",
    "Sim",
    "new_ents",
    "new_heap",
    "new_sim",
]

# ----- histogram of non-negative durations -----------------------------------------------------
#: Values at or below this are counted in bin 0 (the zero bin).
HIST_ZERO = 1e-9
#: Ratio of consecutive bin edges (relative bin width 0.5 %).
HIST_GROWTH = 1.005
_HIST_TOP = 1e15  # larger values fall in the last bin
#: Bin ``k >= 1`` holds values in ``[HIST_ZERO * g**(k-1), HIST_ZERO * g**k)``.
HIST_BINS = 2 + int(math.ceil(math.log(_HIST_TOP / HIST_ZERO) / math.log(HIST_GROWTH)))
_INV_LOG_G = 1.0 / math.log(HIST_GROWTH)
_INV_ZERO = 1.0 / HIST_ZERO

# ----- counters (Sim.ctr) -------------------------------------------------------------------------
HN, SEQ, NLIVE, FREE, NBLK, ARRIVALS, ESEQ, POOL = range(8)
# ----- station accumulators (Sim.st_acc columns) ----------------------------------------------------
WAIT_SUM, WAIT_N, WITHIN, AREA_Q, AREA_IN, HELD_SUM, HELD_N, SERVED, ABANDONED, BALKED = range(10)
N_ST_ACC = 10
# ----- entity status ------------------------------------------------------------------------------
E_FREE, E_WAIT, E_SERVICE, E_HELD, E_BLOCKED = range(5)
# ----- event types (low 3 bits of a heap payload; the rest is the datum) ---------------------------
EV_ARRIVAL, EV_SCHEDULED, EV_CAPACITY, EV_DONE, EV_RENEGE, EV_WINDOW = range(6)


class Heap(NamedTuple):
    """Binary min-heap of events ordered by (time, sequence); ``p`` = datum * 8 + type."""

    t: np.ndarray
    s: np.ndarray
    p: np.ndarray


class Ents(NamedTuple):
    """Entity pool (struct of arrays); free slots are chained through ``nxt``."""

    cls: np.ndarray  # current class
    st: np.ndarray  # station it is at
    dest: np.ndarray  # routed destination (-1: exit) after service
    stat: np.ndarray  # E_* status
    prev: np.ndarray  # queue links
    nxt: np.ndarray
    seq: np.ndarray  # arrival sequence (tie-break)
    rseq: np.ndarray  # sequence of its live renege event (-1: none)
    key: np.ndarray  # priority key in the queue (class priority, 0 under fifo)
    lvl: np.ndarray  # queue level
    joined: np.ndarray  # time it joined its station (time_unit)
    enter: np.ndarray  # time it entered the system
    done: np.ndarray  # time its service ended


class Sim(NamedTuple):
    """Fixed-size state and accumulators of one replication."""

    ctr: np.ndarray  # counters HN, SEQ, NLIVE, FREE, NBLK, ARRIVALS, ESEQ
    q_head: np.ndarray  # [S*L] queue per station and priority level
    q_tail: np.ndarray
    n_wait: np.ndarray  # [S] waiting in queue
    n_in: np.ndarray  # [S] at the station (waiting, in service, held)
    b_head: np.ndarray  # [S] entities blocked upstream, waiting to enter this station
    b_tail: np.ndarray
    n_blk: np.ndarray
    r_use: np.ndarray  # [R]
    r_cap: np.ndarray
    st_acc: np.ndarray  # [S, N_ST_ACC]
    st_last: np.ndarray  # [S] last time the station's areas were brought up to date
    r_acc: np.ndarray  # [R, 3]: area in use, area capacity, last update
    c_acc: np.ndarray  # [C, 3]: sum time in system, departures, abandoned
    hist_w: np.ndarray  # [S, HIST_BINS] waits
    hist_c: np.ndarray  # [C, HIST_BINS] times in system by class
    series: np.ndarray  # [S, n_bins] occupancy area per bin


@njit(cache=True)  # type: ignore[misc]
def new_heap(n: int) -> Heap:
    """An empty heap with room for ``n`` events."""
    return Heap(np.empty(n, np.float64), np.empty(n, np.int64), np.empty(n, np.int64))


@njit(cache=True)  # type: ignore[misc]
def grow_heap(hp: Heap, n: int) -> Heap:
    """A copy of ``hp`` with room for ``n`` events."""
    new = new_heap(n)
    m = hp.t.shape[0]
    new.t[:m] = hp.t
    new.s[:m] = hp.s
    new.p[:m] = hp.p
    return new


@njit(cache=True, _nrt=False)  # type: ignore[misc]
def push(hp: Heap, ctr: np.ndarray, t: float, payload: int) -> int:
    """Schedule an event at ``t``; returns its sequence number (FIFO among equal times)."""
    seq = ctr[SEQ]
    ctr[SEQ] = seq + 1
    i = ctr[HN]
    ctr[HN] = i + 1
    ht, hs, hpl = hp.t, hp.s, hp.p
    while i > 0:
        parent = (i - 1) >> 1
        if t < ht[parent]:  # a new event never precedes an equal-time one (larger sequence)
            ht[i] = ht[parent]
            hs[i] = hs[parent]
            hpl[i] = hpl[parent]
            i = parent
        else:
            break
    ht[i] = t
    hs[i] = seq
    hpl[i] = payload
    return seq


@njit(cache=True, _nrt=False)  # type: ignore[misc]
def pop(hp: Heap, ctr: np.ndarray) -> tuple[float, int, int]:
    """Remove and return the first event (time, sequence, payload)."""
    ht, hs, hpl = hp.t, hp.s, hp.p
    t0, s0, p0 = ht[0], hs[0], hpl[0]
    n = ctr[HN] - 1
    ctr[HN] = n
    if n > 0:
        t, s, p = ht[n], hs[n], hpl[n]
        i = 0
        while True:
            c = 2 * i + 1
            if c >= n:
                break
            c2 = c + 1
            if c2 < n and (ht[c2] < ht[c] or (ht[c2] == ht[c] and hs[c2] < hs[c])):
                c = c2
            if ht[c] < t or (ht[c] == t and hs[c] < s):
                ht[i] = ht[c]
                hs[i] = hs[c]
                hpl[i] = hpl[c]
                i = c
            else:
                break
        ht[i] = t
        hs[i] = s
        hpl[i] = p
    return t0, s0, p0


@njit(cache=True)  # type: ignore[misc]
def new_ents(n: int) -> Ents:
    """An entity pool of ``n`` free slots (not yet chained: see :func:`chain_free`)."""
    return Ents(
        np.zeros(n, np.int64),
        np.zeros(n, np.int64),
        np.zeros(n, np.int64),
        np.zeros(n, np.int64),
        np.full(n, -1, np.int64),
        np.full(n, -1, np.int64),
        np.zeros(n, np.int64),
        np.full(n, -1, np.int64),
        np.zeros(n, np.int64),
        np.zeros(n, np.int64),
        np.zeros(n, np.float64),
        np.zeros(n, np.float64),
        np.zeros(n, np.float64),
    )


@njit(cache=True, _nrt=False)  # type: ignore[misc]
def chain_free(en: Ents, ctr: np.ndarray, lo: int, hi: int) -> None:
    """Put slots ``lo..hi-1`` in front of the free list."""
    for i in range(lo, hi - 1):
        en.nxt[i] = i + 1
    en.nxt[hi - 1] = ctr[FREE]
    ctr[FREE] = lo


@njit(cache=True)  # type: ignore[misc]
def grow_ents(en: Ents, ctr: np.ndarray, n: int) -> Ents:
    """A copy of the pool with ``n`` slots, the new ones free."""
    m = en.cls.shape[0]
    new = new_ents(n)
    new.cls[:m] = en.cls
    new.st[:m] = en.st
    new.dest[:m] = en.dest
    new.stat[:m] = en.stat
    new.prev[:m] = en.prev
    new.nxt[:m] = en.nxt
    new.seq[:m] = en.seq
    new.rseq[:m] = en.rseq
    new.key[:m] = en.key
    new.lvl[:m] = en.lvl
    new.joined[:m] = en.joined
    new.enter[:m] = en.enter
    new.done[:m] = en.done
    chain_free(new, ctr, m, n)
    return new


@njit(cache=True, _nrt=False)  # type: ignore[misc]
def alloc(en: Ents, ctr: np.ndarray, cls: int, t_enter: float) -> int:
    """Take a free slot for a new entity of class ``cls`` entering the system at ``t_enter``."""
    e = ctr[FREE]
    ctr[FREE] = en.nxt[e]
    ctr[NLIVE] += 1
    en.cls[e] = cls
    en.seq[e] = ctr[ESEQ]
    ctr[ESEQ] += 1
    en.enter[e] = t_enter
    en.rseq[e] = -1
    en.prev[e] = -1
    en.nxt[e] = -1
    return e


@njit(cache=True, _nrt=False)  # type: ignore[misc]
def free(en: Ents, ctr: np.ndarray, e: int) -> None:
    """Return entity ``e``'s slot to the pool."""
    en.stat[e] = E_FREE
    en.rseq[e] = -1
    en.nxt[e] = ctr[FREE]
    ctr[FREE] = e
    ctr[NLIVE] -= 1


@njit(cache=True)  # type: ignore[misc]
def new_sim(n_st: int, n_lvl: int, n_res: int, n_cls: int, n_bins: int) -> Sim:
    """Zeroed state for a network of the given sizes."""
    ctr = np.zeros(8, np.int64)
    ctr[FREE] = -1
    return Sim(
        ctr,
        np.full(n_st * n_lvl, -1, np.int64),
        np.full(n_st * n_lvl, -1, np.int64),
        np.zeros(n_st, np.int64),
        np.zeros(n_st, np.int64),
        np.full(n_st, -1, np.int64),
        np.full(n_st, -1, np.int64),
        np.zeros(n_st, np.int64),
        np.zeros(n_res, np.int64),
        np.zeros(n_res, np.int64),
        np.zeros((n_st, N_ST_ACC), np.float64),
        np.zeros(n_st, np.float64),
        np.zeros((n_res, 3), np.float64),
        np.zeros((n_cls, 3), np.float64),
        np.zeros((n_st, HIST_BINS), np.int64),
        np.zeros((n_cls, HIST_BINS), np.int64),
        np.zeros((n_st, n_bins), np.float64),
    )


@njit(cache=True, _nrt=False)  # type: ignore[misc]
def hist_add(h: np.ndarray, row: int, x: float) -> None:
    """Count duration ``x`` in histogram row ``row``."""
    if x <= HIST_ZERO:
        h[row, 0] += 1
    else:
        k = 1 + int(math.log(x * _INV_ZERO) * _INV_LOG_G)
        if k >= HIST_BINS:
            k = HIST_BINS - 1
        h[row, k] += 1


# ----- queues ----------------------------------------------------------------------------------
@njit(cache=True, _nrt=False)  # type: ignore[misc]
def q_insert(sim: Sim, en: Ents, qi: int, e: int) -> None:
    """Insert ``e`` into queue ``qi`` ordered by (joined, seq); O(1) for a newcomer."""
    x = sim.q_tail[qi]
    tj = en.joined[e]
    sq = en.seq[e]
    while x >= 0 and (en.joined[x] > tj or (en.joined[x] == tj and en.seq[x] > sq)):
        x = en.prev[x]
    if x < 0:
        h = sim.q_head[qi]
        en.prev[e] = -1
        en.nxt[e] = h
        if h >= 0:
            en.prev[h] = e
        else:
            sim.q_tail[qi] = e
        sim.q_head[qi] = e
    else:
        n = en.nxt[x]
        en.prev[e] = x
        en.nxt[e] = n
        en.nxt[x] = e
        if n >= 0:
            en.prev[n] = e
        else:
            sim.q_tail[qi] = e


@njit(cache=True, _nrt=False)  # type: ignore[misc]
def q_remove(sim: Sim, en: Ents, qi: int, e: int) -> None:
    """Unlink ``e`` from queue ``qi`` in O(1)."""
    p = en.prev[e]
    n = en.nxt[e]
    if p >= 0:
        en.nxt[p] = n
    else:
        sim.q_head[qi] = n
    if n >= 0:
        en.prev[n] = p
    else:
        sim.q_tail[qi] = p
    en.prev[e] = -1
    en.nxt[e] = -1


# ----- time averages -----------------------------------------------------------------------------
@njit(cache=True, _nrt=False)  # type: ignore[misc]
def flush_station(
    sim: Sim, j: int, t: float, warmup: float, horizon: float, interval: float
) -> None:
    """Integrate station ``j``'s queue and occupancy up to ``t`` (before they change)."""
    last = sim.st_last[j]
    if t <= last:
        return
    n_in = sim.n_in[j]
    lo = last if last > warmup else warmup
    if t > lo:
        sim.st_acc[j, AREA_Q] += sim.n_wait[j] * (t - lo)
        sim.st_acc[j, AREA_IN] += n_in * (t - lo)
    if interval > 0.0 and n_in > 0 and last < horizon:
        nb = sim.series.shape[1]
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
                sim.series[j, k] += n_in * (end - a)
                a = end
            k += 1
    sim.st_last[j] = t


@njit(cache=True, _nrt=False)  # type: ignore[misc]
def flush_resource(sim: Sim, r: int, t: float, warmup: float) -> None:
    """Integrate resource ``r``'s use and capacity up to ``t`` (before they change)."""
    last = sim.r_acc[r, 2]
    lo = last if last > warmup else warmup
    if t > lo:
        sim.r_acc[r, 0] += sim.r_use[r] * (t - lo)
        sim.r_acc[r, 1] += sim.r_cap[r] * (t - lo)
    sim.r_acc[r, 2] = t
