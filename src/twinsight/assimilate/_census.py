"""What happened: each unit's census over time, from the stored ADT events.

``census_series(engine, start, end, interval)`` replays every patient's events (the same rules
as ``current_state``: event time order, a missing arrival starts the stay at the first event)
into unit segments and averages the number present in each unit over consecutive bins of
``interval`` hours: the observed counterpart of the forecast's occupancy bins. A segment with no
closing event ends at ``end``, unless the patient's last event is older than the stale horizon
(a missing discharge), when it ends at that horizon (inpatients: ``stale_after_hours`` after the
last event; the ED: ``ed_stale_after_hours`` after entering it).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from ._state import ED, _apply, _Stay, replay_rows

__all__ = ["census_series"]


def _hours_since(origin: datetime, t: datetime) -> float:
    return (t - origin).total_seconds() / 3600.0


def census_series(
    engine: Engine,
    start: datetime,
    end: datetime,
    interval: float = 1.0,
    *,
    stale_after_hours: float = 60 * 24.0,
    ed_stale_after_hours: float = 24.0,
    batch: int = 10_000,
) -> pd.DataFrame:
    """Time-average census per unit in bins of ``interval`` hours over ``[start, end)``.

    Returns a frame indexed by the bins' start instants (UTC) with one column per unit seen.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end need a UTC offset")
    if end <= start or interval <= 0:
        raise ValueError("need start < end and a positive interval")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    span = _hours_since(start, end)
    n = int(np.ceil(span / interval - 1e-9))
    segments: dict[str, list[tuple[float, float]]] = defaultdict(list)

    def close(stay: _Stay | None, until: datetime) -> None:
        if stay is None:
            return
        limit = (
            stay.unit_since + timedelta(hours=ed_stale_after_hours)
            if stay.unit == ED
            else stay.last + timedelta(hours=stale_after_hours)
        )
        stop = min(until, limit)
        if stop > stay.unit_since:
            segments[stay.unit].append(
                (_hours_since(start, stay.unit_since), _hours_since(start, stop))
            )

    key: str | None = None
    stay: _Stay | None = None
    for row in replay_rows(engine, end, batch):
        if row.patient_key != key:
            close(stay, end)
            key, stay = row.patient_key, None
        if row.time >= end:
            continue
        before = stay.unit if stay is not None else None
        since = stay.unit_since if stay is not None else None
        snapshot = (
            _Stay(stay.unit, stay.unit_since, stay.hospital_since, stay.last) if stay else None
        )
        stay = _apply(stay, row.type, row.time, row)
        moved = stay is None or stay.unit != before or stay.unit_since != since
        if snapshot is not None and moved:
            close(snapshot, row.time)
    close(stay, end)

    index = pd.DatetimeIndex([start + timedelta(hours=b * interval) for b in range(n)])
    edges = np.arange(n + 1) * interval
    edges[-1] = min(edges[-1], span)
    widths = np.diff(edges)
    columns = {}
    for unit in sorted(segments):
        seg = np.asarray(segments[unit], dtype=float)
        columns[unit] = _bin_average(seg[:, 0], seg[:, 1], edges) / widths
    return pd.DataFrame(columns, index=index)


def _bin_average(s: np.ndarray, e: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Σ over segments [s, e) of their overlap with each bin (hours): integrals of the count."""
    s = np.clip(s, edges[0], edges[-1])
    e = np.clip(e, edges[0], edges[-1])

    def integral(t: np.ndarray) -> np.ndarray:
        # ∫_0^edge count(t) dt at each edge = Σ clip(edge - s, 0, e - s)
        order_s, order_e = np.sort(s), np.sort(e)
        cs, ce = (
            np.concatenate([[0], np.cumsum(order_s)]),
            np.concatenate([[0], np.cumsum(order_e)]),
        )
        ks = np.searchsorted(order_s, t, side="right")
        ke = np.searchsorted(order_e, t, side="right")
        started = ks * t - cs[ks]  # Σ (t - s) over segments started by t
        ended = ke * t - ce[ke]  # Σ (t - e) over segments ended by t
        return np.asarray(started - ended, dtype=float)

    return np.diff(integral(edges))
