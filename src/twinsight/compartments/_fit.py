"""Maximum-likelihood calibration of a compartmental model to daily counts, with intervals.

``CompartmentFit`` (scikit-learn style: configuration in ``__init__``, ``fit(data)`` returns
self, learned attributes end in ``_``) estimates the ``free`` parameters on a transformed
scale (log for positive parameters, logit for those with two bounds) by L-BFGS on the negative
log-likelihood of the observations under the count-noise model. Gradients are central finite
differences computed in ONE batched simulation (``2P + 1`` parameter sets side by side), and
the Hessian likewise, so a fit costs a few dozen batched solves.

Intervals (``intervals_``): by profile likelihood (default; Wald for the negative binomial's
dispersion, a nuisance parameter) -- for each parameter the values
where ``2 (l_max - l_profile) = chi2_1(level)``, every other parameter re-estimated -- or by
the Wald approximation (``intervals="wald"``: the normal approximation on the transformed
scale, mapped back). Census counts are not independent from day to day, so intervals from a
census fit are too narrow; admissions are the series to fit when there is a choice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.optimize import minimize
from scipy.stats import chi2

from ._model import CompartmentModel, Intervention, ParamValue
from ._noise import Noise, loglik
from ._solve import Method, Trajectory, simulate

__all__ = ["DISPERSION", "MAX_DISPERSION", "CompartmentFit", "FitError", "Free", "Observation"]

#: Name of the negative binomial's dispersion among a fit's parameters.
DISPERSION = "dispersion"
#: Upper bound of the dispersion k: beyond it the negative binomial is Poisson in effect.
MAX_DISPERSION = 1e5
_STEP = 1e-4
#: Tolerance on the signed root of the deviance at an interval's end (0.005: the deviance
#: within ~0.02 of its chi-square quantile, the end within ~0.3% of a standard error).
_ROOT_TOL = 5e-3
_CLIP = 30.0


class FitError(ValueError):
    """The data cannot be fitted (too few days, nothing observed); the message says why."""


@dataclass(frozen=True)
class Free:
    """A parameter to estimate: its starting value and bounds (``lower < init < upper``).
    ``(0, inf)`` is fitted on the log scale, finite bounds on the logit of the position."""

    name: str
    init: float
    lower: float = 0.0
    upper: float = math.inf

    def __post_init__(self) -> None:
        if not self.lower < self.init < self.upper:
            raise ValueError(f"{self.name}: start {self.init} is not inside its bounds")

    def to_theta(self, value: float) -> float:
        """The transformed value (log or logit)."""
        if math.isinf(self.upper):
            return math.log(value - self.lower)
        u = (value - self.lower) / (self.upper - self.lower)
        return math.log(u / (1.0 - u))

    def from_theta(self, theta: np.ndarray) -> np.ndarray:
        """Back from the transformed scale (element-wise)."""
        t = np.clip(theta, -_CLIP, _CLIP)
        if math.isinf(self.upper):
            return np.asarray(self.lower + np.exp(t))
        return np.asarray(self.lower + (self.upper - self.lower) / (1.0 + np.exp(-t)))


@dataclass(frozen=True)
class Observation:
    """A data series the model predicts: the sum of these ``flows`` over each day (admissions:
    ``("I->H",)``) or of these ``compartments`` at the end of each day (census), times
    ``scale`` (a number or a parameter name: a reporting share)."""

    name: str
    flows: tuple[str, ...] = ()
    compartments: tuple[str, ...] = ()
    scale: float | str = 1.0

    def __post_init__(self) -> None:
        if bool(self.flows) == bool(self.compartments):
            raise ValueError(f"observation '{self.name}': give flows or compartments, not both")

    def mean(self, traj: Trajectory, params: Mapping[str, ParamValue]) -> np.ndarray:
        """The expected series ``(B, T)``."""
        if self.compartments:  # the census of day t: the state at its end
            return self._scaled(traj.compartment(*self.compartments)[:, 1:], params)
        return self._scaled(traj.flow(*self.flows), params)

    def _scaled(self, out: np.ndarray, params: Mapping[str, ParamValue]) -> np.ndarray:
        s = params[self.scale] if isinstance(self.scale, str) else self.scale
        s_arr = np.asarray(s, dtype=float)
        return np.asarray(out * (s_arr[:, None] if s_arr.ndim else s_arr))


class CompartmentFit:
    """Fit ``free`` parameters of ``model`` (the others in ``fixed``) to daily series.

    ``data`` for ``fit`` maps each observation's name to an array of daily counts (NaN: not
    observed), all the same length: day 0 is the model's day 0.
    """

    def __init__(
        self,
        model: CompartmentModel,
        fixed: Mapping[str, float],
        free: Sequence[Free],
        observations: Sequence[Observation],
        *,
        noise: Noise = "negbin",
        interventions: Sequence[Intervention] = (),
        method: Method = "difference",
        substeps: int | None = None,
        intervals: Literal["profile", "wald", "none"] = "profile",
        level: float = 0.95,
        dispersion_init: float = 20.0,
    ) -> None:
        self.model = model
        self.fixed = dict(fixed)
        self.free = list(free)
        self.observations = list(observations)
        self.noise: Noise = noise
        self.interventions = list(interventions)
        self.method: Method = method
        self.substeps = substeps
        self.intervals = intervals
        self.level = level
        self.dispersion_init = dispersion_init

    # -- the objective ------------------------------------------------------------------------
    def _all_free(self) -> list[Free]:
        # bounded above (logit scale): counts with no over-dispersion push k towards infinity
        # (Poisson), where a log scale would leave the optimiser on an endless flat ridge
        extra = (
            [Free(DISPERSION, self.dispersion_init, 0.0, MAX_DISPERSION)]
            if self.noise == "negbin"
            else []
        )
        return self.free + extra

    def _params(self, thetas: np.ndarray) -> dict[str, ParamValue]:
        out: dict[str, ParamValue] = dict(self.fixed)
        for j, f in enumerate(self._all_free()):
            out[f.name] = f.from_theta(thetas[:, j])
        return out

    def _nll(self, thetas: np.ndarray) -> np.ndarray:
        """Negative log-likelihood of each row of ``thetas`` (``(B, P)``): one batched solve."""
        params = self._params(thetas)
        traj = simulate(
            self.model,
            params,
            self._days,
            interventions=self.interventions,
            method=self.method,
            substeps=self.substeps,
        )
        k = params.get(DISPERSION)
        total = np.zeros(thetas.shape[0])
        for obs in self.observations:
            mu = obs.mean(traj, params)
            total += loglik(self.noise, self._data[obs.name], mu, k)
        return -total

    def _value_grad(self, sub: np.ndarray, base: np.ndarray, free_idx: np.ndarray) -> Any:
        """The objective and its gradient in the coordinates ``free_idx`` of ``base``."""
        p = sub.size
        batch = np.repeat(base[None, :], 2 * p + 1, axis=0)
        batch[:, free_idx] = sub
        for j, i in enumerate(free_idx):
            batch[1 + 2 * j, i] += _STEP
            batch[2 + 2 * j, i] -= _STEP
        f = self._nll(batch)
        return float(f[0]), (f[1::2] - f[2::2]) / (2 * _STEP)

    def _hessian(self, theta: np.ndarray) -> np.ndarray:
        p, h = theta.size, 1e-3
        pts = [theta.copy()]
        for i in range(p):
            for sign in (1, -1):
                q = theta.copy()
                q[i] += sign * h
                pts.append(q)
        pairs = [(i, j) for i in range(p) for j in range(i + 1, p)]
        for i, j in pairs:
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                q = theta.copy()
                q[i] += si * h
                q[j] += sj * h
                pts.append(q)
        f = self._nll(np.array(pts))
        hess = np.empty((p, p))
        for i in range(p):
            hess[i, i] = (f[1 + 2 * i] + f[2 + 2 * i] - 2 * f[0]) / h**2
        base = 1 + 2 * p
        for n, (i, j) in enumerate(pairs):
            pp, pm, mp, mm = f[base + 4 * n : base + 4 * n + 4]
            hess[i, j] = hess[j, i] = (pp - pm - mp + mm) / (4 * h * h)
        return hess

    def _minimise(self, start: np.ndarray, hold: int | None = None, gtol: float = 1e-5) -> Any:
        """BFGS from ``start``, every coordinate free or all but ``hold`` (a profile)."""
        idx = np.array([i for i in range(start.size) if i != hold], dtype=np.int64)
        res = minimize(
            self._value_grad,
            start[idx],
            args=(start, idx),
            jac=True,
            method="BFGS",
            options={"maxiter": 500, "gtol": gtol},
        )
        full = start.copy()
        full[idx] = res.x
        res.x = full
        return res

    # -- fit ----------------------------------------------------------------------------------
    def fit(self, data: Mapping[str, Sequence[float] | np.ndarray]) -> CompartmentFit:
        """Estimate the free parameters from ``data`` (observation name -> daily counts)."""
        arrays = {k: np.asarray(v, dtype=float) for k, v in data.items()}
        missing = [o.name for o in self.observations if o.name not in arrays]
        if missing:
            raise FitError(f"no data for {', '.join(missing)}")
        lengths = {arrays[o.name].size for o in self.observations}
        if len(lengths) != 1:
            raise FitError(f"the series have different lengths: {sorted(lengths)}")
        self._days = lengths.pop()
        self._data = arrays
        observed = sum(int(np.sum(~np.isnan(arrays[o.name]))) for o in self.observations)
        free = self._all_free()
        if observed < len(free) + 2:
            raise FitError(f"{observed} observed days for {len(free)} parameters: too few to fit")
        start = np.array([f.to_theta(f.init) for f in free])
        res = self._minimise(start)
        theta = np.asarray(res.x, dtype=float)
        self.theta_ = theta
        self.loglik_ = -float(res.fun)
        self.n_obs_ = observed
        self.days_ = self._days
        hess = self._hessian(theta)
        try:
            cov = np.linalg.inv(hess)
            if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) <= 0):
                raise np.linalg.LinAlgError
        except np.linalg.LinAlgError:
            cov = np.linalg.pinv(hess)
            cov = np.where(np.isfinite(cov), cov, 0.0)
        # symmetric and positive semi-definite (rounding, or a flat direction), for draws
        w, v = np.linalg.eigh((cov + cov.T) / 2.0)
        self.cov_ = (v * np.maximum(w, 0.0)) @ v.T
        # BFGS may stop on "precision loss" at the optimum (finite-difference gradients):
        # converged also when one standard error along any parameter could gain at most 0.05
        # in log-likelihood (the gradient in units of the estimate's own uncertainty)
        _, grad = self._value_grad(theta, theta, np.arange(theta.size))
        gain = np.abs(grad) * np.sqrt(np.diag(self.cov_))
        self.converged_ = bool(res.success) or float(np.max(gain)) < 0.05
        names = [f.name for f in free]
        self.names_ = names
        self.estimates_ = {
            n: float(f.from_theta(np.array([t]))[0])
            for n, f, t in zip(names, free, theta, strict=True)
        }
        self.params_ = {**self.fixed, **self.estimates_}
        self.aic_ = 2.0 * len(names) - 2.0 * self.loglik_
        self.compute_intervals()
        return self

    def compute_intervals(self) -> dict[str, tuple[float, float]]:
        """Fill ``intervals_`` by ``self.intervals`` (after ``fit``; call again after changing
        it: a fit made with ``intervals="none"`` can get them later)."""
        names = self.names_
        if self.intervals == "profile":
            # the dispersion is a nuisance parameter: its Wald interval is enough (and cheap)
            self.intervals_ = {
                n: self.wald(n) if n == DISPERSION else self.profile(n) for n in names
            }
        elif self.intervals == "wald":
            self.intervals_ = {n: self.wald(n) for n in names}
        else:
            self.intervals_ = {}
        return self.intervals_

    def wald(self, name: str, level: float | None = None) -> tuple[float, float]:
        """The Wald interval of ``name`` (normal on the transformed scale, mapped back)."""
        j = self.names_.index(name)
        z = math.sqrt(chi2.ppf(level or self.level, 1))
        se = math.sqrt(max(self.cov_[j, j], 0.0))
        f = self._all_free()[j]
        lo, hi = f.from_theta(np.array([self.theta_[j] - z * se, self.theta_[j] + z * se]))
        return float(lo), float(hi)

    def profile(self, name: str, level: float | None = None) -> tuple[float, float]:
        """The profile-likelihood interval of ``name``: where the log-likelihood, maximised
        over the other parameters, falls ``chi2_1(level) / 2`` below its maximum."""
        j = self.names_.index(name)
        drop = chi2.ppf(level or self.level, 1) / 2.0
        theta, cov = self.theta_, self.cov_
        se = math.sqrt(max(cov[j, j], 1e-12))
        # the conditional mean of the others given theta_j (Gaussian approximation): warm start
        slope = cov[:, j] / cov[j, j] if cov[j, j] > 0 else np.zeros(theta.size)

        def excess(v: float) -> float:
            start = theta + slope * (v - theta[j])
            start[j] = v
            if theta.size == 1:
                nll = float(self._nll(start[None, :])[0])
            else:
                nll = float(self._minimise(start, j, gtol=1e-3).fun)
            return float(nll + self.loglik_ - drop)

        f = self._all_free()[j]
        ends = []
        for sign in (-1.0, 1.0):
            ends.append(
                float(f.from_theta(np.array([self._root(theta[j], sign * se, drop, excess)]))[0])
            )
        return ends[0], ends[1]

    @staticmethod
    def _root(centre: float, step: float, drop: float, excess: Any) -> float:
        """Where ``excess`` (``-drop`` at ``centre``, rising away from it) crosses zero on the
        side of ``step``. Root-finding is on the signed root of the deviance,
        ``sqrt(2 (excess + drop))``, which is close to linear in the parameter (exactly, when
        the log-likelihood is quadratic): secant steps out from the Wald end until the root
        is bracketed, then Illinois (regula falsi halving the stale end) closes in."""
        z = math.sqrt(2.0 * drop)

        def g(v: float) -> float:
            return math.sqrt(max(2.0 * (excess(v) + drop), 0.0)) - z

        a, ga = centre, -z
        b = centre + z * step
        gb = g(b)
        for _ in range(30):  # step out (far, when the likelihood is flat: no information)
            if gb >= 0 or abs(b) >= _CLIP:
                break
            ratio = -ga / (gb - ga) if gb > ga else 4.0
            a, ga, b = b, gb, a + (b - a) * min(max(ratio, 1.05), 4.0)
            gb = g(b)
        if gb < 0:
            return float(b)  # the likelihood never drops enough: the interval is open on this side
        if gb < _ROOT_TOL:
            return float(b)
        side, c = 0, b
        for _ in range(30):
            c = b - gb * (b - a) / (gb - ga)
            gc = g(c)
            if abs(gc) < _ROOT_TOL or abs(b - a) < 1e-7:
                return float(c)
            if gc < 0:
                a, ga = c, gc
                if side == -1:
                    gb /= 2.0
                side = -1
            else:
                b, gb = c, gc
                if side == 1:
                    ga /= 2.0
                side = 1
        return float(c)

    # -- using the fit ------------------------------------------------------------------------
    def draws(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``n`` parameter sets from the fit's normal approximation (transformed scale): the
        calibration's uncertainty, for ensembles. Fixed parameters are repeated."""
        thetas = rng.multivariate_normal(
            self.theta_, self.cov_, size=n, method="eigh", check_valid="ignore"
        )
        out: dict[str, np.ndarray] = {k: np.full(n, v) for k, v in self.fixed.items()}
        for j, f in enumerate(self._all_free()):
            out[f.name] = f.from_theta(thetas[:, j])
        return out

    def trajectory(self, days: int | None = None) -> Trajectory:
        """The deterministic solution at the estimates over ``days`` (default: the data's)."""
        return simulate(
            self.model,
            self.params_,
            self.days_ if days is None else days,
            interventions=self.interventions,
            method=self.method,
            substeps=self.substeps,
        )
