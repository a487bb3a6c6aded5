"""Home blood-pressure readings in: CSV or FHIR R4 Observations -> ``observations`` or quarantine.

A reading is one record: a CSV row (``patient_id, time, systolic, diastolic`` and optionally
``unit``, ``reading_id``) or one FHIR Observation (the LOINC 85354-9 panel with components
8480-6 systolic and 8462-4 diastolic, or a single 8480-6 / 8462-4 Observation), from a Bundle or
NDJSON, validated with ``fhir.resources`` (R4B models). Its values become rows of the shared
``observations`` table (``metric`` systolic / diastolic, ``unit`` mm[Hg], ``subject_key`` the
patient's pseudonym); ``obs_key`` is a hash of (patient, instant, metric), so a replayed file, or
the same reading from CSV and FHIR, adds nothing. A reading that cannot be trusted goes to
``quarantine`` with its reason and is never used: an impossible value (outside 60-260 / 30-160
mm Hg, systolic not above diastolic), an unknown unit, a time without UTC offset or in the
future, a conflicting duplicate (same patient and instant, other values), another patient's
reading (a patient twin holds one patient). Home files are small: a file is read whole and
stored in one transaction. Gaps (days without readings) are not records; the model needs no
regular spacing and ``calibrate`` reports them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, cast

import pandas as pd
from fhir.resources.R4B.observation import Observation
from pydantic import ValidationError
from sqlalchemy import Engine, Table, select

from ..connect import IngestError, IngestReport
from ..connect._fhir_map import patient_reference
from ..connect._records import close_ingest, insert_new, open_ingest
from ..store import ObservationRow, QuarantineRow, observations_watermark

__all__ = [
    "DIASTOLIC_LOINC",
    "LIMITS",
    "PANEL_LOINC",
    "SYSTOLIC_LOINC",
    "Reading",
    "ingest_readings",
    "load_readings",
    "parse_readings",
]

LOINC: Final = "http://loinc.org"
SYSTOLIC_LOINC: Final = "8480-6"
DIASTOLIC_LOINC: Final = "8462-4"
PANEL_LOINC: Final = "85354-9"
UNIT: Final = "mm[Hg]"
#: Values a home monitor can read and a person can have (mm Hg): outside is quarantined.
LIMITS: Final[Mapping[str, tuple[float, float]]] = {
    "systolic": (60.0, 260.0),
    "diastolic": (30.0, 160.0),
}
_MMHG: Final = frozenset({"mm[hg]", "mmhg", "mm hg", "millimeter of mercury"})
_KPA_TO_MMHG: Final = 7.500616827
_CSV_REQUIRED: Final = ("patient_id", "time", "systolic", "diastolic")
_CSV_ALLOWED: Final = (*_CSV_REQUIRED, "unit", "reading_id")
_SKIP_STATUS: Final = frozenset({"cancelled", "entered-in-error", "registered"})
_FINGERPRINT_BYTES = 64 * 1024
_QUARANTINE = cast(Table, QuarantineRow.__table__)
_OBSERVATIONS = cast(Table, ObservationRow.__table__)


@dataclass
class Reading:
    """One record read: its values (mm Hg) or the reason it cannot be used."""

    line: int
    raw: str
    patient_id: str | None = None
    time: datetime | None = None
    values: dict[str, float] = field(default_factory=dict)
    problem: str | None = None


def _unit_factor(unit: str | None) -> float | None:
    """mm Hg per unit, None for an unknown unit (a missing unit is mm Hg)."""
    if unit is None or not unit.strip() or unit.strip().lower() in _MMHG:
        return 1.0
    if unit.strip().lower() == "kpa":
        return _KPA_TO_MMHG
    return None


def _instant(text: str) -> datetime:
    at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if at.tzinfo is None:
        raise ValueError(f"time '{text}' has no UTC offset: add Z or +HH:MM")
    return at


def _check(reading: Reading, now: datetime) -> None:
    """Set ``problem`` when the reading cannot be trusted (the first reason found)."""
    if reading.problem is not None:
        return
    if not reading.values:
        reading.problem = "no systolic or diastolic value"
        return
    for metric, value in reading.values.items():
        lo, hi = LIMITS[metric]
        if not math.isfinite(value) or not lo <= value <= hi:
            reading.problem = (
                f"{metric} {value:g} mm Hg is impossible (a home reading lies in {lo:g}-{hi:g})"
            )
            return
    sys, dia = reading.values.get("systolic"), reading.values.get("diastolic")
    if sys is not None and dia is not None and sys <= dia:
        reading.problem = f"systolic {sys:g} is not above diastolic {dia:g} (swapped columns?)"
        return
    if reading.time is not None and reading.time > now + timedelta(hours=1):
        reading.problem = f"time {reading.time.isoformat()} is in the future"


def _csv_readings(path: Path, text: str) -> Iterator[Reading]:
    rows = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(rows, [])]
    missing = [h for h in _CSV_REQUIRED if h not in header]
    unknown = [h for h in header if h not in _CSV_ALLOWED]
    if missing or unknown:
        problems = [f"missing columns {', '.join(missing)}"] if missing else []
        problems += [f"unknown columns {', '.join(unknown)}"] if unknown else []
        raise IngestError(
            f"{path}: the CSV header is not a reading file ({'; '.join(problems)}); the columns "
            f"are {', '.join(_CSV_ALLOWED)} (unit and reading_id optional; docs/patient.md)"
        )
    for number, cells in enumerate(rows, start=2):
        if not any(c.strip() for c in cells):
            continue
        reading = Reading(number, ",".join(cells))
        if len(cells) != len(header):
            reading.problem = f"the row has {len(cells)} cells, the header {len(header)}"
            yield reading
            continue
        row = dict(zip(header, (c.strip() for c in cells), strict=True))
        reading.patient_id = row["patient_id"] or None
        try:
            factor = _unit_factor(row.get("unit"))
            if factor is None:
                raise ValueError(f"unknown unit '{row['unit']}': give mm[Hg] (or kPa)")
            if reading.patient_id is None:
                raise ValueError("patient_id is empty")
            reading.time = _instant(row["time"])
            for metric in ("systolic", "diastolic"):
                if row[metric]:
                    try:
                        reading.values[metric] = float(row[metric]) * factor
                    except ValueError:
                        raise ValueError(f"{metric} '{row[metric]}' is not a number") from None
        except ValueError as exc:
            reading.problem = str(exc)
        yield reading


def _coded(concept: Any, code: str) -> bool:
    codings = concept.get("coding") if isinstance(concept, Mapping) else None
    return any(
        isinstance(c, Mapping) and c.get("code") == code and c.get("system") in (None, LOINC)
        for c in codings or []
    )


def _quantity(holder: Mapping[str, Any], metric: str) -> float:
    quantity = holder.get("valueQuantity")
    if not isinstance(quantity, Mapping) or "value" not in quantity:
        raise ValueError(f"{metric}: no valueQuantity")
    factor = _unit_factor(quantity.get("code") or quantity.get("unit"))
    if factor is None:
        unit = quantity.get("code") or quantity.get("unit")
        raise ValueError(f"{metric}: unknown unit '{unit}': give mm[Hg] (UCUM)")
    return float(quantity["value"]) * factor


def _observation(resource: dict[str, Any], line: int) -> Reading | None:
    """One Observation -> a reading; None for other resources and non-BP Observations."""
    if resource.get("resourceType") != "Observation":
        return None
    code = resource.get("code")
    single = {SYSTOLIC_LOINC: "systolic", DIASTOLIC_LOINC: "diastolic"}
    kind = next((m for c, m in single.items() if _coded(code, c)), None)
    if kind is None and not _coded(code, PANEL_LOINC):
        return None
    patient = patient_reference(resource)
    raw_copy = {k: v for k, v in resource.items() if k not in ("subject", "text", "contained")}
    reading = Reading(line, json.dumps(raw_copy, ensure_ascii=False, default=str), patient)
    if resource.get("status") in _SKIP_STATUS:
        return None
    try:
        Observation.model_validate(resource)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(x) for x in err["loc"]) or "resource"
        reading.problem = f"FHIR validation: {where}: {str(err['msg']).splitlines()[0]}"
        return reading
    try:
        if patient is None:
            raise ValueError("subject: no Patient reference")
        when = resource.get("effectiveDateTime") or (resource.get("effectivePeriod") or {}).get(
            "start"
        )
        if not isinstance(when, str):
            raise ValueError("no effectiveDateTime")
        reading.time = _instant(when)
        if kind is not None:
            reading.values[kind] = _quantity(resource, kind)
        for component in resource.get("component") or []:
            for c, metric in single.items():
                if _coded(component.get("code"), c):
                    reading.values[metric] = _quantity(component, metric)
    except ValueError as exc:
        reading.problem = str(exc)
    return reading


def _fhir_readings(text: str) -> Iterator[Reading]:
    documents: list[tuple[int, Any]]
    try:
        documents = [(0, json.loads(text))]
    except json.JSONDecodeError:  # NDJSON: one resource per line
        documents = []
        for number, ln in enumerate(text.splitlines(), start=1):
            if not ln.strip():
                continue
            try:
                documents.append((number, json.loads(ln)))
            except json.JSONDecodeError as exc:
                yield Reading(
                    number, f"<line {number} not kept>", problem=f"malformed JSON: {exc.msg}"
                )
    for number, value in documents:
        if not (isinstance(value, dict) and "resourceType" in value):
            if number == 0:
                raise IngestError(
                    "not a FHIR resource (no resourceType): give a Bundle or NDJSON of "
                    "Observations (a profile is a .yaml file)"
                )
            yield Reading(number, f"<line {number} not kept>", problem="not a FHIR resource")
            continue
        resources: list[Any] = [value]
        if value.get("resourceType") == "Bundle":
            resources = [e.get("resource") for e in value.get("entry") or [] if isinstance(e, dict)]
        for index, resource in enumerate(resources):
            if isinstance(resource, dict):
                reading = _observation(resource, number or index + 1)
                if reading is not None:
                    yield reading


def parse_readings(path: Path, *, now: datetime | None = None) -> tuple[str, list[Reading]]:
    """The format (``csv`` / ``fhir``) and the readings of a file, each checked."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    fmt = "fhir" if text.lstrip().startswith("{") else "csv"
    try:
        readings = list(_fhir_readings(text) if fmt == "fhir" else _csv_readings(path, text))
    except IngestError as exc:
        message = str(exc)
        raise IngestError(
            message if message.startswith(str(path)) else f"{path}: {message}"
        ) from None
    moment = now or datetime.now(UTC)
    for reading in readings:
        _check(reading, moment)
    return fmt, readings


def _obs_key(subject: str, at: datetime, metric: str) -> str:
    natural = f"{subject}|{at.astimezone(UTC).isoformat()}|{metric}"
    return "bp:" + hashlib.sha256(natural.encode()).hexdigest()


def ingest_readings(
    path: Path,
    engine: Engine,
    pseudonymise: Callable[[str], str],
    *,
    now: datetime | None = None,
) -> IngestReport:
    """Store a file's readings in ``observations``, quarantine the rest (one transaction).

    ``accepted`` / ``duplicate`` / ``quarantined`` count readings (a CSV row, an Observation).
    """
    path = Path(path)
    fmt, readings = parse_readings(path, now=now)
    raw = path.read_bytes()
    fingerprint = hashlib.sha256(raw[:_FINGERPRINT_BYTES]).hexdigest()
    received = datetime.now(UTC)
    source = str(path.resolve())
    accepted = duplicate = 0
    with engine.begin() as conn:
        ingest_id = open_ingest(conn, source, fingerprint, f"bp-{fmt}", received)
        subjects = set(
            conn.execute(
                select(ObservationRow.subject_key)
                .where(ObservationRow.metric.in_(["systolic", "diastolic"]))
                .distinct()
            ).scalars()
        )
        seen: dict[str, float] = {}
        rows: list[dict[str, Any]] = []
        rejects: list[dict[str, Any]] = []
        for reading in readings:
            if reading.problem is None:
                assert reading.patient_id is not None and reading.time is not None
                subject = pseudonymise(reading.patient_id)
                subjects.discard(None)
                if subjects and subject not in subjects:
                    reading.problem = (
                        "another patient's reading: a patient twin holds one patient "
                        "(make a twin per patient)"
                    )
                else:
                    subjects.add(subject)
                    keys = {m: _obs_key(subject, reading.time, m) for m in reading.values}
                    stored = dict(
                        conn.execute(
                            select(ObservationRow.obs_key, ObservationRow.value).where(
                                ObservationRow.obs_key.in_(list(keys.values()))
                            )
                        ).all()
                    )
                    stored.update({k: seen[k] for k in keys.values() if k in seen})
                    clash = [
                        f"{m} {reading.values[m]:g} vs {stored[k]:g}"
                        for m, k in keys.items()
                        if k in stored and abs(stored[k] - reading.values[m]) > 1e-6
                    ]
                    if clash:
                        reading.problem = (
                            "conflicting duplicate: another reading of this patient at the same "
                            f"instant has other values ({'; '.join(clash)})"
                        )
                    elif all(k in stored for k in keys.values()):
                        duplicate += 1
                    else:
                        accepted += 1
                        for m, k in keys.items():
                            if k not in stored:
                                seen[k] = reading.values[m]
                                rows.append(
                                    {
                                        "obs_key": k,
                                        "subject_key": subject,
                                        "metric": m,
                                        "time": reading.time,
                                        "value": reading.values[m],
                                        "unit": UNIT,
                                        "ingest_id": ingest_id,
                                        "received_at": received,
                                    }
                                )
            if reading.problem is not None:
                text = reading.raw
                if reading.patient_id:
                    text = text.replace(
                        reading.patient_id, f"pseudonym:{pseudonymise(reading.patient_id)}"
                    )
                key = hashlib.sha256(f"{fingerprint}|{reading.line}|{text}".encode()).hexdigest()
                rejects.append(
                    {
                        "record_key": key,
                        "raw": text,
                        "source": source,
                        "line": reading.line,
                        "offset": 0,
                        "reason": reading.problem,
                        "ingest_id": ingest_id,
                        "received_at": received,
                    }
                )
        insert_new(conn, _OBSERVATIONS, "obs_key", rows)
        insert_new(conn, _QUARANTINE, "record_key", rejects)
        close_ingest(
            conn,
            ingest_id,
            accepted=accepted,
            duplicate=duplicate,
            quarantined=len(rejects),
            position=len(raw),
        )
    return IngestReport(source, f"bp-{fmt}", accepted, duplicate, len(rejects), ingest_id)


def _readings_only() -> Any:
    return (ObservationRow.metric.in_(["systolic", "diastolic"]),
            ObservationRow.subject_key.is_not(None))  # fmt: skip


def readings_watermark(engine: Engine) -> tuple[int | None, datetime | None]:
    """The data watermark of the stored readings: the latest ingest that stored one (its id)
    and the latest ``received_at`` (None, None: no readings)."""
    return observations_watermark(engine, *_readings_only())


def load_readings(engine: Engine, *, ingest_id: int | None = None) -> pd.DataFrame:
    """The stored blood-pressure readings: ``time`` (UTC), ``metric``, ``value`` (mm Hg);
    ``ingest_id``: only those stored by that ingest or earlier ones (the data a run saw)."""
    query = select(ObservationRow.time, ObservationRow.metric, ObservationRow.value).where(
        *_readings_only()
    )
    if ingest_id is not None:
        query = query.where(ObservationRow.ingest_id <= ingest_id)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(ObservationRow.time, ObservationRow.metric)).all()
    frame = pd.DataFrame(rows, columns=["time", "metric", "value"])
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return frame
