"""Compile a :class:`~twinsight.spec.FlowSpec` into flat numpy arrays for the numba kernel.

Indices follow the spec's fixed orders (``station_names``, ``class_names``, ``resource_names``,
arrival streams as listed). All wall-clock conversions come from :mod:`.._calendar`; every time
is model time in the spec's ``time_unit``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ...experiment.streams import stream_seed, xoshiro_state
from ...spec import (
    EXIT,
    Distribution,
    Empirical,
    Exponential,
    Fixed,
    FlowSpec,
    Gamma,
    Lognormal,
    Normal,
    PoissonArrivals,
    Triangular,
    Uniform,
    Weibull,
    gamma_params,
    lognormal_params,
)
from .._calendar import Calendar, residual
from ._random import KIND

__all__ = ["Initial", "Model", "compile_model", "initial_entities", "rng_states"]

_I = np.int64
_F = np.float64


class Model(NamedTuple):
    """The kernel's read-only view of a spec (arrays indexed as described per field)."""

    horizon: float
    warmup: float
    start_min: float  # wall-clock minutes of week at t = 0
    mpu: float  # minutes per time_unit
    interval: float  # width of occupancy bins (0: no series)
    n_bins: int  # number of occupancy bins
    n_cls: int
    n_lvl: int  # distinct class priorities (queue levels)
    max_new: int  # most entities one arrival event can bring
    # stations [S]; needs in CSR form need_off[S+1] -> need_res/need_amt/keep_amt
    need_off: np.ndarray
    need_res: np.ndarray
    need_amt: np.ndarray
    keep_amt: np.ndarray  # amount kept while blocked (0: released)
    st_qcap: np.ndarray  # -1: unlimited
    st_prio: np.ndarray  # 1: priority discipline, 0: fifo
    st_block: np.ndarray  # 1: blocking
    st_win: np.ndarray  # 1: release window
    st_win_a: np.ndarray  # window start, minutes of day
    st_win_b: np.ndarray  # window end, minutes of day
    st_target: np.ndarray  # wait target (inf: none)
    svc_dist: np.ndarray  # [S*C] distribution id
    pat_dist: np.ndarray  # [S*C] distribution id, -1: no patience
    rt_off: np.ndarray  # [S*C+1] routing rows (CSR)
    rt_cum: np.ndarray  # cumulative probability
    rt_dest: np.ndarray  # station, -1: exit
    rt_cls: np.ndarray  # new class, -1: unchanged
    # classes [C]
    cls_prio: np.ndarray
    cls_lvl: np.ndarray
    # distributions [D]
    d_kind: np.ndarray
    d_par: np.ndarray  # [D, 4]
    emp: np.ndarray
    # resources [R]; capacity steps after t = 0 sorted by time
    r_cap0: np.ndarray
    cap_t: np.ndarray
    cap_r: np.ndarray
    cap_v: np.ndarray
    # arrival streams [A]
    a_kind: np.ndarray  # 0 poisson, 1 scheduled
    a_st: np.ndarray
    a_rate: np.ndarray  # [A, 168] rate per time_unit by hour of week
    a_rmax: np.ndarray
    a_const: np.ndarray  # 1: constant rate (no thinning)
    a_mix: np.ndarray  # [A, C] cumulative class probabilities
    a_mix_n: np.ndarray  # number of classes with p > 0 (1: no draw)
    a_bat_off: np.ndarray  # [A+1] batch values (CSR); empty: batch of one
    bat_val: np.ndarray
    bat_cum: np.ndarray
    sc_off: np.ndarray  # [A+1] scheduled arrivals (CSR)
    sc_t: np.ndarray
    sc_n: np.ndarray
    sc_a: np.ndarray  # arrival stream of each scheduled entry


class Initial(NamedTuple):
    """Entities placed at t = 0 (warm start), in placement order."""

    st: np.ndarray
    cls: np.ndarray
    in_service: np.ndarray  # 1 in service, 0 waiting
    joined: np.ndarray  # -elapsed
    enter: np.ndarray  # -in_system
    t_end: np.ndarray  # completion (in service) or renege time (waiting); inf: never


def _dist_params(d: Distribution, emp: list[float]) -> tuple[int, list[float]]:
    kind = KIND[d.dist]
    if isinstance(d, Exponential):
        return kind, [d.mean, 0.0, 0.0, 0.0]
    if isinstance(d, Lognormal):
        mu, sigma = lognormal_params(d.mean, d.sd)
        return kind, [mu, sigma, 0.0, 0.0]
    if isinstance(d, Gamma):
        shape, scale = gamma_params(d.mean, d.sd)
        return kind, [shape, scale, 0.0, 0.0]
    if isinstance(d, Weibull):
        return kind, [d.shape, d.scale, 0.0, 0.0]
    if isinstance(d, Normal):
        return kind, [d.mean, d.sd, d.min, 0.0]
    if isinstance(d, Triangular):
        return kind, [d.min, d.mode, d.max, 0.0]
    if isinstance(d, Uniform):
        return kind, [d.min, d.max, 0.0, 0.0]
    if isinstance(d, Fixed):
        return kind, [d.value, 0.0, 0.0, 0.0]
    assert isinstance(d, Empirical)
    off = len(emp)
    emp.extend(float(v) for v in d.values)
    return kind, [float(off), float(len(d.values)), 0.0, 0.0]


def compile_model(spec: FlowSpec, horizon: float, warmup: float) -> Model:
    """Flatten ``spec`` for a run of length ``horizon`` with statistics from ``warmup``."""
    cal = Calendar(spec)
    stations = spec.station_names()
    classes = spec.class_names()
    resources = spec.resource_names()
    s_idx = {s: i for i, s in enumerate(stations)}
    c_idx = {c: i for i, c in enumerate(classes)}
    r_idx = {r: i for i, r in enumerate(resources)}
    n_s, n_c = len(stations), len(classes)

    kinds: list[int] = []
    pars: list[list[float]] = []
    emp: list[float] = []

    def dist_id(d: Distribution) -> int:
        k, p = _dist_params(d, emp)
        kinds.append(k)
        pars.append(p)
        return len(kinds) - 1

    need_off, need_res, need_amt, keep_amt = [0], [], [], []
    qcap, prio, block, win, win_a, win_b, target = [], [], [], [], [], [], []
    svc = np.full(n_s * n_c, -1, dtype=_I)
    pat = np.full(n_s * n_c, -1, dtype=_I)
    rt_off, rt_cum, rt_dest, rt_cls = [0], [], [], []
    for j, name in enumerate(stations):
        st = spec.stations[name]
        kept = st.held_when_blocked()
        for r, a in st.resources.items():
            need_res.append(r_idx[r])
            need_amt.append(a)
            keep_amt.append(kept.get(r, 0))
        need_off.append(len(need_res))
        qcap.append(-1 if st.queue_capacity is None else st.queue_capacity)
        prio.append(1 if st.discipline == "priority" else 0)
        block.append(1 if st.blocking else 0)
        if st.release_window is not None:
            a0, b0 = st.release_window.minutes()
            win.append(1)
            win_a.append(a0)
            win_b.append(b0)
        else:
            win.append(0)
            win_a.append(0.0)
            win_b.append(0.0)
        tgt = spec.wait_target_for(name)
        target.append(math.inf if tgt is None else tgt)
        for c_name in classes:
            c = c_idx[c_name]
            svc[j * n_c + c] = dist_id(st.service_for(c_name))
            pd = st.patience_for(c_name)
            if pd is not None:
                pat[j * n_c + c] = dist_id(pd)
            cum = 0.0
            for row in st.routes_for(c_name):
                cum += row.p
                rt_cum.append(cum)
                rt_dest.append(-1 if row.to == EXIT else s_idx[row.to])
                rt_cls.append(-1 if row.becomes is None else c_idx[row.becomes])
            rt_cum[-1] = math.inf  # rows sum to 1 within rounding: the last row takes the rest
            rt_off.append(len(rt_cum))

    levels = sorted({spec.classes[c].priority for c in classes})
    cls_prio = [spec.classes[c].priority for c in classes]
    cls_lvl = [levels.index(p) for p in cls_prio]

    r_cap0, caps = [], []
    for i, r in enumerate(resources):
        changes = cal.capacity_changes(spec.resources[r], horizon)
        r_cap0.append(changes[0][1])
        caps += [(t, i, v) for t, v in changes[1:]]
    caps.sort(key=lambda x: (x[0], x[1]))

    a_kind, a_st, a_rate, a_rmax, a_const, a_mix, a_mix_n = [], [], [], [], [], [], []
    a_bat_off, bat_val, bat_cum, sc_off, sc_t, sc_n, sc_a = [0], [], [], [0], [], [], []
    max_new = 1
    for arr in spec.arrivals:
        a_st.append(s_idx[arr.to])
        mix = arr.entity_class
        probs = np.zeros(n_c)
        if isinstance(mix, str):
            probs[c_idx[mix]] = 1.0
        else:
            for c_name, p in mix.items():
                probs[c_idx[c_name]] = p
        cum_p = np.cumsum(probs)
        cum_p[int(np.flatnonzero(probs > 0)[-1]):] = math.inf
        a_mix.append(cum_p)
        a_mix_n.append(int(np.count_nonzero(probs > 0)))
        if isinstance(arr, PoissonArrivals):
            a_kind.append(0)
            table = cal.rate_table(arr)
            a_rate.append(table)
            a_rmax.append(float(table.max()))
            a_const.append(1 if arr.profile is None else 0)
            if arr.batch is not None:
                bat_val += arr.batch.values
                bat_cum += list(np.cumsum(arr.batch.probabilities()))
                bat_cum[-1] = math.inf
                max_new = max(max_new, *arr.batch.values)
        else:
            a_kind.append(1)
            a_rate.append(np.zeros(168))
            a_rmax.append(0.0)
            a_const.append(1)
            for t, n in cal.scheduled_times(arr, horizon):
                sc_t.append(t)
                sc_n.append(n)
                sc_a.append(len(a_st) - 1)
                max_new = max(max_new, n)
        a_bat_off.append(len(bat_val))
        sc_off.append(len(sc_t))

    interval = spec.kpis.interval or 0.0
    n_bins = math.ceil(horizon / interval) if interval else 0
    return Model(
        horizon=float(horizon),
        warmup=float(warmup),
        start_min=float(cal.start),
        mpu=float(cal.mpu),
        interval=float(interval),
        n_bins=int(n_bins),
        n_cls=n_c,
        n_lvl=len(levels),
        max_new=int(max_new),
        need_off=np.array(need_off, dtype=_I),
        need_res=np.array(need_res, dtype=_I),
        need_amt=np.array(need_amt, dtype=_I),
        keep_amt=np.array(keep_amt, dtype=_I),
        st_qcap=np.array(qcap, dtype=_I),
        st_prio=np.array(prio, dtype=_I),
        st_block=np.array(block, dtype=_I),
        st_win=np.array(win, dtype=_I),
        st_win_a=np.array(win_a, dtype=_F),
        st_win_b=np.array(win_b, dtype=_F),
        st_target=np.array(target, dtype=_F),
        svc_dist=svc,
        pat_dist=pat,
        rt_off=np.array(rt_off, dtype=_I),
        rt_cum=np.array(rt_cum, dtype=_F),
        rt_dest=np.array(rt_dest, dtype=_I),
        rt_cls=np.array(rt_cls, dtype=_I),
        cls_prio=np.array(cls_prio, dtype=_I),
        cls_lvl=np.array(cls_lvl, dtype=_I),
        d_kind=np.array(kinds, dtype=_I),
        d_par=np.array(pars, dtype=_F).reshape(-1, 4),
        emp=np.array(emp, dtype=_F),
        r_cap0=np.array(r_cap0, dtype=_I),
        cap_t=np.array([x[0] for x in caps], dtype=_F),
        cap_r=np.array([x[1] for x in caps], dtype=_I),
        cap_v=np.array([x[2] for x in caps], dtype=_I),
        a_kind=np.array(a_kind, dtype=_I),
        a_st=np.array(a_st, dtype=_I),
        a_rate=np.array(a_rate, dtype=_F).reshape(-1, 168),
        a_rmax=np.array(a_rmax, dtype=_F),
        a_const=np.array(a_const, dtype=_I),
        a_mix=np.array(a_mix, dtype=_F).reshape(-1, n_c),
        a_mix_n=np.array(a_mix_n, dtype=_I),
        a_bat_off=np.array(a_bat_off, dtype=_I),
        bat_val=np.array(bat_val, dtype=_I),
        bat_cum=np.array(bat_cum, dtype=_F),
        sc_off=np.array(sc_off, dtype=_I),
        sc_t=np.array(sc_t, dtype=_F),
        sc_n=np.array(sc_n, dtype=_I),
        sc_a=np.array(sc_a, dtype=_I),
    )


def rng_states(spec: FlowSpec, seed: int, rep: int) -> np.ndarray:
    """xoshiro256** states, one row per source: ``arrival:<name>`` in spec order, then
    ``service:``, ``patience:``, ``routing:`` for each station (row ``A + 3*j + k``)."""
    sources = [f"arrival:{a.name}" for a in spec.arrivals]
    for s in spec.station_names():
        sources += [f"service:{s}", f"patience:{s}", f"routing:{s}"]
    return np.array([xoshiro_state(seed, rep, src) for src in sources], dtype=np.uint64).reshape(
        -1, 4
    )


def initial_entities(spec: FlowSpec, seed: int, rep: int) -> Initial:
    """The warm-start entities of replication ``rep``; residual durations are drawn here from the
    ``initial`` stream (NumPy generator), group by group and entity by entity."""
    rng = np.random.default_rng(stream_seed(seed, rep, "initial"))
    s_idx = {s: i for i, s in enumerate(spec.station_names())}
    c_idx = {c: i for i, c in enumerate(spec.class_names())}
    st, cls, srv, joined, enter, t_end = [], [], [], [], [], []
    for grp in spec.initial_state:
        station = spec.stations[grp.station]
        in_sys = grp.elapsed if grp.in_system is None else grp.in_system
        for _ in range(grp.count):
            st.append(s_idx[grp.station])
            cls.append(c_idx[grp.entity_class])
            enter.append(-in_sys)
            if grp.status == "in_service":
                srv.append(1)
                joined.append(-grp.elapsed)
                if grp.remaining is not None:
                    t_end.append(grp.remaining)
                else:
                    t_end.append(residual(station.service_for(grp.entity_class), grp.elapsed, rng))
            else:
                srv.append(0)
                joined.append(-grp.elapsed)
                pd = station.patience_for(grp.entity_class)
                t_end.append(math.inf if pd is None else residual(pd, grp.elapsed, rng))
    return Initial(
        st=np.array(st, dtype=_I),
        cls=np.array(cls, dtype=_I),
        in_service=np.array(srv, dtype=_I),
        joined=np.array(joined, dtype=_F),
        enter=np.array(enter, dtype=_F),
        t_end=np.array(t_end, dtype=_F),
    )
