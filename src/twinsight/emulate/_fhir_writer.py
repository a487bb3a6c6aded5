"""Emulated ADT events as FHIR R4 Encounter resources (NDJSON or a Bundle), for tests and demos.

One ``EMER`` encounter per ED visit (``arrival`` to leaving the ED) and one ``IMP`` encounter
per inpatient stay (``admit`` to ``discharge``) with its location history (one ``location``
entry per unit, ``transfer`` by ``transfer``). The encounters say what the ingest's mapping
reads (``docs/fhir.md``): the triage level in ``priority``, an ED visit that ended in an
admission with discharge disposition ``09`` (v2-0112), an admission from the ED with admit
source ``emd``, an elective one with priority ``EL``, the specialty in ``serviceType.text``.
A patient still in at the end of the history has an ``in-progress`` encounter without an end.

Write it from clean events (``GroundTruth.events``): the defects of a flat ADT feed (dropped,
duplicated, late, malformed rows) have no faithful counterpart in encounter resources.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["FHIR_FORMATS", "encounters_from_events", "write_fhir"]

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ACT_PRIORITY = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
ADMIT_SOURCE = "http://terminology.hl7.org/CodeSystem/admit-source"
DISCHARGE_DISPOSITION = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
V2_DISPOSITION = "http://terminology.hl7.org/CodeSystem/v2-0112"
#: The emulator's triage scale (5 levels, 1 most urgent) as a local code system.
TRIAGE = "https://twinsight.dev/fhir/CodeSystem/triage-level"
#: File extension -> FHIR layout.
FHIR_FORMATS = {".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "bundle"}


def _location(unit: str, start: str) -> dict[str, Any]:
    return {
        "location": {"reference": f"Location/{unit}", "display": unit},
        "status": "active",
        "period": {"start": start},
    }


def _close(encounter: dict[str, Any], time: str) -> None:
    encounter["status"] = "finished"
    encounter["period"]["end"] = time
    last = encounter["location"][-1]
    last["status"] = "completed"
    last["period"]["end"] = time


def _emergency(row: dict[str, Any]) -> dict[str, Any]:
    enc: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": f"ed-{row['event_id']}",
        "status": "in-progress",
        "class": {"system": ACT_CODE, "code": "EMER", "display": "emergency"},
        "subject": {"reference": f"Patient/{row['patient_id']}"},
        "period": {"start": row["time"]},
        "location": [_location(row["unit"], row["time"])],
    }
    if row.get("acuity") is not None:
        level = str(row["acuity"])
        enc["priority"] = {
            "coding": [{"system": TRIAGE, "code": level, "display": f"triage level {level}"}]
        }
    return enc


def _inpatient(row: dict[str, Any]) -> dict[str, Any]:
    emergency = row.get("from_unit") == "ED" or row.get("admission") == "emergency"
    priority = "EM" if emergency else "EL"
    enc: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": f"ip-{row['event_id']}",
        "status": "in-progress",
        "class": {"system": ACT_CODE, "code": "IMP", "display": "inpatient encounter"},
        "priority": {"coding": [{"system": ACT_PRIORITY, "code": priority}]},
        "subject": {"reference": f"Patient/{row['patient_id']}"},
        "period": {"start": row["time"]},
        "location": [_location(row["unit"], row["time"])],
    }
    if row.get("specialty"):
        enc["serviceType"] = {"text": row["specialty"]}
    if row.get("from_unit") == "ED":
        enc["hospitalization"] = {
            "admitSource": {"coding": [{"system": ADMIT_SOURCE, "code": "emd"}]}
        }
    return enc


def encounters_from_events(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Encounter resources (JSON objects) from ADT rows in time order; sorted by start time."""
    out: list[dict[str, Any]] = []
    ed: dict[str, dict[str, Any]] = {}  # patient -> open ED encounter
    stay: dict[str, dict[str, Any]] = {}  # patient -> open inpatient encounter
    for row in rows:
        patient, kind, time = row["patient_id"], row["type"], row["time"]
        if kind == "arrival":
            ed[patient] = _emergency(row)
            out.append(ed[patient])
        elif kind == "admit":
            visit = ed.pop(patient, None)
            if visit is not None:
                _close(visit, time)
                visit["hospitalization"] = {
                    "dischargeDisposition": {
                        "coding": [
                            {
                                "system": V2_DISPOSITION,
                                "code": "09",
                                "display": "Admitted as an inpatient to this hospital",
                            }
                        ]
                    }
                }
            stay[patient] = _inpatient(row)
            out.append(stay[patient])
        elif kind == "transfer" and patient in stay:
            enc = stay[patient]
            last = enc["location"][-1]
            last["status"] = "completed"
            last["period"]["end"] = time
            enc["location"].append(_location(row["unit"], time))
        elif kind == "discharge":
            if patient in stay and row["unit"] != "ED":
                _close(stay.pop(patient), time)
            elif patient in ed:
                visit = ed.pop(patient)
                _close(visit, time)
                visit["hospitalization"] = {
                    "dischargeDisposition": {
                        "coding": [{"system": DISCHARGE_DISPOSITION, "code": "home"}]
                    }
                }
    out.sort(key=lambda e: str(e["period"]["start"]))
    return out


def write_fhir(rows: Iterable[dict[str, Any]], path: str | Path, layout: str | None = None) -> int:
    """Write ADT ``rows`` (time order) as Encounters to ``path``; the number of encounters.

    ``layout`` is ``ndjson`` (one resource per line) or ``bundle`` (a ``collection`` Bundle);
    by default from the extension (``.ndjson`` / ``.jsonl``: NDJSON, ``.json``: Bundle).
    """
    if layout is None:
        suffix = Path(path).suffix.lower()
        if suffix not in FHIR_FORMATS:
            raise ValueError(
                f"unknown extension '{suffix or '(none)'}' of {path} for FHIR: use .ndjson "
                "(one resource per line) or .json (a Bundle)"
            )
        layout = FHIR_FORMATS[suffix]
    if layout not in ("ndjson", "bundle"):
        raise ValueError(f"layout must be 'ndjson' or 'bundle', not '{layout}'")
    resources = encounters_from_events(rows)
    with open(path, "w", encoding="utf-8", newline="") as out:
        if layout == "ndjson":
            for resource in resources:
                out.write(json.dumps(resource, ensure_ascii=False) + "\n")
        else:
            bundle = {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"fullUrl": f"Encounter/{r['id']}", "resource": r} for r in resources],
            }
            json.dump(bundle, out, ensure_ascii=False, indent=1)
            out.write("\n")
    return len(resources)
