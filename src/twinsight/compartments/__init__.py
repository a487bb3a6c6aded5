"""Compartments: a second engine beside the flow engine, for populations that move between
states (susceptible, infected, in hospital, ...) rather than individuals through queues.

Deterministic solutions (difference equations or an ODE) and a stochastic binomial chain,
each vectorised over a batch of parameter sets or runs; interventions that change a parameter
from a day; count-noise likelihoods (Poisson, negative binomial); maximum-likelihood fits with
profile-likelihood intervals; ensembles with prediction bands. Time in days, rates per day.
See ``docs/outbreak.md`` and ``docs/decisions/0006-compartment-engine.md``.
"""

from __future__ import annotations

from ._ensemble import BAND_QUANTILES, Ensemble, bands, run_ensemble
from ._fit import DISPERSION, MAX_DISPERSION, CompartmentFit, FitError, Free, Observation
from ._model import CompartmentModel, Intervention, Params, ParamValue, Transition
from ._noise import Noise, loglik, negbin_loglik, poisson_loglik, sample_counts
from ._solve import Method, Trajectory, simulate, simulate_stochastic

__all__ = [
    "BAND_QUANTILES",
    "DISPERSION",
    "MAX_DISPERSION",
    "CompartmentFit",
    "CompartmentModel",
    "Ensemble",
    "FitError",
    "Free",
    "Intervention",
    "Method",
    "Noise",
    "Observation",
    "ParamValue",
    "Params",
    "Trajectory",
    "Transition",
    "bands",
    "loglik",
    "negbin_loglik",
    "poisson_loglik",
    "run_ensemble",
    "sample_counts",
    "simulate",
    "simulate_stochastic",
]
