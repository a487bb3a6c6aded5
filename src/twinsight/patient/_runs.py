"""The patient twin's recommendations and forecasts as reproducible run records.

Both are Monte Carlo answers (posterior draws from a seed), so each is stored as a run
(``decide._runs``; ``request["source"] == "patient"``): a recommendation as kind ``compare``
(candidate regimens compared on the same draws), a forecast as kind ``forecast``. A record holds:

- ``spec_hash``: SHA-256 of the canonical JSON of the model's name, the profile the answer used
  (target, contraindications, regimen history, risk factors) and the fitted posterior;
- ``parameters``: that profile and posterior (``BloodPressureModel.to_params``) and what the
  forecast starts from (the last reading);
- the data watermark: ``data_at`` the last reading, ``data_received`` the latest ``received_at``
  of the readings and ``request["ingest_id"]`` the latest ingest; the result keeps a SHA-256
  digest of the readings the fit saw;
- the seed, the number of draws, the Twinsight version, the request and the result.

``rerun`` predicts again from the recorded profile and posterior (not from a refit: later
readings do not change a rerun) with the recorded seed, and recomputes the digest of the
readings held at the watermark: changed readings, or a changed posterior in the record, are
reported as differences (and the latter as another hash).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from ..decide._runs import RunRecord, canonical_json, record_run, same_run
from ._model import BloodPressureModel
from ._ops import PatientCalibration, forecast_patient
from ._profile import PatientProfile
from ._readings import load_readings, readings_watermark
from ._recommend import recommend

__all__ = ["RUN_SOURCE", "patient_answer", "patient_hash", "record_patient", "rerun_patient"]

#: ``request["source"]`` of patient runs (``decide._rerun`` finds the rerunner by it).
RUN_SOURCE = "patient"
_MODEL = "bp-law2003-bayes"
_DRAWS = 4000  # recommend's posterior draws (its default)


def _parameters(cal: PatientCalibration, profile: PatientProfile) -> dict[str, Any]:
    return {
        "profile": profile.model_dump(mode="json"),
        "posterior": cal.model.to_params(),
        "readings": cal.readings,
        "days": cal.days,
        "first": cal.first.isoformat(),
        "last": cal.last.isoformat(),
    }


def patient_hash(parameters: dict[str, Any]) -> str:
    """SHA-256 (hex) of the model's name, the profile and the posterior."""
    text = canonical_json({"model": _MODEL, "profile": parameters["profile"],
                           "posterior": parameters["posterior"]})  # fmt: skip
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _readings_digest(frame: pd.DataFrame) -> str:
    rows = [[t.isoformat(), m, float(v)] for t, m, v in frame.itertuples(index=False)]
    return hashlib.sha256(canonical_json(rows).encode("utf-8")).hexdigest()


def patient_answer(
    cal: PatientCalibration,
    profile: PatientProfile,
    *,
    seed: int,
    top: int = 5,
    min_probability: float = 0.8,
    days: int = 0,
    trajectories: int = 0,
) -> dict[str, Any]:
    """The recommendation (``recommend``) and, for ``days`` > 0, the forecasts under the
    current regimen and the first ``trajectories`` ranked options that change it: the JSON of
    a patient run, ``{"recommendation": ..., "forecasts": [...]}``."""
    result = recommend(cal.model, profile, draws=_DRAWS, seed=seed, top=top,
                       min_probability=min_probability)  # fmt: skip
    forecasts = []
    if days > 0:
        forecasts.append(forecast_patient(cal, days, seed=seed))
        for option in result.options[:trajectories]:
            if option.regimen != profile.current():
                forecasts.append(forecast_patient(cal, days, regimen=option.regimen, seed=seed))
    return {"recommendation": result.to_dict(), "forecasts": forecasts}


def record_patient(
    engine: Engine,
    twin: str,
    kind: str,
    cal: PatientCalibration,
    profile: PatientProfile,
    request: dict[str, Any],
    answer: dict[str, Any],
    *,
    reuse: bool = False,
) -> str:
    """Store a patient answer (``patient_answer`` with ``request``'s options) as a run of
    ``kind`` (``compare``: a recommendation; ``forecast``); its id. ``reuse``: the id of the
    same run stored before (same hash, request and version), if any, instead."""
    ingest_id, received = readings_watermark(engine)
    params = _parameters(cal, profile)
    req = {"source": RUN_SOURCE, **request, "ingest_id": ingest_id}
    if reuse and (same := same_run(engine, kind, twin, patient_hash(params), req)):
        return same
    result = {**answer, "readings_sha256": _readings_digest(load_readings(engine))}
    return record_run(
        engine,
        kind=kind,
        twin=twin,
        request=req,
        result=result,
        spec_hash=patient_hash(params),
        parameters=params,
        seeds=[int(request["seed"])],
        reps=_DRAWS,
        data_at=cal.last,
        data_received=received,
    )


def rerun_patient(engine: Engine, record: RunRecord) -> tuple[dict[str, Any], str]:
    """``twinsight rerun`` of a patient run: (result, hash)."""
    params, req = record.parameters, record.request
    profile = PatientProfile.model_validate(params["profile"])
    model = BloodPressureModel.from_params(params["posterior"])
    first, last = datetime.fromisoformat(params["first"]), datetime.fromisoformat(params["last"])
    cal = PatientCalibration(model, profile, int(params["readings"]), int(params["days"]),
                             first, last, 0.0)  # fmt: skip
    answer = patient_answer(
        cal,
        profile,
        seed=int(req["seed"]),
        top=int(req["top"]),
        min_probability=float(req["min_probability"]),
        days=int(req["days"]),
        trajectories=int(req["trajectories"]),
    )
    ingest_id = req.get("ingest_id")
    frame = load_readings(engine, ingest_id=None if ingest_id is None else int(ingest_id))
    return {**answer, "readings_sha256": _readings_digest(frame)}, patient_hash(params)
