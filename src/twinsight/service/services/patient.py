"""The patient twin over HTTP: readings (in as JSON rows, out with the subject pseudonymised)
and the recommendation. Every answer carries ``NOTICE``: decision support for clinicians, not
medical advice. Blocking: run in a worker thread.

A patient twin holds one person's data, so small-cell suppression does not apply (there is no
count to hide): what protects the person is access control, a token scoped to this twin
(``twinsight token create --twin NAME``); see ``docs/service.md``.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import select

from ...connect import IngestError
from ...govern import audit
from ...patient import (
    DISCLAIMER,
    ProfileError,
    calibrate_patient,
    ingest_readings,
    load_readings,
    patient_answer,
    record_patient,
    twin_profile,
)
from ...store import ObservationRow
from ..schemas_health import (
    NOTICE,
    HealthIngestOut,
    PatientReadingsOut,
    ReadingIn,
    RecommendationOut,
)
from .health_common import ingest_posted, not_ready, require_template
from .registry import TwinHandle

__all__ = ["TRAJECTORIES", "ingest_rows", "readings_out", "recommendation_out"]

TEMPLATE = "patient"
#: How many of the top options get a day-by-day trajectory besides the current regimen.
TRAJECTORIES = 3
_COLUMNS = ("patient_id", "time", "systolic", "diastolic", "unit", "reading_id")


def _subject(handle: TwinHandle) -> str | None:
    with handle.twin.engine.connect() as conn:
        key = conn.execute(
            select(ObservationRow.subject_key)
            .where(ObservationRow.metric.in_(["systolic", "diastolic"]))
            .where(ObservationRow.subject_key.is_not(None))
            .limit(1)
        ).scalar_one_or_none()
    return None if key is None else str(key)[:12]


def readings_out(handle: TwinHandle) -> PatientReadingsOut:
    """The stored readings (mm Hg) by time, systolic and diastolic side by side."""
    require_template(handle, TEMPLATE)
    frame = load_readings(handle.twin.engine)
    rows: dict[str, dict[str, Any]] = {}
    for time, metric, value in frame.itertuples(index=False):
        key = time.isoformat()
        rows.setdefault(key, {"time": key})[str(metric)] = round(float(value), 1)
    return PatientReadingsOut(
        twin=handle.twin.name, subject=_subject(handle), readings=list(rows.values())
    )


def recommendation_out(
    handle: TwinHandle, *, seed: int, top: int, min_probability: float, days: int
) -> RecommendationOut:
    """Fit the model to every stored reading and rank the regimens (``patient.recommend``);
    trajectories for ``days`` days under the current regimen and the top options; stored as a
    run (``patient._runs``, its id in ``run_id``; the same request on the same readings and
    profile answers with the run stored before)."""
    require_template(handle, TEMPLATE)
    twin = handle.twin
    try:
        profile = twin_profile(twin.path)
        cal = calibrate_patient(twin.engine, profile)
    except (ProfileError, ValueError) as exc:
        raise not_ready(handle, str(exc)) from None
    request = {"command": "recommend", "seed": seed, "top": top,
               "min_probability": min_probability, "days": days,
               "trajectories": TRAJECTORIES}  # fmt: skip
    answer = patient_answer(cal, profile, seed=seed, top=top, min_probability=min_probability,
                            days=days, trajectories=TRAJECTORIES)  # fmt: skip
    run_id = record_patient(twin.engine, twin.name, "compare", cal, profile, request, answer,
                            reuse=True)  # a GET: the same answer, the same run  # fmt: skip
    body = dict(answer["recommendation"])
    body.pop("disclaimer", None)
    return RecommendationOut(
        twin=twin.name,
        notice=NOTICE,
        disclaimer=DISCLAIMER,
        trajectories=answer["forecasts"],
        run_id=run_id,
        **body,
    )


def _csv(rows: list[ReadingIn]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_COLUMNS)
    for row in rows:
        cells = [getattr(row, c) for c in _COLUMNS]
        writer.writerow(["" if c is None else f"{c:g}" if isinstance(c, float) else c
                         for c in cells])  # fmt: skip
    return buffer.getvalue()


def ingest_rows(handle: TwinHandle, rows: list[ReadingIn], actor: str) -> HealthIngestOut:
    """Store posted readings through the reading-file path (same checks and quarantine: an
    impossible value, a time without offset, another patient's reading ...), audited."""
    require_template(handle, TEMPLATE)
    twin = handle.twin
    report, _ = ingest_posted(
        handle,
        "http-readings.csv",
        _csv(rows),
        lambda file: ingest_readings(file, twin.engine, twin.pseudonymise),
        (IngestError,),
    )
    audit.ingested(twin.engine, report, actor)
    return HealthIngestOut(
        twin=twin.name,
        accepted=report.accepted,
        duplicate=report.duplicate,
        quarantined=report.quarantined,
        notice=NOTICE,
    )
