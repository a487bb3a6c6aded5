"""Length of stay (hours): several parametric families fitted to right-censored, left-truncated
durations by maximum likelihood, one chosen by an information criterion, with goodness of fit.

The likelihood of stay ``i`` (duration ``h_i`` hours, observed from ``entry_i`` hours into it):
``f(h_i) / S(entry_i)`` when it ended, ``S(h_i) / S(entry_i)`` when censored (still going at
the end of the data). Goodness of fit compares the fitted survival with the Kaplan-Meier
(product-limit) estimate, which handles the same censoring and truncation: see
``docs/calibration.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, overload

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ._families import FAMILIES, Family

__all__ = ["LengthOfStay", "kaplan_meier"]

Array = np.ndarray
_CRITERIA = ("aic", "bic")
_TABLE_COLUMNS = ["family", "k", "loglik", "aic", "bic", "ks", "ks_p", "chosen"]


def kaplan_meier(
    hours: Array, censored: Array, entry: Array | None = None
) -> tuple[Array, Array, Array]:
    """Product-limit estimate with right censoring and left truncation.

    Returns ``(times, survival, at_risk)``: the distinct event times (hours), S just after each,
    and the number at risk there (``entry < t <= hours``).
    """
    h = np.asarray(hours, dtype=float)
    c = np.asarray(censored, dtype=bool)
    e = np.zeros_like(h) if entry is None else np.asarray(entry, dtype=float)
    times, deaths = np.unique(h[~c], return_counts=True)
    entered = np.searchsorted(np.sort(e), times, side="left")  # entry < t
    left = np.searchsorted(np.sort(h), times, side="left")  # h < t
    at_risk = entered - left
    frac = np.where(at_risk > 0, deaths / np.maximum(at_risk, 1), 0.0)
    return times, np.cumprod(1.0 - frac), at_risk


class LengthOfStay:
    """Fit duration families (hours) by censored maximum likelihood and pick one.

    ``families``: any of exponential, gamma, lognormal, weibull. ``criterion``: ``aic`` or
    ``bic`` (smallest wins). ``level``: the confidence level of :meth:`intervals` (Wald, on the
    log of positive parameters). ``resolution_hours``: ended stays shorter than this (events
    stamped at the same instant) count as this long, so that every density is finite.

    Learned: ``family_``, ``params_`` (named parameters of the chosen family), ``fits_``
    (parameters of every family fitted), ``table_`` (one row per family: loglik, aic, bic, the
    Kaplan-Meier distance ``ks`` and its approximate p-value ``ks_p``, ``chosen``), ``spec_``
    (flow-spec distribution dict, hours), ``mean_`` (hours), ``cov_`` (covariance of the
    optimiser coordinates of the chosen family), ``n_`` (stays used), ``n_events_`` (ended).
    """

    def __init__(
        self,
        families: Sequence[str] = ("exponential", "gamma", "lognormal", "weibull"),
        criterion: str = "aic",
        *,
        level: float = 0.95,
        resolution_hours: float = 1.0 / 60.0,
    ) -> None:
        self.families = tuple(families)
        self.criterion = criterion
        self.level = level
        self.resolution_hours = resolution_hours

    # -- fitting -------------------------------------------------------------------------------

    def _check(self) -> None:
        unknown = [f for f in self.families if f not in FAMILIES]
        if unknown or not self.families:
            raise ValueError(
                f"unknown families {unknown}: choose among {', '.join(FAMILIES)}"
                if unknown
                else "give at least one family"
            )
        if self.criterion not in _CRITERIA:
            raise ValueError(f"criterion '{self.criterion}': use 'aic' or 'bic'")
        if not 0 < self.level < 1:
            raise ValueError("level must be in (0, 1)")

    def fit(
        self,
        hours: Sequence[float] | Array,
        censored: Sequence[bool] | Array | None = None,
        entry: Sequence[float] | Array | None = None,
    ) -> LengthOfStay:
        """Fit every family to stays of ``hours`` (right-censored where ``censored``).

        ``entry`` (hours, default 0): how far into each stay it came under observation (left
        truncation: a stay already going when the data window opened). Returns ``self``.
        """
        self._check()
        h = np.asarray(hours, dtype=float)
        c = np.zeros(h.shape, bool) if censored is None else np.asarray(censored, dtype=bool)
        e = np.zeros(h.shape) if entry is None else np.asarray(entry, dtype=float)
        if not (h.shape == c.shape == e.shape) or h.ndim != 1:
            raise ValueError("hours, censored and entry must be 1-d and of the same length")
        if not (np.all(np.isfinite(h)) and np.all(h >= 0) and np.all((e >= 0) & (e <= h))):
            raise ValueError("hours must be finite and >= 0, with 0 <= entry <= hours")
        h = np.where(c, h, np.maximum(h, self.resolution_hours))
        keep = ~c | (h > e)  # a censored stay seen for no time tells nothing
        h, c, e = h[keep], c[keep], e[keep]
        n_events = int((~c).sum())
        if n_events < 3:
            raise ValueError(f"need at least 3 ended stays to fit a length of stay, got {n_events}")
        fits: dict[str, dict[str, float]] = {}
        covs: dict[str, Array] = {}
        rows: list[dict[str, Any]] = []
        km = kaplan_meier(h, c, e)
        data = (h[~c], h[c], e[e > 0])
        for name in self.families:
            fam = FAMILIES[name]
            theta, loglik = _maximise(fam, data)
            params = fam.to_params(theta)
            fits[name] = params
            covs[name] = _covariance(fam, theta, data)
            k = len(fam.names)
            ks, ks_p = _km_distance(fam.dist(params), km, n_events)
            rows.append(
                {
                    "family": name,
                    "k": k,
                    "loglik": loglik,
                    "aic": 2 * k - 2 * loglik,
                    "bic": k * math.log(len(h)) - 2 * loglik,
                    "ks": ks,
                    "ks_p": ks_p,
                }
            )
        table = pd.DataFrame(rows).sort_values(self.criterion, kind="stable")
        table = table.reset_index(drop=True)
        table["chosen"] = table.index == 0
        self.family_ = str(table["family"].iloc[0])
        self.fits_ = fits
        self.params_ = dict(fits[self.family_])
        self.cov_ = covs[self.family_]
        self.table_ = table[_TABLE_COLUMNS]
        self.n_ = len(h)
        self.n_events_ = n_events
        self._finish()
        return self

    def _finish(self) -> None:
        fam = FAMILIES[self.family_]
        self.spec_ = fam.spec(self.params_)
        self.mean_ = float(fam.dist(self.params_).mean())

    # -- use -----------------------------------------------------------------------------------

    @property
    def _dist(self) -> Any:
        return FAMILIES[self.family_].dist(self.params_)

    def survival(self, t: float | Sequence[float] | Array) -> Array:
        """P(stay > t) under the chosen family; ``t`` in hours."""
        return np.asarray(self._dist.sf(np.asarray(t, dtype=float)), dtype=float)

    @overload
    def remaining(self, elapsed_hours: float) -> dict[str, float]: ...
    @overload
    def remaining(self, elapsed_hours: Sequence[float] | Array) -> dict[str, Array]: ...
    def remaining(self, elapsed_hours: Any) -> Any:
        """Remaining stay (hours) of a patient already in for ``elapsed_hours``: its median and
        mean, conditional on the stay lasting at least that long.

        ``nan`` where the fitted survival to ``elapsed_hours`` underflows (beyond ~1e-300).
        """
        scalar = np.ndim(elapsed_hours) == 0
        e = np.maximum(np.asarray(elapsed_hours, dtype=float), 0.0)
        dist = self._dist
        s = np.asarray(dist.sf(e), dtype=float)
        ok = s > 1e-300
        safe = np.where(ok, s, 1.0)
        median = np.where(ok, dist.isf(0.5 * safe) - e, np.nan)
        partial = FAMILIES[self.family_].partial_mean(self.params_, e)
        mean = np.where(ok, partial / safe - e, np.nan)
        if scalar:
            return {"median": float(median), "mean": float(mean)}
        return {"median": np.asarray(median), "mean": np.asarray(mean)}

    def intervals(self, level: float | None = None) -> dict[str, tuple[float, float]]:
        """Wald intervals of the chosen family's parameters at ``level`` (default ``self.level``),
        built on the log of positive parameters (so they stay positive)."""
        lvl = self.level if level is None else level
        z = float(stats.norm.ppf(0.5 + lvl / 2))
        fam = FAMILIES[self.family_]
        theta = fam.to_theta(self.params_)
        se = np.sqrt(np.clip(np.diag(self.cov_), 0.0, None))
        lo, hi = fam.to_params(theta - z * se), fam.to_params(theta + z * se)
        return {n: (lo[n], hi[n]) for n in fam.names}

    # -- JSON ----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Configuration and fit as plain JSON types (exact round trip with :meth:`from_dict`)."""
        return {
            "families": list(self.families),
            "criterion": self.criterion,
            "level": self.level,
            "resolution_hours": self.resolution_hours,
            "family": self.family_,
            "params": self.params_,
            "fits": self.fits_,
            "cov": [[_num(x) for x in row] for row in self.cov_],
            "n": self.n_,
            "n_events": self.n_events_,
            "table": _records(self.table_),
            "spec": self.spec_,
            "mean": self.mean_,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LengthOfStay:
        """The fitted estimator back from :meth:`to_dict`."""
        los = cls(d["families"], d["criterion"], level=d["level"])
        los.resolution_hours = float(d["resolution_hours"])
        los.family_ = str(d["family"])
        los.params_ = {k: float(v) for k, v in d["params"].items()}
        los.fits_ = {f: {k: float(v) for k, v in p.items()} for f, p in d["fits"].items()}
        cov = [[math.nan if x is None else x for x in row] for row in d["cov"]]
        los.cov_ = np.asarray(cov, dtype=float).reshape(len(los.params_), len(los.params_))
        los.n_, los.n_events_ = int(d["n"]), int(d["n_events"])
        los.table_ = pd.DataFrame(d["table"], columns=_TABLE_COLUMNS)
        los._finish()
        return los


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in table.to_dict("records"):
        out.append(
            {
                "family": str(row["family"]),
                "k": int(row["k"]),
                **{key: _num(row[key]) for key in ("loglik", "aic", "bic", "ks", "ks_p")},
                "chosen": bool(row["chosen"]),
            }
        )
    return out


def _num(x: Any) -> float | None:
    v = float(x)
    return v if math.isfinite(v) else None


def _negloglik(fam: Family, theta: Array, data: tuple[Array, Array, Array]) -> float:
    """Minus the log-likelihood; ``data`` = (ended durations, censored ones, entries > 0)."""
    ended, cens, entry = data
    try:
        params = tuple(fam.to_params(theta).values())
    except OverflowError:
        return math.inf
    with np.errstate(all="ignore"):
        logpdf, logsf = fam.logs(params, ended, np.concatenate([cens, entry]))
        ll = float(np.sum(logpdf) + np.sum(logsf[: len(cens)]) - np.sum(logsf[len(cens) :]))
    return -ll if math.isfinite(ll) else math.inf


def _maximise(fam: Family, data: tuple[Array, Array, Array]) -> tuple[Array, float]:
    ended = data[0]
    mean = float(np.mean(ended))
    sd = float(np.std(ended)) or mean
    start = np.asarray(fam.start(mean, sd), dtype=float)

    def f(theta: Array) -> float:
        return _negloglik(fam, theta, data)

    best = optimize.minimize(f, start, method="BFGS")
    if not (best.success and np.all(np.isfinite(best.x))):  # rough surface: simplex, then BFGS
        simplex = optimize.minimize(f, start, method="Nelder-Mead", options={"fatol": 1e-10})
        polished = optimize.minimize(f, simplex.x, method="BFGS")
        best = polished if polished.fun <= simplex.fun else simplex
    return np.asarray(best.x, dtype=float), -float(best.fun)


def _covariance(fam: Family, theta: Array, data: tuple[Array, Array, Array]) -> Array:
    """Inverse of the observed information (numerical Hessian of the negative log-likelihood)."""
    k = len(theta)
    step = 1e-4 * np.maximum(1.0, np.abs(theta))
    hess = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            tot = 0.0
            for si, sj, sign in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
                t = theta.copy()
                t[i] += si * step[i]
                t[j] += sj * step[j]
                tot += sign * _negloglik(fam, t, data)
            hess[i, j] = hess[j, i] = tot / (4 * step[i] * step[j])
    try:
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        cov = np.full((k, k), np.nan)
    return np.asarray(cov, dtype=float)


def _km_distance(dist: Any, km: tuple[Array, Array, Array], n_events: int) -> tuple[float, float]:
    """Largest gap between the Kaplan-Meier survival and the fitted one, and its p-value from
    the Kolmogorov distribution with ``n_events`` (approximate; see docs/calibration.md)."""
    times, surv, _ = km
    before = np.concatenate([[1.0], surv[:-1]])
    fitted = np.asarray(dist.sf(times), dtype=float)
    d = float(np.max(np.maximum(np.abs(surv - fitted), np.abs(before - fitted))))
    return d, float(stats.kstwo.sf(d, n_events))
