"""Compile a :class:`~twinsight.spec.FlowSpec` into flat numpy arrays for the numba kernel.

Indices follow the spec's fixed orders (``station_names``, ``class_names``, ``resource_names``,
arrival streams as listed). All wall-clock conversions come from :mod:`.._calendar`; every time
is model time in the spec's ``time_unit``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ...experiment.streams import stream_seed, xoshiro_states
from ...spec import (
    EXIT,
    MINUTES_PER_WEEK,
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
from .._calendar import Calendar, residuals, survivals
from . import _layout as L
from ._random import KIND

__all__ = ["Initial", "Model", "compile_model", "initial_entities", "rng_states"]

_I = np.int64
_F = np.float64


class Model(NamedTuple):
    """The kernel's read-only view of a spec: two flat arrays laid out as in ``_layout.py``."""

    mi: np.ndarray
    mf: np.ndarray


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

    need_off, need_res, need_amt, keep_amt, opt_off = [0], [], [], [], [0]
    dprio, ow_to, ow_cls, ow_after, ow_p = [], [], [], [], []
    qcap, prio, block, win, win_a, win_b, target = [], [], [], [], [], [], []
    svc = [-1] * (n_s * n_c)
    pat = [-1] * (n_s * n_c)
    rt_off, rt_cum, rt_dest, rt_cls, rt_rel = [0], [], [], [], []
    rel: list[int] = []
    rel_cum: list[float] = []
    rel_sh: list[float] = []
    rel_anchor: list[float] = []
    for j, name in enumerate(stations):
        st = spec.stations[name]
        kept = st.held_when_blocked()  # empty for a station with alternatives (no blocking)
        for option in st.resource_options():
            for r, a in option.items():
                need_res.append(r_idx[r])
                need_amt.append(a)
                keep_amt.append(kept.get(r, 0))
            need_off.append(len(need_res))
        opt_off.append(len(need_off) - 1)
        dprio.append(st.dispatch_priority)
        ow = st.on_wait
        ow_to.append(-1 if ow is None else s_idx[ow.to])
        ow_cls.append(-1 if ow is None or ow.becomes is None else c_idx[ow.becomes])
        ow_after.append(math.inf if ow is None else ow.after)
        ow_p.append(0.0 if ow is None else ow.p)
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
        hours = st.release_hours
        if hours is None:
            rel.append(-1)
        else:
            rel.append(len(rel_sh) // 24)
            shares = hours.normalised()
            last = max(h for h in range(24) if shares[h] > 0)
            hour_cum = [0.0, *np.cumsum(shares).tolist()]
            rel_cum += [x if k <= last else math.inf for k, x in enumerate(hour_cum)]
            rel_sh += shares
            rel_anchor.append(60.0 * hours.anchor_hours())
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
                rt_rel.append(1 if hours is not None and hours.applies_to(row.to) else 0)
            rt_cum[-1] = math.inf  # rows sum to 1 within rounding: the last row takes the rest
            rt_off.append(len(rt_cum))

    levels = sorted({spec.classes[c].priority for c in classes})
    cls_prio = [spec.classes[c].priority for c in classes]
    cls_lvl = [levels.index(p) for p in cls_prio]

    r_cap0 = [cal.initial_capacity(spec.resources[r]) for r in resources]
    cap_cycle = cal.capacity_cycle([spec.resources[r] for r in resources])
    caps = [(t, i, v) for t, (i, v) in zip(cap_cycle.first, cap_cycle.items, strict=True)]

    a_kind, a_st, a_rate, a_rmax, a_const, a_mix, a_mix_n = [], [], [], [], [], [], []
    a_bat_off, bat_val, bat_cum, sc_off, sc_t, sc_n = [0], [], [], [0], [], []
    a_d_off, a_dstep, a_dated = [0], [], []
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
        cum_p[int(np.flatnonzero(probs > 0)[-1]) :] = math.inf
        a_mix.append(cum_p)
        a_mix_n.append(int(np.count_nonzero(probs > 0)))
        if isinstance(arr, PoissonArrivals):
            a_kind.append(0)
            table = cal.rate_table(arr)
            a_rate.append(table)
            a_rmax.append(cal.rate_max(arr))
            a_const.append(1 if arr.profile is None else 0)
            step, dated = cal.dated_rates(arr)
            a_dstep.append(step)
            a_dated += list(dated)
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
            a_dstep.append(1.0)
            slots = cal.arrival_cycle(arr)
            for t, n in zip(slots.first, slots.items, strict=True):
                sc_t.append(t)
                sc_n.append(n)
                max_new = max(max_new, n)
        a_bat_off.append(len(bat_val))
        sc_off.append(len(sc_t))
        a_d_off.append(len(a_dated))

    j_from, j_mode, j_to, j_cls, j_target = [], [], [], [], []
    j_st = [0] * n_s
    for jr in spec.kpis.journeys.values():
        j_from.append(s_idx[jr.from_station])
        j_to.append(s_idx[jr.to_station])
        if jr.start == "enter":
            j_mode.append(L.J_ENTER)
            j_st[j_from[-1]] |= L.J_ENTER_BIT
        else:
            j_mode.append(L.J_SERVICE_END)
            j_st[j_from[-1]] |= L.J_DONE_BIT
        j_st[j_to[-1]] |= L.J_LEAVE_BIT
        j_cls += [1 if jr.counts_class(c) else 0 for c in classes]
        j_target.append(math.inf if jr.target is None else jr.target)

    interval = spec.kpis.interval or 0.0
    n_bins = math.ceil(horizon / interval) if interval else 0
    head = [0] * L.N_HEAD
    head[L.N_ST], head[L.N_CLS], head[L.N_RES], head[L.N_LVL] = (
        n_s,
        n_c,
        len(resources),
        len(levels),
    )
    head[L.N_ARR], head[L.N_CAP] = len(spec.arrivals), len(caps)
    head[L.MAX_NEW], head[L.N_BINS] = max_new, n_bins
    head[L.N_JRN] = len(j_from)
    ints: list[int] = list(head)
    floats: list[float] = [0.0] * L.N_FSCALAR
    floats[L.HORIZON], floats[L.WARMUP], floats[L.INTERVAL] = horizon, warmup, interval
    floats[L.START], floats[L.MPU] = cal.start, cal.mpu
    floats[L.CAP_LEN], floats[L.SC_LEN] = cap_cycle.length, MINUTES_PER_WEEK / cal.mpu

    def add_i(key: int, values: list[int] | np.ndarray) -> None:
        ints[key] = len(ints)
        ints.extend(int(v) for v in values)

    def add_f(key: int, values: Sequence[float] | Sequence[np.ndarray] | np.ndarray) -> None:
        ints[key] = len(floats)
        floats.extend(float(v) for v in np.ravel(values))

    add_i(L.NEED_OFF, need_off)
    add_i(L.NEED_RES, need_res)
    add_i(L.NEED_AMT, need_amt)
    add_i(L.KEEP_AMT, keep_amt)
    add_i(L.QCAP, qcap)
    add_i(L.PRIO, prio)
    add_i(L.BLOCK, block)
    add_i(L.WIN, win)
    add_i(L.SVC, svc)
    add_i(L.PAT, pat)
    add_i(L.RT_OFF, rt_off)
    add_i(L.RT_DEST, rt_dest)
    add_i(L.RT_CLS, rt_cls)
    add_i(L.CLS_PRIO, cls_prio)
    add_i(L.CLS_LVL, cls_lvl)
    add_i(L.D_KIND, kinds)
    add_i(L.CAP_R, [x[1] for x in caps])
    add_i(L.CAP_V, [x[2] for x in caps])
    add_i(L.R_CAP0, r_cap0)
    add_i(L.A_KIND, a_kind)
    add_i(L.A_ST, a_st)
    add_i(L.A_CONST, a_const)
    add_i(L.A_MIX_N, a_mix_n)
    add_i(L.A_BAT_OFF, a_bat_off)
    add_i(L.BAT_VAL, bat_val)
    add_i(L.SC_OFF, sc_off)
    add_i(L.SC_N, sc_n)
    add_i(L.J_FROM, j_from)
    add_i(L.J_MODE, j_mode)
    add_i(L.J_TO, j_to)
    add_i(L.J_CLS, j_cls)
    add_i(L.J_ST, j_st)
    add_i(L.OPT_OFF, opt_off)
    add_i(L.DPRIO, dprio)
    add_i(L.OW_TO, ow_to)
    add_i(L.OW_CLS, ow_cls)
    add_i(L.A_D_OFF, a_d_off)
    add_i(L.REL, rel)
    add_i(L.RT_REL, rt_rel)
    add_f(L.F_WIN_A, win_a)
    add_f(L.F_WIN_B, win_b)
    add_f(L.F_TARGET, target)
    add_f(L.F_RT_CUM, rt_cum)
    emp_base = len(floats) + 4 * len(pars)  # empirical values follow the parameters
    for kind, par in zip(kinds, pars, strict=True):
        if kind == KIND["empirical"]:
            par[0] += emp_base
    add_f(L.F_D_PAR, [x for par in pars for x in par])
    floats.extend(emp)
    add_f(L.F_CAP_T, [x[0] for x in caps])
    add_f(L.F_A_RATE, a_rate)
    add_f(L.F_A_RMAX, a_rmax)
    add_f(L.F_A_MIX, a_mix)
    add_f(L.F_BAT_CUM, bat_cum)
    add_f(L.F_SC_T, sc_t)
    add_f(L.F_J_TARGET, j_target)
    add_f(L.F_OW_AFTER, ow_after)
    add_f(L.F_OW_P, ow_p)
    add_f(L.F_A_DSTEP, a_dstep)
    add_f(L.F_A_DATED, a_dated)
    add_f(L.F_REL_CUM, rel_cum)
    add_f(L.F_REL_SH, rel_sh)
    add_f(L.F_REL_ANCHOR, rel_anchor)
    return Model(mi=np.array(ints, dtype=_I), mf=np.array(floats, dtype=_F))


def rng_states(spec: FlowSpec, seed: int, rep: int) -> np.ndarray:
    """xoshiro256** states, one row per source: ``arrival:<name>`` in spec order, then
    ``service:``, ``patience:``, ``routing:`` for each station (row ``A + 3*j + k``), then
    ``onwait:`` for each station (row ``A + 3*S + j``), then ``release:`` for each station with
    release hours, in station order (row ``A + 4*S + r``)."""
    sources = [f"arrival:{a.name}" for a in spec.arrivals]
    for s in spec.station_names():
        sources += [f"service:{s}", f"patience:{s}", f"routing:{s}"]
    sources += [f"onwait:{s}" for s in spec.station_names()]
    sources += [f"release:{s}" for s, st in spec.stations.items() if st.release_hours is not None]
    return xoshiro_states(seed, rep, sources)


class InitialTemplate(NamedTuple):
    """The warm start without its random part: the entities' arrays (``t_end`` NaN where a
    residual is drawn) and, per distribution, which entities draw from it and their elapsed
    times; ``draw_pos`` gives each job's positions in the replication's uniforms."""

    base: Initial
    jobs: list[tuple[Distribution, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]]
    draws: int


def initial_template(spec: FlowSpec) -> InitialTemplate:
    """Everything about ``spec``'s warm start that does not change between replications."""
    s_idx = {s: i for i, s in enumerate(spec.station_names())}
    c_idx = {c: i for i, c in enumerate(spec.class_names())}
    st, cls, srv, joined, enter = [], [], [], [], []
    t_end: list[float] = []
    pending: dict[int, tuple[Distribution, list[int], list[float], list[int]]] = {}
    draws = 0

    def later(dist: Distribution, elapsed: float) -> float:
        nonlocal draws
        job = pending.setdefault(id(dist), (dist, [], [], []))
        job[1].append(len(t_end))
        job[2].append(elapsed)
        job[3].append(draws)
        draws += 1
        return math.nan

    for grp in spec.initial_state:
        station = spec.stations[grp.station]
        in_sys = grp.elapsed if grp.in_system is None else grp.in_system
        for _ in range(grp.count):
            st.append(s_idx[grp.station])
            cls.append(c_idx[grp.entity_class])
            enter.append(-in_sys)
            joined.append(-grp.elapsed)
            if grp.status == "in_service":
                srv.append(1)
                if grp.remaining is not None:
                    t_end.append(grp.remaining)
                else:
                    t_end.append(later(station.service_for(grp.entity_class), grp.elapsed))
            else:
                srv.append(0)
                pd = station.patience_for(grp.entity_class)
                t_end.append(math.inf if pd is None else later(pd, grp.elapsed))
    base = Initial(
        st=np.array(st, dtype=_I),
        cls=np.array(cls, dtype=_I),
        in_service=np.array(srv, dtype=_I),
        joined=np.array(joined, dtype=_F),
        enter=np.array(enter, dtype=_F),
        t_end=np.array(t_end, dtype=_F),
    )
    jobs = []
    for d, w, e, p in pending.values():
        elapsed = np.array(e, dtype=_F)
        jobs.append((d, np.array(w, dtype=np.int64), elapsed, np.array(p, dtype=np.int64),
                     survivals(d, elapsed)))  # fmt: skip
    return InitialTemplate(base, jobs, draws)


def initial_entities(
    spec: FlowSpec, seed: int, rep: int, template: InitialTemplate | None = None
) -> Initial:
    """The warm-start entities of replication ``rep``; residual durations are drawn from the
    ``initial`` stream (NumPy generator), one uniform per drawing entity in placement order.
    ``template``: ``initial_template(spec)``, computed once for many replications."""
    tpl = template or initial_template(spec)
    if not tpl.draws:
        return tpl.base
    u = np.random.default_rng(stream_seed(seed, rep, "initial")).random(tpl.draws)
    t_end = tpl.base.t_end.copy()
    for dist, where, elapsed, pos, sf in tpl.jobs:
        t_end[where] = residuals(dist, elapsed, u[pos], sf)
    return tpl.base._replace(t_end=t_end)
