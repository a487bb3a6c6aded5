"""Turn one replication's accumulators into the KPIs of docs/semantics.md."""

from __future__ import annotations

import math

import numpy as np

from ...spec import FlowSpec
from .._kpi import RepResult, percentile_label
from ._layout import (
    ABANDONED,
    AREA_IN,
    AREA_Q,
    ARRIVALS,
    BALKED,
    DIVERTED,
    HELD_N,
    HELD_SUM,
    N_ST_ACC,
    SERVED,
    SF_C,
    SF_H,
    SF_J,
    SF_R,
    SF_ST,
    WAIT_N,
    WAIT_SUM,
    WITHIN,
)
from ._state import HIST_GROWTH, HIST_ZERO

__all__ = ["hist_percentiles", "rep_result"]

_NAN = math.nan


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else _NAN


def hist_percentiles(
    counts: np.ndarray, qs: list[float], lo: float = 0.0, hi: float = math.inf
) -> list[float]:
    """Percentiles ``qs`` (0-100) of the values counted in a log-spaced histogram.

    Mirrors NumPy's linear method: each order statistic is placed inside its bin (geometric
    interpolation by rank within the bin), then clamped to the smallest and largest values seen
    (``lo``, ``hi``), so that a constant is reproduced exactly; the zero bin stands for 0.
    """
    if not qs:  # none asked for (a forecast reads only series and means): no histogram work
        return []
    cum = np.cumsum(counts)
    n = int(cum[-1])
    if n == 0:
        return [_NAN] * len(qs)
    pos = (n - 1) * np.asarray(qs, dtype=float) / 100.0
    below = np.floor(pos)
    ranks = np.concatenate([below, np.minimum(below + 1, n - 1)])
    k = np.searchsorted(cum, ranks, side="right")  # bin of each order statistic
    k1 = np.maximum(k, 1)
    frac = (ranks - cum[k1 - 1] + 0.5) / np.maximum(counts[k1], 1)  # k == 0: unused
    x = np.clip(HIST_ZERO * HIST_GROWTH ** (k1 - 1 + frac), lo, hi)
    x[k == 0] = 0.0  # the zero bin
    x_lo, x_hi = x[: len(qs)], x[len(qs) :]
    return [float(v) for v in x_lo + (pos - below) * (x_hi - x_lo)]


def rep_result(
    spec: FlowSpec,
    out: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    horizon: float,
    warmup: float,
) -> RepResult:
    """Scalar KPIs (every name of ``kpi_names(spec)``) and the occupancy and queue series of one
    run from the kernel's ``si, sf, hist, ser``."""
    si, sf, hist, ser = out
    stations = spec.station_names()
    n_s, n_r, n_c = len(stations), len(spec.resources), len(spec.classes)
    acc = sf[si[SF_ST] : si[SF_ST] + n_s * N_ST_ACC].reshape(n_s, N_ST_ACC)
    r_acc = sf[si[SF_R] : si[SF_R] + 3 * n_r].reshape(n_r, 3)
    ca = sf[si[SF_C] : si[SF_C] + 3 * n_c].reshape(n_c, 3)
    hist_w, hist_c, hist_j = hist[:n_s], hist[n_s : n_s + n_c], hist[n_s + n_c :]
    h_lo = sf[si[SF_H] :: 2][: n_s + n_c]
    h_hi = sf[si[SF_H] + 1 :: 2][: n_s + n_c]
    journeys = spec.kpis.journeys
    n_j = len(journeys)
    ja = sf[si[SF_J] : si[SF_J] + 3 * n_j].reshape(n_j, 3)
    j_lo = sf[si[SF_H] :: 2][n_s + n_c : n_s + n_c + n_j]
    j_hi = sf[si[SF_H] + 1 :: 2][n_s + n_c : n_s + n_c + n_j]
    qs = list(spec.kpis.percentiles)
    labels = [percentile_label(q) for q in qs]
    span = horizon - warmup
    k: dict[str, float] = {}
    for j, s in enumerate(stations):
        n_w = acc[j, WAIT_N]
        k[f"wait_mean[{s}]"] = _ratio(acc[j, WAIT_SUM], n_w)
        for lab, v in zip(labels, hist_percentiles(hist_w[j], qs, h_lo[j], h_hi[j]), strict=True):
            k[f"wait_{lab}[{s}]"] = v
        if spec.wait_target_for(s) is not None:
            k[f"wait_within_target[{s}]"] = _ratio(acc[j, WITHIN], n_w)
        k[f"queue_mean[{s}]"] = acc[j, AREA_Q] / span
        k[f"in_station_mean[{s}]"] = acc[j, AREA_IN] / span
        k[f"held_mean[{s}]"] = _ratio(acc[j, HELD_SUM], acc[j, HELD_N])
        k[f"served[{s}]"] = acc[j, SERVED]
        k[f"abandoned[{s}]"] = acc[j, ABANDONED]
        k[f"balked[{s}]"] = acc[j, BALKED]
        if spec.stations[s].on_wait is not None:
            k[f"diverted[{s}]"] = acc[j, DIVERTED]
    for r_i, r in enumerate(spec.resource_names()):
        k[f"utilisation[{r}]"] = _ratio(r_acc[r_i, 0], r_acc[r_i, 1])
        k[f"in_use_mean[{r}]"] = r_acc[r_i, 0] / span
    for c_i, c in enumerate(spec.class_names()):
        k[f"time_in_system_mean[{c}]"] = _ratio(ca[c_i, 0], ca[c_i, 1])
        for lab, v in zip(
            labels, hist_percentiles(hist_c[c_i], qs, h_lo[n_s + c_i], h_hi[n_s + c_i]), strict=True
        ):
            k[f"time_in_system_{lab}[{c}]"] = v
        k[f"departures[{c}]"] = ca[c_i, 1]
        k[f"abandoned[{c}]"] = ca[c_i, 2]
    k["wait_mean"] = _ratio(acc[:, WAIT_SUM].sum(), acc[:, WAIT_N].sum())
    targeted = [j for j, s in enumerate(stations) if spec.wait_target_for(s) is not None]
    if targeted:
        k["wait_within_target"] = _ratio(acc[targeted, WITHIN].sum(), acc[targeted, WAIT_N].sum())
    departures = float(ca[:, 1].sum())
    k["time_in_system_mean"] = _ratio(ca[:, 0].sum(), departures)
    if n_c == 1 or not qs:  # one class: the same histogram, the same percentiles
        overall = [k[f"time_in_system_{lab}[{spec.class_names()[0]}]"] for lab in labels]
    else:
        overall = hist_percentiles(
            hist_c.sum(axis=0),
            qs,
            h_lo[n_s:].min(initial=math.inf),
            h_hi[n_s:].max(initial=-math.inf),
        )
    for lab, v in zip(labels, overall, strict=True):
        k[f"time_in_system_{lab}"] = v
    abandoned = float(acc[:, ABANDONED].sum())
    balked = float(acc[:, BALKED].sum())
    k["arrivals"] = float(si[ARRIVALS])
    k["departures"] = departures
    k["abandoned"] = abandoned
    k["balked"] = balked
    k["throughput"] = departures / span
    k["abandon_share"] = _ratio(abandoned, departures + abandoned + balked)
    for j_i, (name, jr) in enumerate(journeys.items()):
        k[f"journey_mean[{name}]"] = _ratio(ja[j_i, 0], ja[j_i, 1])
        for lab, v in zip(
            labels, hist_percentiles(hist_j[j_i], qs, j_lo[j_i], j_hi[j_i]), strict=True
        ):
            k[f"journey_{lab}[{name}]"] = v
        if jr.target is not None:
            k[f"journey_within_target[{name}]"] = _ratio(ja[j_i, 2], ja[j_i, 1])
        k[f"journey_count[{name}]"] = ja[j_i, 1]
    series: dict[str, np.ndarray] = {}
    if spec.kpis.interval:
        iv = spec.kpis.interval
        n_bins = ser.shape[2]
        widths = np.full(n_bins, iv)
        widths[-1] = horizon - (n_bins - 1) * iv
        for j, s in enumerate(stations):
            series[f"occupancy[{s}]"] = ser[0, j] / widths
        for j, s in enumerate(stations):
            series[f"queue[{s}]"] = ser[1, j] / widths
    return RepResult(kpis={key: float(v) for key, v in k.items()}, series=series)
