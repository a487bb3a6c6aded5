"""Patient twin (hypertension): home blood-pressure readings, a Bayesian model of this patient's
response to drug classes with the Law 2003 meta-analysis as its prior, predictions under
candidate regimens, recommendations, and 10-year ASCVD risk (Pooled Cohort Equations).

Decision support for clinicians, not medical advice. See ``docs/patient.md``.
"""

from __future__ import annotations

from ._facade import PatientTwin
from ._model import ONSET_DAYS, BloodPressureModel, RegimenChange, regimen_matrix
from ._ops import (
    PROFILE_FILE,
    PatientCalibration,
    calibrate_patient,
    forecast_patient,
    ingest_patient_file,
    save_profile,
    set_profile,
    twin_profile,
)
from ._prior import (
    CLASSES,
    DOSE_TABLE,
    DOSES,
    SOURCE,
    STANDARD,
    Dose,
    DrugClass,
    dose_factor,
    drug_effect,
    regimen_effect,
)
from ._profile import PatientProfile, ProfileError, load_profile, parse_profile
from ._readings import ingest_readings, load_readings, parse_readings
from ._recommend import (
    DISCLAIMER,
    Option,
    Recommendation,
    candidate_regimens,
    recommend,
    regimen_label,
)
from ._risk import PCE_SOURCE, pooled_cohort_risk
from ._runs import RUN_SOURCE, patient_answer, patient_hash, record_patient, rerun_patient
from ._synthetic import SyntheticPatient, synthetic_readings

__all__ = [
    "CLASSES",
    "DISCLAIMER",
    "DOSES",
    "DOSE_TABLE",
    "ONSET_DAYS",
    "PCE_SOURCE",
    "PROFILE_FILE",
    "RUN_SOURCE",
    "SOURCE",
    "STANDARD",
    "BloodPressureModel",
    "Dose",
    "DrugClass",
    "Option",
    "PatientCalibration",
    "PatientProfile",
    "PatientTwin",
    "ProfileError",
    "Recommendation",
    "RegimenChange",
    "SyntheticPatient",
    "calibrate_patient",
    "candidate_regimens",
    "dose_factor",
    "drug_effect",
    "forecast_patient",
    "ingest_patient_file",
    "ingest_readings",
    "load_profile",
    "load_readings",
    "parse_profile",
    "parse_readings",
    "patient_answer",
    "patient_hash",
    "pooled_cohort_risk",
    "recommend",
    "record_patient",
    "regimen_effect",
    "regimen_label",
    "regimen_matrix",
    "rerun_patient",
    "save_profile",
    "set_profile",
    "synthetic_readings",
    "twin_profile",
]


def _register() -> None:
    """``twinsight rerun`` of patient runs: ``decide._rerun`` imports this package for a
    record of kind ``forecast`` or ``compare`` whose request's source is ``patient``."""
    from ..decide import register_rerunner

    register_rerunner(f"forecast/{RUN_SOURCE}", rerun_patient)
    register_rerunner(f"compare/{RUN_SOURCE}", rerun_patient)


_register()
