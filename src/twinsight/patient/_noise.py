"""The noise of home readings: within a day and from day to day, systolic with diastolic.

Per day, the readings ``y`` (both metrics) have covariance ``V`` (mm Hg^2)::

    V[i, j] = sd_m^2 + (i == j) se_m^2                         same metric m
            = rho_day sd_s sd_d + (same instant) rho_within se_s se_d   systolic with diastolic

(``se``: reading-to-reading sd within a day; ``sd``: sd of a day's deviation; ``rho_within``:
correlation of a paired reading's two errors; ``rho_day``: of a day's two deviations).
``DayBlocks`` groups days by their pattern of readings so that each pattern's ``V`` is factored
once, and returns the generalised least-squares sums the conjugate update needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["DayBlocks", "Layout", "Noise", "estimate_noise"]

Array = np.ndarray


@dataclass(frozen=True)
class Noise:
    """sds (systolic, diastolic; mm Hg) and the systolic-diastolic correlations."""

    within: tuple[float, float]
    day: tuple[float, float]
    rho_within: float = 0.0
    rho_day: float = 0.0


class DayBlocks:
    """Readings grouped by day; days grouped by their pattern of (metric, instant)."""

    def __init__(self, day: Array, metric: Array, instant: Array) -> None:
        order = np.lexsort((metric, instant, day))
        groups: dict[tuple[tuple[int, int], ...], list[Array]] = {}
        bounds = np.flatnonzero(np.diff(day[order])) + 1
        for rows in np.split(order, bounds):
            local = np.unique(instant[rows], return_inverse=True)[1]
            key = tuple(zip(metric[rows].tolist(), local.tolist(), strict=True))
            groups.setdefault(key, []).append(rows)
        self.groups = [(np.array(key), np.vstack(rows)) for key, rows in groups.items()]

    def covariance(self, pattern: Array, noise: Noise) -> Array:
        """``V`` of one day with ``pattern`` rows of (metric, instant)."""
        m, inst = pattern[:, 0], pattern[:, 1]
        se = np.asarray(noise.within)[m]
        sd = np.asarray(noise.day)[m]
        same_metric = m[:, None] == m[None, :]
        same_instant = inst[:, None] == inst[None, :]
        day = np.where(same_metric, 1.0, noise.rho_day) * np.outer(sd, sd)
        within = np.where(same_metric, 1.0, noise.rho_within) * np.outer(se, se)
        result: Array = day + np.where(same_instant, within, 0.0)
        return result

    def sums(self, x: Array, r: Array, noise: Noise) -> tuple[Array, Array, float, float]:
        """``X'V^-1 X``, ``X'V^-1 r``, ``r'V^-1 r`` and ``log det V`` over all days."""
        p = x.shape[1]
        xtvx = np.zeros((p, p))
        xtvr = np.zeros(p)
        rtvr = 0.0
        logdet = 0.0
        for pattern, rows in self.groups:
            chol = np.linalg.cholesky(self.covariance(pattern, noise))
            inv = np.linalg.inv(chol)
            xw = np.matmul(inv, x[rows]).reshape(-1, p)  # whitened rows of all these days
            rw = (r[rows] @ inv.T).reshape(-1)
            xtvx += xw.T @ xw
            xtvr += xw.T @ rw
            rtvr += float(rw @ rw)
            logdet += len(rows) * 2.0 * float(np.sum(np.log(np.diag(chol))))
        return xtvx, xtvr, rtvr, logdet


def _shrunk_correlation(
    cross: float, a: float, b: float, n: float, prior: float, k: float
) -> float:
    """A correlation from sums of products, shrunk towards ``prior`` by ``k`` pseudo-pairs."""
    if n <= 0 or a <= 0 or b <= 0:
        return prior
    rho = cross / math.sqrt(a * b)
    return float(np.clip((n * rho + k * prior) / (n + k), -0.95, 0.95))


@dataclass(frozen=True)
class Layout:
    """Where each reading sits: its day-and-metric block, and the paired readings."""

    block: Array  # block of each reading
    n: Array  # readings per block
    block_metric: Array
    block_day: Array
    paired: tuple[Array, Array]  # rows of the systolic and diastolic halves of each pair
    share: float  # mean over days of pairs / (n_sys n_dia)

    @classmethod
    def of(cls, day: Array, metric: Array, instant: Array) -> Layout:
        key = day * 2 + metric
        _, block, counts = np.unique(key, return_inverse=True, return_counts=True)
        block_metric = np.zeros(len(counts), dtype=int)
        block_metric[block] = metric
        block_day = np.zeros(len(counts), dtype=int)
        block_day[block] = day
        first: dict[int, int] = {}
        sys_rows, dia_rows = [], []
        for i in np.flatnonzero(metric == 0):
            first.setdefault(int(instant[i]), int(i))
        for i in np.flatnonzero(metric == 1):
            j = first.get(int(instant[i]))
            if j is not None:
                sys_rows.append(j)
                dia_rows.append(int(i))
        per_day = np.bincount(day[sys_rows], minlength=int(day.max()) + 1) if sys_rows else None
        n_of = {
            (int(d), int(m)): float(c)
            for d, m, c in zip(block_day, block_metric, counts, strict=True)
        }
        shares = [
            float(per_day[d]) / (n_of[(d, 0)] * n_of[(d, 1)])
            for d in range(len(per_day) if per_day is not None else 0)
            if per_day is not None and per_day[d] > 0
        ]
        return cls(
            block,
            counts.astype(float),
            block_metric,
            block_day,
            (np.asarray(sys_rows, dtype=int), np.asarray(dia_rows, dtype=int)),
            float(np.mean(shares)) if shares else 0.0,
        )


def estimate_noise(resid: Array, layout: Layout, lost: float, prior: Noise, weight: float) -> Noise:
    """Moment estimates from residuals, each shrunk towards ``prior`` by ``weight`` readings.

    Within: the spread of readings around their day-and-metric mean; day to day: the spread of
    those means less their within-day part, over the blocks less ``lost`` (the parameters
    fitted to them); correlations: of paired within-day deviations, and of the two metrics'
    day means less the within-day part they share.
    """
    n, block = layout.n, layout.block
    block_mean = np.bincount(block, weights=resid, minlength=len(n)) / n
    dev = resid - block_mean[block]
    within, days = [0.0, 0.0], [0.0, 0.0]
    for m in range(2):
        blocks = layout.block_metric == m
        rows = blocks[block]
        df = float(np.sum(n[blocks] - 1))
        var_w = (weight * prior.within[m] ** 2 + float(np.sum(dev[rows] ** 2))) / (weight + df)
        spread = float(np.sum(block_mean[blocks] ** 2 - var_w / n[blocks]))
        var_d = (weight * prior.day[m] ** 2 + max(spread, 0.0)) / (
            weight + max(float(np.sum(blocks)) - lost, 0.0)
        )
        within[m], days[m] = math.sqrt(var_w), math.sqrt(max(var_d, 0.25))
    ds, dd = dev[layout.paired[0]], dev[layout.paired[1]]
    rho_w = _shrunk_correlation(
        float(ds @ dd), float(ds @ ds), float(dd @ dd), len(ds), prior.rho_within, weight
    )
    sys_days = layout.block_day[layout.block_metric == 0]
    dia_days = layout.block_day[layout.block_metric == 1]
    both, i_s, i_d = np.intersect1d(sys_days, dia_days, return_indices=True)
    rho_d = prior.rho_day
    if len(both):
        s = block_mean[layout.block_metric == 0][i_s]
        d = block_mean[layout.block_metric == 1][i_d]
        cross = float(s @ d) - len(both) * rho_w * within[0] * within[1] * layout.share
        k = float(len(both))
        rho_d = _shrunk_correlation(cross / (days[0] * days[1]), k, k, k, prior.rho_day, weight)
    return Noise((within[0], within[1]), (days[0], days[1]), rho_w, rho_d)
