"""Calibrating the outbreak twin to daily admissions or census: ``calibrate_outbreak``.

The data are a DataFrame indexed by day with one column per metric (``admissions``,
``census``, ``icu``, ``ventilated``; NaN or absent days are gaps, never filled in). Day 0 of
the model is ``config.start`` or the first observed day; the fit uses the days up to ``until``
(default: the last observed day). What is fitted: ``config.series`` (default admissions when
observed, else census) under ``config.noise`` (``auto``: Poisson or negative binomial,
whichever has the lower AIC); estimated: ``config.fit`` and the contact
factor of every measure given without one; uncertainty: profile-likelihood intervals
(``compartments.CompartmentFit``), and for forecasts the normal approximation of the
estimates on their transformed scale (``OutbreakCalibration.draws``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from ..compartments import (
    DISPERSION,
    MAX_DISPERSION,
    CompartmentFit,
    FitError,
    Free,
    Trajectory,
    simulate,
)
from ._template import (
    METRICS,
    SEIR_HOSPITAL,
    OutbreakConfig,
    free_parameters,
    interventions,
    observation,
)

__all__ = ["OutbreakCalibration", "OutbreakCalibrationError", "calibrate_outbreak", "daily_frame"]


class OutbreakCalibrationError(ValueError):
    """The outbreak twin cannot be calibrated (no data, too few days); the message says why."""


def observed_series(frame: pd.DataFrame) -> dict[str, list[float | None]]:
    """Each metric's daily counts in ``frame`` (``daily_frame``) as a list, None for a gap."""
    return {
        m: [None if math.isnan(v) else float(v) for v in frame[m].to_numpy()]
        for m in METRICS
        if m in frame
    }


def daily_frame(data: pd.DataFrame, start: date | None, until: date | None) -> pd.DataFrame:
    """``data`` on a complete daily index from ``start`` (default: its first day) to
    ``until`` (default: its last): a missing day is a row of NaN."""
    if data.empty:
        raise OutbreakCalibrationError("no observations: ingest a file of daily counts first")
    index = pd.DatetimeIndex(pd.to_datetime(data.index)).normalize()
    frame = data.set_axis(index).sort_index()
    first = pd.Timestamp(start) if start is not None else index.min()
    last = pd.Timestamp(until) if until is not None else index.max()
    if last < first:
        raise OutbreakCalibrationError(f"no days between {first.date()} and {last.date()}")
    days = pd.date_range(first, last, freq="D")
    return frame.reindex(days).astype(float)


@dataclass
class OutbreakCalibration:
    """The fitted outbreak model: estimates with intervals, and what a forecast needs."""

    config: OutbreakConfig
    start: date
    days: int
    series: list[str]
    estimates: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    loglik: float
    converged: bool
    n_obs: int
    #: The estimates on the transformed scale (log or logit) and their covariance.
    names: list[str]
    theta: list[float]
    cov: list[list[float]]
    bounds: dict[str, tuple[float, float]]
    fitted: dict[str, list[float]] = field(default_factory=dict)
    observed: dict[str, list[float | None]] = field(default_factory=dict)
    #: The count-noise model fitted (``config.noise``, or the one ``auto`` chose) and the AIC
    #: of each model tried.
    noise: str = "negbin"
    aic: dict[str, float] = field(default_factory=dict)
    #: The data it saw: the latest ingest of the counts (its id) and their latest
    #: ``received_at`` (ISO 8601); None when fitted to a frame not read from a store.
    ingest_id: int | None = None
    data_received: str | None = None

    @property
    def watermark(self) -> date:
        """The last day the calibration used."""
        return self.start + timedelta(days=self.days - 1)

    def params(self) -> dict[str, float]:
        """Every model parameter at the estimates."""
        return {**self.config.fixed(), **self.estimates}

    def draws(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``n`` parameter sets from the normal approximation of the estimates (transformed
        scale): the calibration's uncertainty for ensembles."""
        thetas = rng.multivariate_normal(
            self.theta, np.asarray(self.cov), size=n, method="eigh", check_valid="ignore"
        )
        out = {k: np.full(n, v) for k, v in self.params().items()}
        for j, name in enumerate(self.names):
            lo, hi = self.bounds[name]
            out[name] = Free(name, self.estimates[name], lo, hi).from_theta(thetas[:, j])
        return out

    def trajectory(self, days: int | None = None) -> Trajectory:
        """The deterministic model at the estimates from day 0 over ``days`` days."""
        return simulate(
            SEIR_HOSPITAL,
            self.params(),
            self.days if days is None else days,
            interventions=interventions(self.config, self.start),
            method=self.config.method,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (what ``twinsight calibrate --json`` prints and the twin saves)."""
        return {
            "kind": "outbreak",
            "config": self.config.model_dump(mode="json"),
            "start": self.start.isoformat(),
            "days": self.days,
            "watermark": self.watermark.isoformat(),
            "series": self.series,
            "estimates": self.estimates,
            "intervals": {k: list(v) for k, v in self.intervals.items()},
            "loglik": self.loglik,
            "converged": self.converged,
            "n_obs": self.n_obs,
            "names": self.names,
            "theta": self.theta,
            "cov": self.cov,
            "bounds": {
                k: [v[0], None if math.isinf(v[1]) else v[1]] for k, v in self.bounds.items()
            },
            "fitted": self.fitted,
            "observed": self.observed,
            "noise": self.noise,
            "aic": self.aic,
            "ingest_id": self.ingest_id,
            "data_received": self.data_received,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OutbreakCalibration:
        """The inverse of ``to_dict``."""
        return cls(
            config=OutbreakConfig.model_validate(data["config"]),
            start=date.fromisoformat(data["start"]),
            days=int(data["days"]),
            series=list(data["series"]),
            estimates={k: float(v) for k, v in data["estimates"].items()},
            intervals={k: (float(v[0]), float(v[1])) for k, v in data["intervals"].items()},
            loglik=float(data["loglik"]),
            converged=bool(data["converged"]),
            n_obs=int(data["n_obs"]),
            names=list(data["names"]),
            theta=[float(v) for v in data["theta"]],
            cov=[[float(v) for v in row] for row in data["cov"]],
            bounds={
                k: (float(v[0]), math.inf if v[1] is None else float(v[1]))
                for k, v in data["bounds"].items()
            },
            fitted=dict(data.get("fitted", {})),
            observed=dict(data.get("observed", {})),
            noise=str(data.get("noise", "negbin")),
            aic={k: float(v) for k, v in data.get("aic", {}).items()},
            ingest_id=None if data.get("ingest_id") is None else int(data["ingest_id"]),
            data_received=data.get("data_received"),
        )

    def report(self) -> str:
        """A short text report: the fit, each estimate with its interval."""
        lines = [
            f"outbreak calibration: day 0 = {self.start}, {self.days} days to {self.watermark}, "
            f"fitted to {' + '.join(self.series)} ({self.n_obs} observed days, "
            f"{self.noise} noise"
            + (
                f", AIC {', '.join(f'{k} {v:.1f}' for k, v in self.aic.items())})"
                if len(self.aic) > 1
                else ")"
            ),
            f"  log-likelihood {self.loglik:.2f}{'' if self.converged else ' (NOT converged)'}",
            "  parameter        estimate    95% interval (profile likelihood)",
        ]
        for name, value in self.estimates.items():
            lo, hi = self.intervals.get(name, (math.nan, math.nan))
            lines.append(f"  {name:15} {value:10.4g}    {lo:.4g} - {hi:.4g}")
        return "\n".join(lines) + "\n"


def calibrate_outbreak(
    data: pd.DataFrame,
    config: OutbreakConfig,
    *,
    until: date | None = None,
    intervals: str = "profile",
) -> OutbreakCalibration:
    """Fit the outbreak model to the daily series in ``data`` (see the module docstring)."""
    frame = daily_frame(data, config.start, until)
    start = frame.index[0].date()
    series: list[str] = list(config.series or [])
    if not series:
        present = [m for m in ("admissions", "census") if m in frame and frame[m].notna().any()]
        if not present:
            raise OutbreakCalibrationError(
                "no admissions or census observed: ingest daily counts of either"
            )
        series = present[:1]
    for metric in series:
        if metric not in frame or not frame[metric].notna().any():
            raise OutbreakCalibrationError(
                f"outbreak.series asks for '{metric}', which has no observations"
            )
    last = frame.index[-1].date()
    for m in config.measures:
        if m.contact_factor is None and m.date > last:
            raise OutbreakCalibrationError(
                f"outbreak.measures: the measure of {m.date} is after the last day fitted "
                f"({last}), so the data say nothing of its effect: give its contact_factor "
                "(a scenario) or remove it"
            )
    free = free_parameters(config)
    fits: dict[str, CompartmentFit] = {}
    for noise in ("poisson", "negbin") if config.noise == "auto" else (config.noise,):
        fit = CompartmentFit(
            SEIR_HOSPITAL,
            config.fixed(),
            free,
            [observation(m) for m in series],
            noise=noise,
            interventions=interventions(config, start),
            method=config.method,
            intervals="none",
        )
        try:
            fits[noise] = fit.fit({m: frame[m].to_numpy() for m in series})
        except FitError as exc:
            raise OutbreakCalibrationError(str(exc)) from None
    # the count-noise model that fits: lowest AIC (the negative binomial's extra parameter
    # must buy more than one unit of log-likelihood)
    chosen = min(fits, key=lambda k: fits[k].aic_)
    fit = fits[chosen]
    fit.intervals = "profile" if intervals == "profile" else "wald"
    fit.compute_intervals()
    bounds = {f.name: (f.lower, f.upper) for f in free}
    if chosen == "negbin":
        bounds[DISPERSION] = (0.0, MAX_DISPERSION)
    traj = fit.trajectory()
    fitted = {
        m: [round(float(v), 4) for v in METRICS[m].mean(traj, fit.params_)[0]] for m in METRICS
    }
    observed = observed_series(frame)
    return OutbreakCalibration(
        config=config,
        start=start,
        days=len(frame),
        series=series,
        estimates=dict(fit.estimates_),
        intervals=dict(fit.intervals_),
        loglik=fit.loglik_,
        converged=fit.converged_,
        n_obs=fit.n_obs_,
        names=list(fit.names_),
        theta=[float(v) for v in fit.theta_],
        cov=[[float(v) for v in row] for row in fit.cov_],
        bounds=bounds,
        fitted=fitted,
        observed=observed,
        noise=chosen,
        aic={k: round(f.aic_, 4) for k, f in fits.items()},
    )
