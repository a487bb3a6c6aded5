"""``PatientTwin``: the patient twin for notebooks, answers as pandas DataFrames.

    >>> from twinsight.patient import PatientTwin
    >>> twin = PatientTwin("alice", home="twins", create=True)    # doctest: +SKIP
    >>> twin.ingest("readings.csv", "profile.yaml")               # doctest: +SKIP
    >>> twin.options()                                            # doctest: +SKIP

The same operations as the CLI (``twinsight ingest / calibrate / forecast / recommend`` on a
twin made with ``--template patient``). Decision support for clinicians, not medical advice.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from ..twin import Twin, init_twin, open_twin
from ._ops import (
    PatientCalibration,
    calibrate_patient,
    forecast_patient,
    ingest_patient_file,
    twin_profile,
)
from ._prior import Dose, DrugClass
from ._recommend import DISCLAIMER, Recommendation, recommend

__all__ = ["PatientTwin"]


class PatientTwin:
    """An opened patient twin (``create=True`` makes it first). Close it, or use ``with``."""

    disclaimer = DISCLAIMER

    def __init__(
        self,
        name: str,
        *,
        home: Path | str | None = None,
        db: str | None = None,
        create: bool = False,
    ) -> None:
        self.twin: Twin = (
            init_twin(name, "patient", home=home, db_url=db)
            if create
            else open_twin(name, home=home, db_url=db)
        )
        if self.twin.template != "patient":
            self.twin.close()
            raise ValueError(f"twin '{name}' is a {self.twin.template} twin, not a patient twin")

    def ingest(self, *paths: Path | str) -> pd.DataFrame:
        """Reading files (CSV, FHIR) and profiles (.yaml/.yml): one row of counts per file."""
        return pd.DataFrame([ingest_patient_file(self.twin, Path(p)) for p in paths])

    def calibrate(self) -> PatientCalibration:
        """Fit to every stored reading and save; ``.to_dict()`` of the result is the report."""
        return calibrate_patient(self.twin.engine, twin_profile(self.twin.path), self.twin.path)

    def forecast(
        self, days: int = 14, *, regimen: Mapping[DrugClass, Dose] | None = None, seed: int = 0
    ) -> pd.DataFrame:
        """Usual pressure day by day (median, 90% interval, P(target)) under the current
        regimen or switching to ``regimen`` after the last reading."""
        cal = calibrate_patient(self.twin.engine, twin_profile(self.twin.path))
        out = forecast_patient(cal, days, regimen=regimen, seed=seed)
        return pd.json_normalize(out["days"], sep="_")

    def recommend(self, *, seed: int = 0, **options: Any) -> Recommendation:
        """Ranked regimens, 10-year risk and an N-of-1 plan (``recommend``'s options)."""
        cal = calibrate_patient(self.twin.engine, twin_profile(self.twin.path))
        return recommend(cal.model, cal.profile, seed=seed, **options)

    def options(self, *, seed: int = 0, **options: Any) -> pd.DataFrame:
        """The ranked regimens as a table (one row each)."""
        result = self.recommend(seed=seed, **options)
        return pd.json_normalize([o.to_dict() for o in result.options], sep="_")

    def close(self) -> None:
        """Release the store's connections."""
        self.twin.close()

    def __enter__(self) -> PatientTwin:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
