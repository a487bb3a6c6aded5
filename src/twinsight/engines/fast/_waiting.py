"""Events of a waiting entity in the fast engine: its patience runs out (docs/semantics.md,
"Patience") or it gets its ``on_wait`` offer ("Offers after a wait"). Times are model time in
the spec's ``time_unit``; array layouts in ``_layout.py``.
"""

from __future__ import annotations

import numpy as np

from ._jit import inlined
from ._layout import (
    ABANDONED,
    BALKED,
    DIVERTED,
    E_CLS,
    E_LVL,
    E_OSEQ,
    E_RSEQ,
    E_ST,
    E_STAT,
    F_OW_P,
    J_ENTER,
    N_ARR,
    N_LVL,
    N_ST,
    N_ST_ACC,
    NWAIT,
    OW_CLS,
    OW_TO,
    S_NIN,
    S_NWAIT,
    SF_C,
    SF_ST,
    ST_WAIT,
    WARMUP,
)
from ._random import uniform
from ._state import flush_station, free, q_remove
from ._stations import join, journeys_start

__all__ = ["offer", "renege"]


@inlined
def renege(
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
def offer(
    mi: np.ndarray, mf: np.ndarray, si: np.ndarray, sf: np.ndarray, ei: np.ndarray,
    ef: np.ndarray, ht: np.ndarray, hq: np.ndarray, hist: np.ndarray, ser: np.ndarray,
    rng: np.ndarray, e: int, seq: int, t: float,
) -> bool:  # fmt: skip
    """The on_wait offer: if ``e`` still waits, draw a uniform (row ``A + 3S + j``); below ``p``
    it leaves the queue (diverted) and joins ``to``, or is lost there if full. False when
    nothing changed (stale event or offer declined)."""
    if ei[e, E_STAT] != ST_WAIT or ei[e, E_OSEQ] != seq:
        return False
    j = ei[e, E_ST]
    if uniform(rng, mi[N_ARR] + 3 * mi[N_ST] + j) >= mf[mi[F_OW_P] + j]:
        return False
    flush_station(mf, si, sf, ser, j, t)
    q_remove(si, ei, j * mi[N_LVL] + ei[e, E_LVL], e)
    si[si[S_NWAIT] + j] -= 1
    si[NWAIT] -= 1
    si[si[S_NIN] + j] -= 1
    if t >= mf[WARMUP]:
        sf[si[SF_ST] + j * N_ST_ACC + DIVERTED] += 1.0
    ei[e, E_RSEQ] = -1
    ei[e, E_OSEQ] = -1
    if mi[mi[OW_CLS] + j] >= 0:
        ei[e, E_CLS] = mi[mi[OW_CLS] + j]
    d = mi[mi[OW_TO] + j]
    if join(mi, mf, si, sf, ei, ef, ht, hq, hist, ser, rng, e, d, t):
        journeys_start(mi, ei, ef, e, d, J_ENTER, t)
    else:
        if t >= mf[WARMUP]:
            sf[si[SF_ST] + d * N_ST_ACC + BALKED] += 1.0
        free(si, ei, e)
    return True
