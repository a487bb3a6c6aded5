"""Layout of the kernel's flat arrays (indices are plain ints, frozen into the compiled code).

The kernel passes a handful of flat arrays instead of many small ones: numba copies every array
argument's descriptor on each call and reference-counts it, which dominated the run time.

Model (read-only, built by ``_compile.py``):

- ``mi`` (int64): ``mi[0:N_HEAD]`` holds sizes and the start of each section; e.g. the queue
  capacity of station ``j`` is ``mi[mi[QCAP] + j]``. Sections whose name starts with ``F_`` are
  offsets into ``mf``.
- ``mf`` (float64): the scalars ``HORIZON .. SC_LEN`` (time_unit; START in minutes of week,
  MPU minutes per time_unit; CAP_LEN and SC_LEN the lengths of the capacity and scheduled-arrival
  cycles), then the float sections. Calendars are stored for one cycle only (memory does not
  grow with the horizon): occurrence ``m`` of a cycle of ``n`` entries is entry ``m % n`` at
  ``first + (m // n) * length``, the formula of ``_calendar.Cycle``.

State of one replication (built in ``_state.py``):

- ``si`` (int64): counters ``HN .. NWAIT``, then per-station / per-resource integer sections
  whose offsets are stored at ``si[S_*]``.
- ``sf`` (float64): accumulators, sections at ``si[SF_*]``; station rows have ``N_ST_ACC``
  columns (``WAIT_SUM .. LAST``), resource rows 3 (in use area, capacity area, last update),
  class rows 3 (time-in-system sum, departures, abandoned), journey rows 3 (sum, count, within
  target), histogram rows 2 (min, max). Histogram rows (``hist``): stations (waits), classes
  (times in system), journeys.
- ``ei``/``ef``: entity pool rows (``E_*`` integer columns, ``EF_*`` float columns, then one
  journey start time per journey).
- ``ht``/``hq``: event heap (time; sequence and payload = datum * 8 + event type).
"""

from __future__ import annotations

# ----- model header: sizes ------------------------------------------------------------------------
N_ST, N_CLS, N_RES, N_LVL, N_ARR, MAX_NEW, N_BINS, N_CAP, N_JRN = range(9)
# ----- model header: int sections of mi -----------------------------------------------------------
(
    NEED_OFF,  # [O+1] CSR of each resource option o into NEED_RES / NEED_AMT / KEEP_AMT
    NEED_RES,
    NEED_AMT,
    KEEP_AMT,  # amount kept while blocked
    QCAP,  # [S] -1: unlimited
    PRIO,  # [S] 1: priority discipline
    BLOCK,  # [S] 1: blocking
    WIN,  # [S] 1: release window
    SVC,  # [S*C] service distribution id
    PAT,  # [S*C] patience distribution id (-1: none)
    RT_OFF,  # [S*C+1] CSR into routing rows
    RT_DEST,  # station (-1: exit)
    RT_CLS,  # new class (-1: unchanged)
    CLS_PRIO,  # [C]
    CLS_LVL,  # [C] queue level of the class priority
    D_KIND,  # [D] distribution kind
    CAP_R,  # [N_CAP] resource of each capacity step of one cycle (length CAP_LEN)
    CAP_V,  # new capacity
    R_CAP0,  # [R] capacity at t = 0
    A_KIND,  # [A] 0 poisson, 1 scheduled
    A_ST,  # [A] station joined
    A_CONST,  # [A] 1: constant rate
    A_MIX_N,  # [A] classes with p > 0
    A_BAT_OFF,  # [A+1] CSR into BAT_VAL / F_BAT_CUM
    BAT_VAL,
    SC_OFF,  # [A+1] CSR into the scheduled slots of one week (length SC_LEN)
    SC_N,  # count of a scheduled arrival
    J_FROM,  # [J] station where each journey starts
    J_MODE,  # [J] its start point: J_ENTER or J_SERVICE_END
    J_TO,  # [J] station at whose departure it ends
    J_CLS,  # [J*C] 1: an entity of this class at the start point starts the journey
    J_ST,  # [S] bits: some journey starts on entering (J_ENTER_BIT) / at service end
    #        (J_DONE_BIT) at the station, or ends on leaving it (J_LEAVE_BIT)
    OPT_OFF,  # [S+1] CSR of each station into its resource options (resources, alternatives)
    DPRIO,  # [S] dispatch priority of the station (lower first)
    OW_TO,  # [S] on_wait destination station (-1: no on_wait)
    OW_CLS,  # [S] on_wait new class (-1: unchanged)
    A_D_OFF,  # [A+1] CSR of each stream into its dated rates F_A_DATED
    REL,  # [S] release-hours index r of the station (-1: none); its stream is row A + 4S + r
    RT_REL,  # [routing rows] 1: an entity routed by this row is re-timed (release hours)
    # ----- float sections of mf ----------------------------------------------------------------
    F_WIN_A,  # [S] window start, minutes of day
    F_WIN_B,  # [S] window end
    F_TARGET,  # [S] wait target (inf: none)
    F_RT_CUM,  # cumulative routing probabilities (last row of a table: inf)
    F_D_PAR,  # [D*4] distribution parameters (empirical: absolute offset in mf, count)
    F_CAP_T,  # [N_CAP] capacity step times in the first cycle, (0, CAP_LEN]
    F_A_RATE,  # [A*168] rate per time_unit by hour of week
    F_A_RMAX,  # [A]
    F_A_MIX,  # [A*C] cumulative class probabilities (last class with p > 0: inf)
    F_BAT_CUM,  # cumulative batch-size probabilities
    F_SC_T,  # scheduled arrival times in the first week, [0, SC_LEN)
    F_J_TARGET,  # [J] journey target (inf: none)
    F_OW_AFTER,  # [S] on_wait offer after this wait (time_unit)
    F_OW_P,  # [S] on_wait acceptance probability
    F_A_DSTEP,  # [A] step of the dated rates (time_unit)
    F_A_DATED,  # dated rates per time_unit, from model time 0
    F_REL_CUM,  # [R*25] cumulative normalised hourly shares of release hours r (inf after the
    #             last hour with a positive share)
    F_REL_SH,  # [R*24] the normalised hourly shares
    F_REL_ANCHOR,  # [R] anchor of release hours r (minutes of day)
) = range(9, 67)
N_HEAD = 67
# ----- journey start points, and the bits of J_ST -------------------------------------------------
J_ENTER, J_SERVICE_END = range(2)
J_ENTER_BIT, J_DONE_BIT, J_LEAVE_BIT = 1, 2, 4
# ----- model float scalars ------------------------------------------------------------------------
HORIZON, WARMUP, START, MPU, INTERVAL, CAP_LEN, SC_LEN = range(7)
N_FSCALAR = 7

# ----- state counters (si[0:9]) -------------------------------------------------------------------
HN, SEQ, NLIVE, FREE, NBLK, ARRIVALS, ESEQ, POOL, NWAIT = range(9)
# ----- state section offsets (si[9:..]) -----------------------------------------------------------
(S_NWAIT, S_NIN, S_BHEAD, S_BTAIL, S_NBLK, S_QHEAD, S_QTAIL, S_RUSE, S_RCAP) = range(9, 18)
SF_ST, SF_R, SF_C, SF_H, SF_J = range(18, 23)  # sections of sf
N_SHEAD = 23
# ----- station accumulator columns ----------------------------------------------------------------
(
    WAIT_SUM,
    WAIT_N,
    WITHIN,
    AREA_Q,
    AREA_IN,
    HELD_SUM,
    HELD_N,
    SERVED,
    ABANDONED,
    BALKED,
    LAST,
    DIVERTED,
) = range(12)
N_ST_ACC = 12

# ----- entity columns -----------------------------------------------------------------------------
E_CLS, E_ST, E_DEST, E_STAT, E_PREV, E_NXT, E_SEQ, E_RSEQ, E_KEY, E_LVL, E_OPT, E_OSEQ = range(12)
N_EI = 12  # E_OPT: resource option held; E_OSEQ: sequence of the pending on_wait event
EF_JOINED, EF_ENTER, EF_DONE = range(3)
N_EF = 3  # then one column per journey: its start time, -1 when the entity is not on it
# ----- entity status ------------------------------------------------------------------------------
ST_FREE, ST_WAIT, ST_SERVICE, ST_HELD, ST_BLOCKED = range(5)
# ----- event types (low 3 bits of a payload) ------------------------------------------------------
EV_ARRIVAL, EV_SCHEDULED, EV_CAPACITY, EV_DONE, EV_RENEGE, EV_WINDOW, EV_ONWAIT = range(7)
