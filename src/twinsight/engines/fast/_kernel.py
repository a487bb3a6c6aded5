"""The event loop of the fast engine: docs/semantics.md, rule by rule, compiled with numba.

Times are model time in the spec's ``time_unit``. Stream rows of ``rng``: arrival stream ``a``
is row ``a``; station ``j`` uses rows ``A + 3j`` (service), ``A + 3j + 1`` (patience) and
``A + 3j + 2`` (routing), ``A`` being the number of arrival streams.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._compile import Initial, Model
from ._borrow import borrow
from ._random import draw, exponential, uniform
from ._state import (
    ABANDONED,
    ARRIVALS,
    BALKED,
    E_BLOCKED,
    E_HELD,
    E_SERVICE,
    E_WAIT,
    EV_ARRIVAL,
    EV_CAPACITY,
    EV_DONE,
    EV_RENEGE,
    EV_SCHEDULED,
    EV_WINDOW,
    HELD_N,
    HELD_SUM,
    HN,
    NBLK,
    NLIVE,
    POOL,
    SERVED,
    WAIT_N,
    WAIT_SUM,
    WITHIN,
    Ents,
    Heap,
    Sim,
    alloc,
    chain_free,
    flush_resource,
    flush_station,
    free,
    grow_ents,
    grow_heap,
    hist_add,
    new_ents,
    new_heap,
    new_sim,
    pop,
    push,
    q_insert,
    q_remove,
)

__all__ = ["simulate"]

@njit(cache=True)  # type: ignore[misc]
def _borrow_sim(x: Sim) -> Sim:
    return Sim(borrow(x.ctr), borrow(x.q_head), borrow(x.q_tail), borrow(x.n_wait), borrow(x.n_in), borrow(x.b_head), borrow(x.b_tail), borrow(x.n_blk), borrow(x.r_use), borrow(x.r_cap), borrow(x.st_acc), borrow(x.st_last), borrow(x.r_acc), borrow(x.c_acc), borrow(x.hist_w), borrow(x.hist_c), borrow(x.series))


@njit(cache=True)  # type: ignore[misc]
def _borrow_ents(x: Ents) -> Ents:
    return Ents(borrow(x.cls), borrow(x.st), borrow(x.dest), borrow(x.stat), borrow(x.prev), borrow(x.nxt), borrow(x.seq), borrow(x.rseq), borrow(x.key), borrow(x.lvl), borrow(x.joined), borrow(x.enter), borrow(x.done))


@njit(cache=True)  # type: ignore[misc]
def _borrow_heap(x: Heap) -> Heap:
    return Heap(borrow(x.t), borrow(x.s), borrow(x.p))


@njit(cache=True)  # type: ignore[misc]
def _borrow_model(m: Model) -> Model:
    return Model(
        m.horizon,
        m.warmup,
        m.start_min,
        m.mpu,
        m.interval,
        m.n_bins,
        m.n_cls,
        m.n_lvl,
        m.max_new,
        borrow(m.need_off),
        borrow(m.need_res),
        borrow(m.need_amt),
        borrow(m.keep_amt),
        borrow(m.st_qcap),
        borrow(m.st_prio),
        borrow(m.st_block),
        borrow(m.st_win),
        borrow(m.st_win_a),
        borrow(m.st_win_b),
        borrow(m.st_target),
        borrow(m.svc_dist),
        borrow(m.pat_dist),
        borrow(m.rt_off),
        borrow(m.rt_cum),
        borrow(m.rt_dest),
        borrow(m.rt_cls),
        borrow(m.cls_prio),
        borrow(m.cls_lvl),
        borrow(m.d_kind),
        borrow(m.d_par),
        borrow(m.emp),
        borrow(m.r_cap0),
        borrow(m.cap_t),
        borrow(m.cap_r),
        borrow(m.cap_v),
        borrow(m.a_kind),
        borrow(m.a_st),
        borrow(m.a_rate),
        borrow(m.a_rmax),
        borrow(m.a_const),
        borrow(m.a_mix),
        borrow(m.a_mix_n),
        borrow(m.a_bat_off),
        borrow(m.bat_val),
        borrow(m.bat_cum),
        borrow(m.sc_off),
        borrow(m.sc_t),
        borrow(m.sc_n),
        borrow(m.sc_a),
    )


_KEEP_ALL, _KEEP_REST, _KEEP_KEPT = 0, 1, 2  # which of a station's resources to release


# ----- resources -------------------------------------------------------------------------------
@njit(cache=True, _nrt=False)  # type: ignore[misc]
def _available(m: Model, sim: Sim, j: int) -> bool:
    for k in range(m.need_off[j], m.need_off[j + 1]):
        r = m.need_res[k]
        if sim.r_cap[r] - sim.r_use[r] < m.need_amt[k]:
            return False
    return True


@njit(cache=True, _nrt=False)  # type: ignore[misc]
def _seize(m: Model, sim: Sim, j: int, t: float) -> None:
    for k in range(m.need_off[j], m.need_off[j + 1]):
        r = m.need_res[k]
        flush_resource(sim, r, t, m.warmup)
        sim.r_use[r] += m.need_amt[k]


@njit(cache=True, _nrt=False)  # type: ignore[misc]
def _release(m: Model, sim: Sim, j: int, t: float, which: int) -> None:
    """Release station ``j``'s resources: all, all but the blocking-kept ones, or only those."""
    for k in range(m.need_off[j], m.need_off[j + 1]):
        if which == _KEEP_ALL:
            amount = m.need_amt[k]
        elif which == _KEEP_REST:
            amount = m.need_amt[k] - m.keep_amt[k]
        else:
            amount = m.keep_amt[k]
        if amount != 0:
            r = m.need_res[k]
            flush_resource(sim, r, t, m.warmup)
            sim.r_use[r] -= amount


# ----- stations ----------------------------------------------------------------------------------
@njit(cache=True, _nrt=False)  # type: ignore[misc]
def _enter(m: Model, sim: Sim, en: Ents, e: int, j: int, t: float) -> None:
    flush_station(sim, j, t, m.warmup, m.horizon, m.interval)
    sim.n_in[j] += 1
    en.st[e] = j
    en.joined[e] = t


@njit(cache=True, _nrt=False)  # type: ignore[misc]
def _leave(m: Model, sim: Sim, en: Ents, e: int, i: int, t: float, which: int) -> None:
    """``e`` leaves station ``i`` after service: release, count its held time."""
    flush_station(sim, i, t, m.warmup, m.horizon, m.interval)
    sim.n_in[i] -= 1
    _release(m, sim, i, t, which)
    if t >= m.warmup:
        sim.st_acc[i, HELD_SUM] += t - en.done[e]
        sim.st_acc[i, HELD_N] += 1.0


@njit(cache=True, _nrt=False)  # type: ignore[misc]
def _start(m: Model, sim: Sim, en: Ents, hp: Heap, rng: np.ndarray, e: int, t: float) -> None:
    """Start ``e``'s service at its station: seize, record the wait, draw the service time."""
    j = en.st[e]
    en.stat[e] = E_SERVICE
    en.rseq[e] = -1
    _seize(m, sim, j, t)
    if t >= m.warmup:
        w = t - en.joined[e]
        sim.st_acc[j, WAIT_SUM] += w
        sim.st_acc[j, WAIT_N] += 1.0
        if w <= m.st_target[j]:
            sim.st_acc[j, WITHIN] += 1.0
        hist_add(sim.hist_w, j, w)
    d = m.svc_dist[j * m.n_cls + en.cls[e]]
    s = draw(rng, m.a_st.shape[0] + 3 * j, m.d_kind[d], m.d_par[d], m.emp)
    if t + s < m.horizon:
        push(hp, sim.ctr, t + s, e * 8 + EV_DONE)


@njit(cache=True, _nrt=False)  # type: ignore[misc]
def _enqueue(m: Model, sim: Sim, en: Ents, e: int, j: int) -> None:
    if m.st_prio[j]:
        en.key[e] = m.cls_prio[en.cls[e]]
        en.lvl[e] = m.cls_lvl[en.cls[e]]
    else:
        en.key[e] = 0
        en.lvl[e] = 0
    en.stat[e] = E_WAIT
    q_insert(sim, en, j * m.n_lvl + en.lvl[e], e)
    sim.n_wait[j] += 1


@njit(cache=True, _nrt=False)  # type: ignore[misc]
def _join(
    m: Model, sim: Sim, en: Ents, hp: Heap, rng: np.ndarray, e: int, j: int, t: float
) -> bool:
    """"Joining a station", rules 1-2; False when ``j`` is full (the caller applies rule 3)."""
    if sim.n_wait[j] == 0 and _available(m, sim, j):
        _enter(m, sim, en, e, j, t)
        _start(m, sim, en, hp, rng, e, t)
        return True
    qc = m.st_qcap[j]
    if qc >= 0 and sim.n_wait[j] >= qc:
        return False
    _enter(m, sim, en, e, j, t)
    _enqueue(m, sim, en, e, j)
    d = m.pat_dist[j * m.n_cls + en.cls[e]]
    if d >= 0:
        p = draw(rng, m.a_st.shape[0] + 3 * j + 1, m.d_kind[d], m.d_par[d], m.emp)
        if t + p < m.horizon:
            en.rseq[e] = push(hp, sim.ctr, t + p, e * 8 + EV_RENEGE)
    return True


@njit(cache=True, _nrt=False)  # type: ignore[misc]
def _room(m: Model, sim: Sim, j: int) -> bool:
    if sim.n_wait[j] == 0 and _available(m, sim, j):
        return True
    qc = m.st_qcap[j]
    return qc < 0 or sim.n_wait[j] < qc


@njit(cache=True, _nrt=False)  # type: ignore[misc]
def _head(m: Model, sim: Sim, j: int) -> int:
    base = j * m.n_lvl
    for lv in range(m.n_lvl if m.st_prio[j] else 1):
        h = sim.q_head[base + lv]
        if h >= 0:
            return h
    return -1


@njit(cache=True, _nrt=False)  # type: ignore[misc]
def _dispatch(m: Model, sim: Sim, en: Ents, hp: Heap, rng: np.ndarray, t: float) -> None:
    """The dispatch rule: admit blocked entities, then start heads, until nothing changes."""
    n_st = sim.n_wait.shape[0]
    while True:
        admitted = 0
        if sim.ctr[NBLK] > 0:
            for j in range(n_st):
                while sim.n_blk[j] > 0 and _room(m, sim, j):
                    e = sim.b_head[j]
                    sim.b_head[j] = en.nxt[e]
                    if en.nxt[e] < 0:
                        sim.b_tail[j] = -1
                    en.nxt[e] = -1
                    sim.n_blk[j] -= 1
                    sim.ctr[NBLK] -= 1
                    i = en.st[e]
                    _join(m, sim, en, hp, rng, e, j, t)
                    _leave(m, sim, en, e, i, t, _KEEP_KEPT)
                    admitted += 1
        while True:
            best = -1
            bj = -1
            for j in range(n_st):
                if sim.n_wait[j] > 0:
                    h = _head(m, sim, j)
                    if _available(m, sim, j) and (
                        best < 0
                        or en.key[h] < en.key[best]
                        or (
                            en.key[h] == en.key[best]
                            and (
                                en.joined[h] < en.joined[best]
                                or (en.joined[h] == en.joined[best] and en.seq[h] < en.seq[best])
                            )
                        )
                    ):
                        best = h
                        bj = j
            if best < 0:
                break
            flush_station(sim, bj, t, m.warmup, m.horizon, m.interval)
            q_remove(sim, en, bj * m.n_lvl + en.lvl[best], best)
            sim.n_wait[bj] -= 1
            _start(m, sim, en, hp, rng, best, t)
            admitted += sim.ctr[NBLK]  # a start frees a queue place: blocked ones may enter
        if admitted == 0:
            return


# ----- events ------------------------------------------------------------------------------------
@njit(cache=True, _nrt=False)  # type: ignore[misc]
def _in_window(m: Model, j: int, t: float) -> bool:
    a = m.st_win_a[j]
    b = m.st_win_b[j]
    x = (m.start_min + t * m.mpu) % 1440.0
    if a < b:
        return a <= x < b
    return x >= a or x < b


@njit(cache=True, _nrt=False)  # type: ignore[misc]
def _window_opens(m: Model, j: int, t: float) -> float:
    now = (m.start_min + t * m.mpu) % 1440.0
    delta = (m.st_win_a[j] - now) % 1440.0
    return t + delta / m.mpu


@njit(cache=True, _nrt=False)  # type: ignore[misc]
def _move_on(m: Model, sim: Sim, en: Ents, hp: Heap, rng: np.ndarray, e: int, t: float) -> None:
    """"After service", step 3: exit, join the destination, block, or be lost."""
    i = en.st[e]
    d = en.dest[e]
    if d < 0:
        _leave(m, sim, en, e, i, t, _KEEP_ALL)
        if t >= m.warmup:
            c = en.cls[e]
            tis = t - en.enter[e]
            sim.c_acc[c, 0] += tis
            sim.c_acc[c, 1] += 1.0
            hist_add(sim.hist_c, c, tis)
        free(en, sim.ctr, e)
    elif _join(m, sim, en, hp, rng, e, d, t):
        _leave(m, sim, en, e, i, t, _KEEP_ALL)
    elif m.st_block[i]:
        _release(m, sim, i, t, _KEEP_REST)
        en.stat[e] = E_BLOCKED
        en.nxt[e] = -1
        if sim.b_tail[d] >= 0:
            en.nxt[sim.b_tail[d]] = e
        else:
            sim.b_head[d] = e
        sim.b_tail[d] = e
        sim.n_blk[d] += 1
        sim.ctr[NBLK] += 1
    else:
        if t >= m.warmup:
            sim.st_acc[d, BALKED] += 1.0
        _leave(m, sim, en, e, i, t, _KEEP_ALL)
        free(en, sim.ctr, e)


@njit(cache=True, _nrt=False)  # type: ignore[misc]
def _done(m: Model, sim: Sim, en: Ents, hp: Heap, rng: np.ndarray, e: int, t: float) -> None:
    """Service completion: count, route (maybe change class), wait for the window or move on."""
    i = en.st[e]
    if t >= m.warmup:
        sim.st_acc[i, SERVED] += 1.0
    row = i * m.n_cls + en.cls[e]
    k = m.rt_off[row]
    if m.rt_off[row + 1] - k > 1:
        u = uniform(rng, m.a_st.shape[0] + 3 * i + 2)
        while u >= m.rt_cum[k]:
            k += 1
    en.dest[e] = m.rt_dest[k]
    if m.rt_cls[k] >= 0:
        en.cls[e] = m.rt_cls[k]
    en.done[e] = t
    en.stat[e] = E_HELD
    if m.st_win[i] and not _in_window(m, i, t):
        t_open = _window_opens(m, i, t)
        if t_open < m.horizon:
            push(hp, sim.ctr, t_open, e * 8 + EV_WINDOW)
        return
    _move_on(m, sim, en, hp, rng, e, t)


@njit(cache=True, _nrt=False)  # type: ignore[misc]
def _renege(m: Model, sim: Sim, en: Ents, e: int, seq: int, t: float) -> bool:
    if en.stat[e] != E_WAIT or en.rseq[e] != seq:
        return False  # started service (or left) since: a stale event
    j = en.st[e]
    flush_station(sim, j, t, m.warmup, m.horizon, m.interval)
    q_remove(sim, en, j * m.n_lvl + en.lvl[e], e)
    sim.n_wait[j] -= 1
    sim.n_in[j] -= 1
    if t >= m.warmup:
        sim.st_acc[j, ABANDONED] += 1.0
        sim.c_acc[en.cls[e], 2] += 1.0
    free(en, sim.ctr, e)
    return True


@njit(cache=True, _nrt=False)  # type: ignore[misc]
def _arrive(
    m: Model, sim: Sim, en: Ents, hp: Heap, rng: np.ndarray, a: int, n: int, t: float
) -> None:
    """``n`` entities of stream ``a`` arrive one after another; classes drawn from its mix."""
    j = m.a_st[a]
    if t >= m.warmup:
        sim.ctr[ARRIVALS] += n
    for _ in range(n):
        u = uniform(rng, a) if m.a_mix_n[a] > 1 else 0.0
        c = 0
        while u >= m.a_mix[a, c]:  # cumulative; the last class with p > 0 holds inf
            c += 1
        e = alloc(en, sim.ctr, c, t)
        if not _join(m, sim, en, hp, rng, e, j, t):
            if t >= m.warmup:
                sim.st_acc[j, BALKED] += 1.0
            free(en, sim.ctr, e)


@njit(cache=True, _nrt=False)  # type: ignore[misc]
def _next_poisson(m: Model, rng: np.ndarray, a: int, t: float) -> float:
    """Next arrival time of Poisson stream ``a`` after ``t`` (thinning when it has a profile)."""
    mean = 1.0 / m.a_rmax[a]
    if m.a_const[a]:
        return t + exponential(rng, a, mean)
    while True:
        t += exponential(rng, a, mean)
        if t >= m.horizon:
            return t
        h = int(((m.start_min + t * m.mpu) % 10080.0) // 60.0)
        if h > 167:
            h = 167
        if uniform(rng, a) * m.a_rmax[a] < m.a_rate[a, h]:
            return t


@njit(cache=True, _nrt=False)  # type: ignore[misc]
def _batch(m: Model, rng: np.ndarray, a: int) -> int:
    lo = m.a_bat_off[a]
    hi = m.a_bat_off[a + 1]
    if hi == lo:
        return 1
    k = lo
    if hi - lo > 1:
        u = uniform(rng, a)
        while u >= m.bat_cum[k]:
            k += 1
    return int(m.bat_val[k])


# ----- the run -----------------------------------------------------------------------------------
@njit(cache=True, nogil=True)  # type: ignore[misc]
def simulate(m: Model, rng: np.ndarray, ini: Initial) -> Sim:
    """One replication from t = 0 to ``m.horizon``; returns the final state and accumulators."""
    mm = m
    m = _borrow_model(mm)
    n_st = m.st_qcap.shape[0]
    n_res = m.r_cap0.shape[0]
    sim_own = new_sim(n_st, m.n_lvl, n_res, m.n_cls, m.n_bins)
    sim = _borrow_sim(sim_own)
    ctr = sim.ctr
    n0 = max(256, 2 * ini.st.shape[0] + 4 * m.max_new)
    en_own = new_ents(n0)
    en = _borrow_ents(en_own)
    chain_free(en, ctr, 0, n0)
    hp_own = new_heap(2 * n0 + m.a_st.shape[0] + 8)
    hp = _borrow_heap(hp_own)
    for r in range(n_res):
        sim.r_cap[r] = m.r_cap0[r]
    # warm start: place the initial entities in order, then dispatch at t = 0
    for k in range(ini.st.shape[0]):
        j = ini.st[k]
        e = alloc(en, ctr, ini.cls[k], ini.enter[k])
        _enter(m, sim, en, e, j, 0.0)
        en.joined[e] = ini.joined[k]
        if ini.in_service[k]:
            en.stat[e] = E_SERVICE
            _seize(m, sim, j, 0.0)
            if ini.t_end[k] < m.horizon:
                push(hp, ctr, ini.t_end[k], e * 8 + EV_DONE)
        else:
            _enqueue(m, sim, en, e, j)
            if ini.t_end[k] < m.horizon:
                en.rseq[e] = push(hp, ctr, ini.t_end[k], e * 8 + EV_RENEGE)
    _dispatch(m, sim, en, hp, rng, 0.0)
    if m.cap_t.shape[0] > 0:
        push(hp, ctr, m.cap_t[0], 0 * 8 + EV_CAPACITY)
    for a in range(m.a_st.shape[0]):
        if m.a_kind[a] == 0:
            t1 = _next_poisson(m, rng, a, 0.0)
            if t1 < m.horizon:
                push(hp, ctr, t1, a * 8 + EV_ARRIVAL)
        elif m.sc_off[a + 1] > m.sc_off[a]:
            k = m.sc_off[a]
            push(hp, ctr, m.sc_t[k], k * 8 + EV_SCHEDULED)

    while ctr[HN] > 0:
        if ctr[HN] + 2 * (ctr[NLIVE] + m.max_new) + 8 > hp.t.shape[0]:
            hp_own = grow_heap(hp, 2 * (ctr[HN] + 2 * (ctr[NLIVE] + m.max_new) + 8))
            hp = _borrow_heap(hp_own)
        if ctr[NLIVE] + m.max_new > en.cls.shape[0]:
            en_own = grow_ents(en, ctr, 2 * (ctr[NLIVE] + m.max_new))
            en = _borrow_ents(en_own)
        t, seq, p = pop(hp, ctr)
        if t >= m.horizon:
            break
        kind = p & 7
        x = p >> 3
        if kind == EV_DONE:
            _done(m, sim, en, hp, rng, x, t)
        elif kind == EV_ARRIVAL:
            _arrive(m, sim, en, hp, rng, x, _batch(m, rng, x), t)
            t1 = _next_poisson(m, rng, x, t)
            if t1 < m.horizon:
                push(hp, ctr, t1, x * 8 + EV_ARRIVAL)
        elif kind == EV_RENEGE:
            if not _renege(m, sim, en, x, seq, t):
                continue
        elif kind == EV_WINDOW:
            _move_on(m, sim, en, hp, rng, x, t)
        elif kind == EV_SCHEDULED:
            a = m.sc_a[x]
            _arrive(m, sim, en, hp, rng, a, m.sc_n[x], t)
            if x + 1 < m.sc_off[a + 1] and m.sc_t[x + 1] < m.horizon:
                push(hp, ctr, m.sc_t[x + 1], (x + 1) * 8 + EV_SCHEDULED)
        else:  # EV_CAPACITY
            r = m.cap_r[x]
            flush_resource(sim, r, t, m.warmup)
            sim.r_cap[r] = m.cap_v[x]
            if x + 1 < m.cap_t.shape[0]:
                push(hp, ctr, m.cap_t[x + 1], (x + 1) * 8 + EV_CAPACITY)
        _dispatch(m, sim, en, hp, rng, t)

    for j in range(n_st):
        flush_station(sim, j, m.horizon, m.warmup, m.horizon, m.interval)
    for r in range(n_res):
        flush_resource(sim, r, m.horizon, m.warmup)
    # uses the owners last, so that they (and the borrowed views) live until here
    ctr[POOL] = en_own.cls.shape[0] + 0 * hp_own.t.shape[0]
    return sim_own
