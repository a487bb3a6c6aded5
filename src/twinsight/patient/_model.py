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

from ._noise import DayBlocks, Layout, Noise, estimate_noise
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
    ``noise_prior`` (within-day sd, day-to-day sd) for systolic and diastolic (mm Hg),
    ``correlation_prior`` (systolic-diastolic correlation of a reading's errors, of a day's
    deviations) and ``prior_weight`` (pseudo-readings behind them); ``onset_scales``: the grid
    of onset-time multipliers (uniform prior); ``iterations`` of the variance / mean alternation.

    ``fit(readings, history)``: ``readings`` a frame with ``time`` (UTC), ``metric``
    (``systolic`` / ``diastolic``) and ``value`` (mm Hg); ``history`` the regimen changes.

    Learned: ``origin_`` (the first reading), ``baseline_`` (the plug-in baseline for the Law
    effects), ``noise_`` (``Noise``: ``sigma_within_`` / ``sigma_day_`` (sys, dia; mm Hg) and
    the correlations ``rho_within_`` / ``rho_day_``), ``scale_weights_``
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
        correlation_prior: tuple[float, float] = (0.5, 0.5),
        prior_weight: float = 6.0,
        onset_scales: Sequence[float] = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0),
        iterations: int = 3,
    ) -> None:
        self.baseline_prior = baseline_prior
        self.response_sd = response_sd
        self.noise_prior = noise_prior
        self.correlation_prior = correlation_prior
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

    def _posterior(self, x: Array) -> tuple[Array, Array, float]:
        """The normal posterior (mean, covariance) and the log marginal likelihood, with the
        day effects and the systolic-diastolic correlations integrated out (``_noise``)."""
        m0, p0 = self._prior()
        r = self._y - x @ m0
        xtvx, xtvr, rtvr, logdet_v = self._blocks.sums(x, r, self.noise_)
        precision = p0 + xtvx
        chol = np.linalg.cholesky(precision)
        b = np.linalg.solve(chol, xtvr)
        shift = np.linalg.solve(chol.T, b)
        cov = np.linalg.inv(precision)
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
        self._set_noise(
            estimate_noise(resid, self._layout, lost, self._noise_prior(), self.prior_weight)
        )

    def _noise_prior(self) -> Noise:
        (sw, sd), (dw, dd) = self.noise_prior
        return Noise((sw, dw), (sd, dd), *self.correlation_prior)

    def _set_noise(self, noise: Noise) -> None:
        self.noise_ = noise
        self.sigma_within_ = noise.within
        self.sigma_day_ = noise.day
        self.rho_within_ = noise.rho_within
        self.rho_day_ = noise.rho_day

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
        self._day = np.floor(_days(times, midnight)).astype(int)  # UTC calendar days
        self._instant = np.unique(self._t, return_inverse=True)[1]
        self._blocks = DayBlocks(self._day, self._metric, self._instant)
        self._layout = Layout.of(self._day, self._metric, self._instant)
        self.n_readings_ = len(self._y)
        self.n_days_ = len(np.unique(self._day))
        fits, states = [], []
        for scale in self.onset_scales:  # each onset with its own noise (a profile likelihood)
            self._set_noise(self._noise_prior())
            self.baseline_ = (float(REFERENCE_BP[0]), float(REFERENCE_BP[1]))
            for _ in range(self.iterations):
                x = self._design(scale)
                mean = self._posterior(x)[0]
                self.baseline_ = (float(mean[0]), float(mean[1]))
                self._update_noise(x, mean)
            fits.append(self._posterior(self._design(scale)))
            states.append((self.noise_, self.baseline_))
        ll = np.asarray([f[2] for f in fits])
        weights = np.exp(ll - ll.max())
        best = int(np.argmax(weights))
        self._set_noise(states[best][0])  # reported: the noise and baseline of the best onset
        self.baseline_ = states[best][1]
        self.scale_weights_ = weights / weights.sum()
        self.means_ = np.asarray([f[0] for f in fits])
        self.covs_ = np.asarray([f[1] for f in fits])
        return self

    # -- what was learned, as plain values (run records) ---------------------------------------

    def to_params(self) -> dict[str, Any]:
        """The configuration and everything learned that predictions use, as JSON-ready values
        (floats exact through JSON): ``from_params`` gives a model that predicts the same."""
        return {
            "config": {
                "baseline_prior": [list(p) for p in self.baseline_prior],
                "response_sd": self.response_sd,
                "noise_prior": [list(p) for p in self.noise_prior],
                "correlation_prior": list(self.correlation_prior),
                "prior_weight": self.prior_weight,
                "onset_scales": list(self.onset_scales),
                "iterations": self.iterations,
            },
            "origin": self.origin_.astimezone(UTC).isoformat(),
            "baseline": list(self.baseline_),
            "noise": {
                "within": list(self.noise_.within),
                "day": list(self.noise_.day),
                "rho_within": self.noise_.rho_within,
                "rho_day": self.noise_.rho_day,
            },
            "scale_weights": [float(w) for w in self.scale_weights_],
            "means": self.means_.tolist(),
            "covs": self.covs_.tolist(),
            "n_readings": int(self.n_readings_),
            "n_days": int(self.n_days_),
        }

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> BloodPressureModel:
        """The model of ``to_params`` (fitted: it predicts, it cannot be refitted)."""
        c = params["config"]
        model = cls(
            baseline_prior=(tuple(c["baseline_prior"][0]), tuple(c["baseline_prior"][1])),
            response_sd=float(c["response_sd"]),
            noise_prior=(tuple(c["noise_prior"][0]), tuple(c["noise_prior"][1])),
            correlation_prior=(float(c["correlation_prior"][0]), float(c["correlation_prior"][1])),
            prior_weight=float(c["prior_weight"]),
            onset_scales=[float(x) for x in c["onset_scales"]],
            iterations=int(c["iterations"]),
        )
        model.origin_ = datetime.fromisoformat(params["origin"])
        model.baseline_ = (float(params["baseline"][0]), float(params["baseline"][1]))
        n = params["noise"]
        model._set_noise(
            Noise(
                (float(n["within"][0]), float(n["within"][1])),
                (float(n["day"][0]), float(n["day"][1])),
                float(n["rho_within"]),
                float(n["rho_day"]),
            )
        )
        model.scale_weights_ = np.asarray(params["scale_weights"], dtype=float)
        model.means_ = np.asarray(params["means"], dtype=float)
        model.covs_ = np.asarray(params["covs"], dtype=float)
        model.n_readings_ = int(params["n_readings"])
        model.n_days_ = int(params["n_days"])
        return model

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
