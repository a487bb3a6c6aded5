"""Warm-up length from pilot runs: MSER-5 on the occupancy series averaged over replications."""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..spec import FlowSpec
from ._runner import run_experiment
from ._stats import mser5

__all__ = ["suggest_warmup"]


def suggest_warmup(
    spec: FlowSpec,
    engine: str = "fast",
    seed: int = 1,
    reps: int = 5,
    kpi_series: str = "occupancy",
    station: str | None = None,
    *,
    horizon: float | None = None,
    interval: float | None = None,
) -> float:
    """Suggest a warm-up period (in the spec's ``time_unit``) by MSER-5.

    Runs ``reps`` pilot replications of ``spec`` on ``engine`` from an empty (or the spec's
    initial) state over ``horizon`` (default: the spec's), with no warm-up and the time series
    ``kpi_series`` recorded in bins of width ``interval`` (default: the horizon / 500). The series
    is averaged over replications and over stations (or taken at ``station`` only), and
    :func:`~twinsight.experiment.mser5` picks the number of leading bins to delete; their total
    width is returned. Warns when MSER-5 reaches the half-way limit, which means the pilot horizon
    is too short to see the end of the transient.
    """
    h = spec.horizon if horizon is None else horizon
    width = h / 500.0 if interval is None else interval
    if width <= 0 or width > h / 10.0:
        raise ValueError(f"interval must be positive and give at least 10 bins over {h}")
    pilot = spec.model_copy(update={"kpis": spec.kpis.model_copy(update={"interval": width})})
    res = run_experiment(pilot, reps=reps, seed=seed, engine=engine, horizon=h, warmup=0.0)
    prefix = f"{kpi_series}["
    if station is not None:
        key = f"{kpi_series}[{station}]"
        if key not in res.series:
            raise ValueError(f"no series {key!r}; known: {sorted(res.series)}")
        keys = [key]
    else:
        keys = [k for k in res.series if k.startswith(prefix)]
        if not keys:
            known = sorted(res.series)
            raise ValueError(f"the engine recorded no {kpi_series!r} series; known: {known}")
    avg = np.mean([np.asarray(res.series[k], dtype=float).mean(axis=0) for k in keys], axis=0)
    full = math.floor(h / width + 1e-9)  # drop a trailing shorter bin
    avg = avg[:full]
    deleted = mser5(avg)
    if deleted >= 5 * ((avg.size // 5) // 2):
        warnings.warn(
            "MSER-5 truncated half of the pilot run: the transient may last longer than the "
            f"pilot horizon {h:g}; run a longer pilot",
            RuntimeWarning,
            stacklevel=2,
        )
    return deleted * width
