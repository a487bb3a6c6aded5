"""Synthetic home blood-pressure readings of a patient with known truth (tests, examples).

The readings follow the model of ``_model`` with stated true values: untreated usual pressure,
response multipliers per class, onset scale, day-to-day and reading-to-reading noise. Used to
check that the twin recovers a patient's response with honest intervals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from ._model import RegimenChange, regimen_matrix
from ._prior import CLASSES, DrugClass

__all__ = ["SyntheticPatient", "synthetic_readings"]


@dataclass(frozen=True)
class SyntheticPatient:
    """The truth behind synthetic readings (mm Hg; responses as multiples of Law 2003)."""

    baseline: tuple[float, float]
    responses: Mapping[DrugClass, float]
    onset_scale: float = 1.0
    sigma_within: tuple[float, float] = (6.0, 4.0)
    sigma_day: tuple[float, float] = (5.0, 3.5)
    #: Correlation of systolic with diastolic: a reading's two errors, a day's two deviations.
    rho_within: float = 0.0
    rho_day: float = 0.0


def synthetic_readings(
    patient: SyntheticPatient,
    history: Sequence[RegimenChange],
    start: datetime,
    days: int,
    rng: np.random.Generator,
    *,
    per_day: int = 2,
) -> pd.DataFrame:
    """``per_day`` paired readings a day (08:00 and 20:00 UTC, then 1 h apart) for ``days`` days
    from ``start``: a frame with ``time``, ``metric``, ``value`` (systolic and diastolic rows)."""
    hours = [8.0, 20.0, 9.0, 21.0, 10.0, 22.0][:per_day] if per_day <= 6 else list(range(per_day))
    times = [start + timedelta(days=d, hours=h) for d in range(days) for h in hours]
    t = np.array([(x - start).total_seconds() / 86_400.0 for x in times])
    a_sys, a_dia = regimen_matrix(history, t, start, patient.baseline, patient.onset_scale)
    r = np.array([patient.responses.get(c, 1.0) for c in CLASSES])
    day = np.floor(t).astype(int)
    rows = []
    z_day = rng.standard_normal((2, days))
    z_within = rng.standard_normal((2, len(t)))
    # correlated pairs: the diastolic draw mixes the systolic one (Cholesky of [[1, r], [r, 1]])
    mix = (
        (z_day[0], patient.rho_day * z_day[0] + np.sqrt(1 - patient.rho_day**2) * z_day[1]),
        (
            z_within[0],
            patient.rho_within * z_within[0] + np.sqrt(1 - patient.rho_within**2) * z_within[1],
        ),
    )
    for m, (a, name) in enumerate(((a_sys, "systolic"), (a_dia, "diastolic"))):
        day_effect = patient.sigma_day[m] * mix[0][m][day]
        noise = patient.sigma_within[m] * mix[1][m]
        values = patient.baseline[m] - a @ r + day_effect + noise
        rows.append(pd.DataFrame({"time": times, "metric": name, "value": values}))
    frame = pd.concat(rows, ignore_index=True)
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return frame.sort_values(["time", "metric"], ignore_index=True)
