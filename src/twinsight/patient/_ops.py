"""The patient twin's operations, shared by the CLI and notebooks: profile, calibrate, forecast.

A patient twin (``twinsight init NAME --template patient``) holds one patient's home readings
in its store and the patient's profile in ``<twin>/profile.yaml``; every operation refits the
model from the stored readings (a few milliseconds), so the answer always reflects them all.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from ..govern import audit
from ..twin import Twin
from ._model import BloodPressureModel, RegimenChange
from ._prior import Dose, DrugClass
from ._profile import PatientProfile, ProfileError, load_profile
from ._readings import ingest_readings, load_readings
from ._recommend import DISCLAIMER, regimen_label

__all__ = [
    "PROFILE_FILE",
    "PatientCalibration",
    "calibrate_patient",
    "forecast_patient",
    "ingest_patient_file",
    "save_profile",
    "set_profile",
    "twin_profile",
]

PROFILE_FILE = "profile.yaml"
#: A pause between readings longer than this (days) is reported as a gap.
GAP_DAYS = 2.0
CALIBRATION_FILE = "patient_calibration.json"


def save_profile(twin_path: Path, source: Path) -> PatientProfile:
    """Validate ``source`` and keep it as the twin's profile; the profile."""
    profile = load_profile(source)
    shutil.copyfile(source, Path(twin_path) / PROFILE_FILE)
    return profile


def set_profile(twin: Twin, path: Path) -> PatientProfile:
    """Validate ``path`` and keep it as the twin's profile, audited (no personal data: the
    file's name only)."""
    profile = save_profile(twin.path, path)
    audit.append(twin.engine, actor=audit.cli_actor(), action="profile", target=Path(path).name)
    return profile


def ingest_patient_file(twin: Twin, path: Path) -> dict[str, Any]:
    """One file into a patient twin, audited (``govern.audit``) once committed: a profile
    (``.yaml`` / ``.yml``) is validated and kept; readings (CSV, FHIR) are stored or
    quarantined. The counts as a JSON-ready row."""
    path = Path(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        set_profile(twin, path)
        return {"source": str(path.resolve()), "format": "profile"}
    report = audit.ingested(twin.engine, ingest_readings(path, twin.engine, twin.pseudonymise))
    return {
        "source": report.source,
        "format": report.format,
        "accepted": report.accepted,
        "duplicate": report.duplicate,
        "quarantined": report.quarantined,
    }


def twin_profile(twin_path: Path) -> PatientProfile:
    """The twin's profile; ``ProfileError`` with the fix when there is none."""
    path = Path(twin_path) / PROFILE_FILE
    if not path.is_file():
        raise ProfileError(
            f"{path}: the twin has no profile: ingest one with "
            "'twinsight ingest NAME profile.yaml' (examples/patient/profile.yaml)"
        )
    return load_profile(path)


@dataclass(frozen=True)
class PatientCalibration:
    """A fitted model with what the readings were: counts, span, gaps."""

    model: BloodPressureModel
    profile: PatientProfile
    readings: int
    days: int
    first: datetime
    last: datetime
    longest_gap_days: float
    #: Gaps longer than ``GAP_DAYS`` between consecutive readings: (last before, next after).
    gaps: tuple[tuple[datetime, datetime], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        m = self.model
        return {
            "disclaimer": DISCLAIMER,
            "readings": self.readings,
            "days_with_readings": self.days,
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "longest_gap_days": round(self.longest_gap_days, 2),
            "gaps": [
                {
                    "from": a.isoformat(),
                    "to": b.isoformat(),
                    "days": round((b - a).total_seconds() / 86_400.0, 2),
                }
                for a, b in self.gaps
            ],
            "current_regimen": regimen_label(self.profile.current()),
            "noise": {
                "within_day_sd": {
                    "systolic": round(m.sigma_within_[0], 2),
                    "diastolic": round(m.sigma_within_[1], 2),
                },
                "day_to_day_sd": {
                    "systolic": round(m.sigma_day_[0], 2),
                    "diastolic": round(m.sigma_day_[1], 2),
                },
            },
            "posterior": _rounded(m.posterior_summary()),
        }


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, Mapping):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def calibrate_patient(
    engine: Engine, profile: PatientProfile, twin_path: Path | None = None
) -> PatientCalibration:
    """Fit the model to every stored reading; saved in ``<twin>/patient_calibration.json``."""
    readings = load_readings(engine)
    if readings.empty:
        raise ValueError(
            "the twin has no blood pressure readings: ingest a CSV or FHIR file first "
            "(examples/patient/readings.csv)"
        )
    model = BloodPressureModel().fit(readings, profile.history())
    times = pd.to_datetime(readings["time"], utc=True).sort_values()
    gaps = times.diff().dt.total_seconds().dropna() / 86_400.0
    result = PatientCalibration(
        model,
        profile,
        len(readings.drop_duplicates(["time"])),
        int(model.n_days_),
        times.iloc[0].to_pydatetime(),
        times.iloc[-1].to_pydatetime(),
        float(gaps.max()) if len(gaps) else 0.0,
        tuple(
            (times.iloc[i - 1].to_pydatetime(), times.iloc[i].to_pydatetime())
            for i in range(1, len(times))
            if gaps.iloc[i - 1] > GAP_DAYS
        ),
    )
    if twin_path is not None:
        text = json.dumps(result.to_dict(), indent=2, allow_nan=False)
        (Path(twin_path) / CALIBRATION_FILE).write_text(text + "\n", encoding="utf-8")
        audit.append(
            engine,
            actor=audit.cli_actor(),
            action="calibrate",
            target=CALIBRATION_FILE,
            detail={
                "readings": result.readings,
                "first": result.first.isoformat(),
                "last": result.last.isoformat(),
            },
        )
    return result


def forecast_patient(
    calibration: PatientCalibration,
    days: int,
    *,
    regimen: Mapping[DrugClass, Dose] | None = None,
    draws: int = 2000,
    seed: int = 0,
    start: datetime | None = None,
) -> dict[str, Any]:
    """The usual pressure day by day for ``days`` days from ``start`` (default: the last
    reading) under the current regimen, or switching to ``regimen`` at ``start``: median and
    90% interval (mm Hg) and P(below target)."""
    profile = calibration.profile
    origin = start or calibration.last
    history = list(profile.history())
    if regimen is not None:
        history.append(RegimenChange(origin, dict(regimen)))
    times = [origin + timedelta(days=d) for d in range(1, days + 1)]
    rng = np.random.default_rng(seed)
    sys, dia = calibration.model.trajectory(history, times, draws, rng)
    target = (profile.target.systolic, profile.target.diastolic)
    reach = (sys < target[0]) & (dia < target[1])
    rows = []
    for i, t in enumerate(times):
        qs = np.quantile(sys[:, i], [0.5, 0.05, 0.95])
        qd = np.quantile(dia[:, i], [0.5, 0.05, 0.95])
        rows.append(
            {
                "time": t.astimezone(UTC).isoformat(),
                "systolic": {
                    "median": round(float(qs[0]), 1),
                    "lo90": round(float(qs[1]), 1),
                    "hi90": round(float(qs[2]), 1),
                },
                "diastolic": {
                    "median": round(float(qd[0]), 1),
                    "lo90": round(float(qd[1]), 1),
                    "hi90": round(float(qd[2]), 1),
                },
                "p_target": round(float(reach[:, i].mean()), 3),
            }
        )
    return {
        "disclaimer": DISCLAIMER,
        "regimen": regimen_label(regimen if regimen is not None else profile.current()),
        "from": origin.astimezone(UTC).isoformat(),
        "target": {"systolic": target[0], "diastolic": target[1]},
        "seed": seed,
        "days": rows,
    }
