"""Ensembles: many stochastic runs, summarised as prediction bands per day.

``run_ensemble`` runs the binomial chain ``runs`` times from one seed (parameters may differ
per run: the calibration's uncertainty); ``Ensemble.bands`` turns any per-run daily series
into quantiles over runs (default 5, 25, 50, 75, 95%: the 90% and 50% bands and the median).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._model import CompartmentModel, Intervention, Params
from ._solve import Trajectory, simulate_stochastic

__all__ = ["BAND_QUANTILES", "Ensemble", "bands", "run_ensemble"]

#: Quantiles of the usual bands: 90% (5-95), 50% (25-75) and the median.
BAND_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def bands(values: np.ndarray, quantiles: Sequence[float] = BAND_QUANTILES) -> np.ndarray:
    """Quantiles over runs of a ``(runs, days)`` array: ``(len(quantiles), days)``."""
    return np.asarray(np.quantile(np.asarray(values, dtype=float), quantiles, axis=0))


@dataclass(frozen=True)
class Ensemble:
    """The runs of an ensemble (a stochastic ``Trajectory``) and the seed that made them."""

    trajectory: Trajectory
    seed: int

    @property
    def runs(self) -> int:
        """Number of runs."""
        return int(self.trajectory.states.shape[0])

    def flow_bands(self, *labels: str, quantiles: Sequence[float] = BAND_QUANTILES) -> np.ndarray:
        """Bands of the daily sum of these transitions (admissions: ``"I->H"``)."""
        return bands(self.trajectory.flow(*labels), quantiles)

    def compartment_bands(
        self, *names: str, quantiles: Sequence[float] = BAND_QUANTILES
    ) -> np.ndarray:
        """Bands of the sum of these compartments at the end of each day."""
        return bands(self.trajectory.compartment(*names)[:, 1:], quantiles)


def run_ensemble(
    model: CompartmentModel,
    params: Params,
    days: int,
    runs: int,
    seed: int,
    *,
    interventions: Sequence[Intervention] = (),
    x0: np.ndarray | None = None,
) -> Ensemble:
    """``runs`` runs of the binomial chain from ``numpy.random.default_rng(seed)``: the same
    seed, parameters and start give the same runs."""
    rng = np.random.default_rng(seed)
    traj = simulate_stochastic(model, params, days, runs, rng, interventions=interventions, x0=x0)
    return Ensemble(traj, seed)
