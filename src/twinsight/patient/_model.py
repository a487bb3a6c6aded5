"""A patient's blood pressure twin: Bayesian updating of the Law prior from home readings.

Model (mm Hg; ``t`` in days; one reading ``y`` of metric ``m``, systolic or diastolic)::

    y = mu_m - sum_k r_k * A_mk(t) + u_(day, m) + e

* ``mu_m``: the patient's untreated usual pressure (prior normal, ``baseline_prior``);
* ``r_k``: the patient's response to class ``k`` as a multiple of the Law 2003 effect (prior
  normal with mean 1, sd ``response_sd``), shared by systolic and diastolic and by all doses;
* ``A_mk(t)``: the Law effect of the doses of class ``k`` taken so far (``drug_effect`` at the
  patient's estimated baseline), each change of dose reaching its full effect as
  ``1 - exp(-(t - start) / tau_k)`` (offsets alike); ``tau_k = scale * ONSET_DAYS[k]``, with
  ``scale`` on a grid, its posterior from the marginal likelihood (Bayesian model averaging);
* ``u``: a day's deviation, normal with sd ``sigma_day`` (one per UTC calendar day and metric);
* ``e``: reading-to-reading noise within a day, normal with sd ``sigma_within``.

Given the variances the posterior of ``(mu, r)`` is normal (conjugate); the variances are
estimated from the readings (within-day spread and the spread of day means), shrunk towards
``noise_prior`` by ``prior_weight`` pseudo-readings, alternating with the fit. See
``docs/patient.md`` for the sources of the defaults and the limits of the model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import pandas as pd

from ._prior import CLASSES, REFERENCE_BP, Dose, DrugClass, drug_effect

__all__ = ["ONSET_DAYS", "BloodPressureModel", "RegimenChange", "regimen_matrix"]

Array = np.ndarray
#: Days for a change of dose to reach 63% of its effect (1 - 1/e), by class: most of the effect
#: within 1-4 weeks (an assumption from the usual clinical guidance; see docs/patient.md).
ONSET_DAYS: Final[Mapping[DrugClass, float]] = {
    "thiazide": 7.0,
    "ace_inhibitor": 5.0,
    "arb": 7.0,
    "ccb": 4.0,
    "beta_blocker": 2.0,
}
_DAY_SECONDS = 86_400.0
_N = 2 + len(CLASSES)  # parameters: mu_sys, mu_dia, r_1..r_5


@dataclass(frozen=True)
class RegimenChange:
    """From ``at`` (an instant with offset) the patient takes ``drugs`` (class -> dose).

    The first change of a history is the regimen in place at and long before its ``at``
    (at full effect); an empty ``drugs`` is no treatment.
    """

    at: datetime
    drugs: Mapping[DrugClass, Dose] = field(default_factory=dict)


def _days(times: Any, origin: datetime) -> Array:
    stamps = pd.to_datetime(pd.Series(times), utc=True)
    delta = stamps - pd.Timestamp(origin).tz_convert(UTC)
    return np.asarray(delta.dt.total_seconds(), dtype=float) / _DAY_SECONDS


def regimen_matrix(
    history: Sequence[RegimenChange],
    t: Array,
    origin: datetime,
    baseline: tuple[float, float],
    scale: float,
) -> tuple[Array, Array]:
    """The effects ``A`` (systolic, diastolic; each ``len(t) x 5``, mm Hg) of a history at
    days ``t`` after ``origin``, for onset times ``scale * ONSET_DAYS``."""
    a_sys = np.zeros((len(t), len(CLASSES)))
    a_dia = np.zeros((len(t), len(CLASSES)))
    if not history:
        return a_sys, a_dia
    changes = sorted(history, key=lambda c: c.at)
    starts = [(c.at - origin).total_seconds() / _DAY_SECONDS for c in changes]
    previous: Mapping[DrugClass, Dose] = {}
    for index, (change, start) in enumerate(zip(changes, starts, strict=True)):
        for k, drug in enumerate(CLASSES):
            new = drug_effect(drug, change.drugs[drug], baseline) if drug in change.drugs else None
            old = drug_effect(drug, previous[drug], baseline) if drug in previous else None
            delta = (
                (new or (0.0, 0.0))[0] - (old or (0.0, 0.0))[0],
                (new or (0.0, 0.0))[1] - (old or (0.0, 0.0))[1],
            )
            if delta == (0.0, 0.0):
                continue
            if index == 0:  # in place long before: full effect
                onset = np.ones(len(t))
            else:
                elapsed = np.maximum(t - start, 0.0)
                onset = -np.expm1(-elapsed / (scale * ONSET_DAYS[drug]))
            a_sys[:, k] += delta[0] * onset
            a_dia[:, k] += delta[1] * onset
        previous = change.drugs
    return a_sys, a_dia


class BloodPressureModel:
    """One patient's blood pressure under treatment, learned from home readings.

    Config: ``baseline_prior`` (mean, sd) of the untreated systolic and diastolic usual
    pressure (mm Hg); ``response_sd``: prior sd of the response multipliers (mean 1);
    ``noise_prior`` (within-day sd, day-to-day sd) for systolic and diastolic (mm Hg) and
    ``prior_weight`` (pseudo-readings behind it); ``onset_scales``: the grid of onset-time
    multipliers (uniform prior); ``iterations`` of the variance / mean alternation.

    ``fit(readings, history)``: ``readings`` a frame with ``time`` (UTC), ``metric``
    (``systolic`` / ``diastolic``) and ``value`` (mm Hg); ``history`` the regimen changes.

    Learned: ``origin_`` (the first reading), ``baseline_`` (the plug-in baseline for the Law
    effects), ``sigma_within_`` / ``sigma_day_`` (sys, dia; mm Hg), ``scale_weights_``
    (posterior over ``onset_scales``), ``means_`` / ``covs_`` (the normal posterior of
    ``(mu_sys, mu_dia, r_1..r_5)`` for each scale), ``n_readings_``, ``n_days_``.
    """

    def __init__(
        self,
        *,
        baseline_prior: tuple[tuple[float, float], tuple[float, float]] = (
            (150.0, 20.0),
            (90.0, 12.0),
        ),
        response_sd: float = 0.5,
        noise_prior: tuple[tuple[float, float], tuple[float, float]] = ((6.0, 5.0), (4.0, 3.5)),
        prior_weight: float = 6.0,
        onset_scales: Sequence[float] = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0),
        iterations: int = 4,
    ) -> None:
        self.baseline_prior = baseline_prior
        self.response_sd = response_sd
        self.noise_prior = noise_prior
        self.prior_weight = prior_weight
        self.onset_scales = tuple(onset_scales)
        self.iterations = iterations

    # -- fitting -----------------------------------------------------------------------------

    def _prior(self) -> tuple[Array, Array]:
        mean = np.ones(_N)
        sd = np.full(_N, self.response_sd)
        for m in range(2):
            mean[m], sd[m] = self.baseline_prior[m]
        return mean, np.diag(1.0 / sd**2)

    def _design(self, scale: float) -> Array:
        a_sys, a_dia = regimen_matrix(self._history, self._t, self.origin_, self.baseline_, scale)
        x = np.zeros((len(self._t), _N))
        sys = self._metric == 0
        x[sys, 0] = 1.0
        x[~sys, 1] = 1.0
        x[sys, 2:] = -a_sys[sys]
        x[~sys, 2:] = -a_dia[~sys]
        return x

    def _block_variances(self) -> tuple[Array, Array]:
        """Per day-and-metric block: sigma_within^2 and sigma_day^2 (mm Hg^2)."""
        se2 = np.asarray(self.sigma_within_)[self._block_metric] ** 2
        sd2 = np.asarray(self.sigma_day_)[self._block_metric] ** 2
        return se2, sd2

    def _posterior(self, x: Array) -> tuple[Array, Array, float]:
        """The normal posterior (mean, covariance) and the log marginal likelihood.

        Within a block of ``n`` readings ``V = se2 I + sd2 J``, so
        ``V^-1 = (I - c J) / se2`` with ``c = sd2 / (se2 + n sd2)``.
        """
        m0, p0 = self._prior()
        se2b, sd2b = self._block_variances()
        n = self._block_n
        wb = 1.0 / se2b
        cb = sd2b / (se2b + n * sd2b)
        w = wb[self._block]
        r = self._y - x @ m0
        sx = self._onehot @ x  # block sums
        sr = self._onehot @ r
        xtvx = (x * w[:, None]).T @ x - (sx * (wb * cb)[:, None]).T @ sx
        xtvr = (x * w[:, None]).T @ r - (sx * (wb * cb * sr)[:, None]).sum(axis=0)
        rtvr = float(np.sum(w * r * r) - np.sum(wb * cb * sr * sr))
        precision = p0 + xtvx
        chol = np.linalg.cholesky(precision)
        b = np.linalg.solve(chol, xtvr)
        shift = np.linalg.solve(chol.T, b)
        cov = np.linalg.inv(precision)
        logdet_v = float(np.sum((n - 1) * np.log(se2b) + np.log(se2b + n * sd2b)))
        loglik = -0.5 * (
            rtvr
            - float(b @ b)
            + logdet_v
            - float(np.sum(np.log(np.diag(p0))))
            + 2.0 * float(np.sum(np.log(np.diag(chol))))
            + len(r) * math.log(2.0 * math.pi)
        )
        return m0 + shift, cov, loglik

    def _update_noise(self, x: Array, mean: Array) -> None:
        resid = self._y - x @ mean
        # parameters fitted to each metric's day means: its baseline and half the responses
        # (shared by the two metrics): the degrees of freedom the residuals lost
        lost = 1.0 + 0.5 * float(np.sum(np.any(x[:, 2:] != 0.0, axis=0)))
        nb = len(self._block_n)
        block_mean = np.bincount(self._block, weights=resid, minlength=nb) / self._block_n
        within = resid - block_mean[self._block]
        metric_of_block = self._block_metric
        sw, sd = [0.0, 0.0], [0.0, 0.0]
        for m in range(2):
            rows = self._metric == m
            blocks = metric_of_block == m
            k = self.prior_weight
            prior_w, prior_d = self.noise_prior[m]
            df_w = float(np.sum(self._block_n[blocks] - 1))
            var_w = (k * prior_w**2 + float(np.sum(within[rows] ** 2))) / (k + df_w)
            means = block_mean[blocks]
            spread = float(np.sum(means**2 - var_w / self._block_n[blocks]))
            var_d = (k * prior_d**2 + max(spread, 0.0)) / (
                k + max(float(np.sum(blocks)) - lost, 1.0)
            )
            sw[m], sd[m] = math.sqrt(var_w), math.sqrt(max(var_d, 0.25))
        self.sigma_within_ = (sw[0], sw[1])
        self.sigma_day_ = (sd[0], sd[1])

    def fit(self, readings: pd.DataFrame, history: Sequence[RegimenChange]) -> BloodPressureModel:
        """Learn this patient's baseline, responses, noise and onset from ``readings``."""
        frame = readings.dropna(subset=["value"])
        frame = frame[frame["metric"].isin(["systolic", "diastolic"])]
        if frame.empty:
            raise ValueError("no blood pressure readings to learn from")
        times = pd.to_datetime(frame["time"], utc=True)
        self.origin_ = times.min().to_pydatetime()
        self._history = list(history)
        self._t = _days(times, self.origin_)
        self._y = frame["value"].to_numpy(dtype=float)
        self._metric = (frame["metric"] == "diastolic").to_numpy().astype(int)
        midnight = self.origin_.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        day = np.floor(_days(times, midnight)).astype(int)  # UTC calendar days
        keys = day * 2 + self._metric
        _, self._block, counts = np.unique(keys, return_inverse=True, return_counts=True)
        self._block_n = counts.astype(float)
        self._onehot = np.zeros((len(counts), len(self._y)))
        self._onehot[self._block, np.arange(len(self._y))] = 1.0
        self._block_metric = np.zeros(len(counts), dtype=int)
        self._block_metric[self._block] = self._metric
        self.n_readings_ = len(self._y)
        self.n_days_ = len(np.unique(day))
        self.sigma_within_ = (self.noise_prior[0][0], self.noise_prior[1][0])
        self.sigma_day_ = (self.noise_prior[0][1], self.noise_prior[1][1])
        self.baseline_ = (float(REFERENCE_BP[0]), float(REFERENCE_BP[1]))
        for step in range(self.iterations + 1):
            designs = [self._design(scale) for scale in self.onset_scales]
            fits = [self._posterior(x) for x in designs]
            ll = np.asarray([f[2] for f in fits])
            weights = np.exp(ll - ll.max())
            if step == self.iterations:
                break
            # noise and the plug-in baseline from the most probable onset so far
            best = int(np.argmax(weights))
            self.baseline_ = (float(fits[best][0][0]), float(fits[best][0][1]))
            self._update_noise(designs[best], fits[best][0])
        self.scale_weights_ = weights / weights.sum()
        self.means_ = np.asarray([f[0] for f in fits])
        self.covs_ = np.asarray([f[1] for f in fits])
        return self

    # -- what was learned --------------------------------------------------------------------

    def sample(self, n: int, rng: np.random.Generator) -> tuple[Array, Array]:
        """``n`` draws of ``(mu_sys, mu_dia, r_1..r_5)`` (``n x 7``) and of the onset scale."""
        which = rng.choice(len(self.onset_scales), size=n, p=self.scale_weights_)
        z = rng.standard_normal((n, _N))
        chols = np.linalg.cholesky(self.covs_)
        draws = self.means_[which] + np.einsum("nij,nj->ni", chols[which], z)
        return draws, np.asarray(self.onset_scales)[which]

    def posterior_summary(
        self, level: float = 0.9, draws: int = 4000, seed: int = 0
    ) -> dict[str, Any]:
        """Mean and central ``level`` interval of each parameter (Monte Carlo over the mixture)."""
        theta, scales = self.sample(draws, np.random.default_rng(seed))
        lo, hi = (1 - level) / 2, (1 + level) / 2
        names = ["baseline_systolic", "baseline_diastolic", *(f"response_{c}" for c in CLASSES)]
        out: dict[str, Any] = {}
        for i, name in enumerate(names):
            col = theta[:, i]
            out[name] = {
                "mean": float(col.mean()),
                "lo": float(np.quantile(col, lo)),
                "hi": float(np.quantile(col, hi)),
                "sd": float(col.std()),
            }
        out["onset_scale"] = {
            "mean": float(scales.mean()),
            "weights": dict(
                zip(map(str, self.onset_scales), map(float, self.scale_weights_), strict=True)
            ),
        }
        return out

    def response_sd_(self) -> Array:
        """Posterior sd of each class's response multiplier (mixture over onset scales)."""
        w = self.scale_weights_
        mean = w @ self.means_[:, 2:]
        second = w @ (np.diagonal(self.covs_, axis1=1, axis2=2)[:, 2:] + self.means_[:, 2:] ** 2)
        out: Array = np.sqrt(np.maximum(second - mean**2, 0.0))
        return out

    def trajectory(
        self,
        history: Sequence[RegimenChange],
        times: Sequence[datetime],
        draws: int,
        rng: np.random.Generator,
    ) -> tuple[Array, Array]:
        """Draws of the usual systolic and diastolic pressure (``draws x len(times)``, mm Hg) at
        ``times`` under ``history`` (the past plus any planned change)."""
        theta, scales = self.sample(draws, rng)
        t = _days(list(times), self.origin_)
        sys = np.empty((draws, len(t)))
        dia = np.empty((draws, len(t)))
        for scale in np.unique(scales):
            rows = scales == scale
            a_sys, a_dia = regimen_matrix(history, t, self.origin_, self.baseline_, float(scale))
            sys[rows] = theta[rows, 0:1] - theta[rows, 2:] @ a_sys.T
            dia[rows] = theta[rows, 1:2] - theta[rows, 2:] @ a_dia.T
        return sys, dia

    def steady_state(
        self, regimens: Sequence[Mapping[DrugClass, Dose]], theta: Array
    ) -> tuple[Array, Array]:
        """Usual pressure at full effect of each regimen for draws ``theta`` (``draws x R``)."""
        e_sys = np.zeros((len(regimens), len(CLASSES)))
        e_dia = np.zeros((len(regimens), len(CLASSES)))
        for i, regimen in enumerate(regimens):
            for k, drug in enumerate(CLASSES):
                if drug in regimen:
                    e_sys[i, k], e_dia[i, k] = drug_effect(drug, regimen[drug], self.baseline_)
        sys = theta[:, 0:1] - theta[:, 2:] @ e_sys.T
        dia = theta[:, 1:2] - theta[:, 2:] @ e_dia.T
        return sys, dia
