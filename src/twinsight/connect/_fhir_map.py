"""FHIR R4 Encounter -> ADT v1 events: validation, the mapping, and redaction for quarantine.

Every Encounter is validated with ``fhir.resources`` (its R4B models: the Encounter structure is
R4's, see ``docs/decisions/0004-fhir-r4b-models.md``), then mapped without looking anything up
in the store; the only context is what a first pass over the same file noted about ED visits
and admissions (``EncounterLinks``). The mapping table is in ``docs/fhir.md``:

* class ``EMER`` (an ED visit): ``arrival`` at the ED at ``period.start`` (acuity from a
  ``priority.coding`` whose code is a triage level ``1``-``5``), and ``discharge`` from the ED
  at ``period.end`` when ``status`` is ``finished``, unless ``hospitalization.
  dischargeDisposition`` says the patient was admitted to this hospital (code ``09``), or an
  inpatient encounter of the same file begins when it ends (``EncounterLinks``).
* class ``IMP`` / ``ACUTE`` / ``NONAC`` (an inpatient stay): ``admit`` to the first location,
  one ``transfer`` per later location of another unit, ``discharge`` at ``period.end`` from the
  last location when ``finished``.

Each event's ``event_id`` is ``fhir:Encounter/<id>:<kind>`` (``...:transfer:<k>`` for the k-th
location), so a re-sent or updated Encounter adds only the events it did not have before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B.encounter import Encounter
from pydantic import ValidationError

__all__ = [
    "ACT_CODE",
    "ADMIT_SOURCE",
    "EncounterLinks",
    "FhirMapping",
    "FhirMappingError",
    "encounter_events",
    "patient_reference",
    "redact_resource",
    "validate_encounter",
]

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
#: Systems accepted for ``class``: R4's v3-ActCode URL and the pre-R4 one some feeds still send.
_CLASS_SYSTEMS = (None, ACT_CODE, "http://hl7.org/fhir/v3/ActCode")
ACT_PRIORITY = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
ADMIT_SOURCE = "http://terminology.hl7.org/CodeSystem/admit-source"
#: Systems whose code ``09`` means "admitted as an inpatient to this hospital".
ADMITTED_DISPOSITION = (
    "http://terminology.hl7.org/CodeSystem/v2-0112",
    "https://www.nubc.org/CodeSystem/PatDischargeStatus",
)
EMERGENCY_CLASSES = frozenset({"EMER"})
INPATIENT_CLASSES = frozenset({"IMP", "ACUTE", "NONAC"})
#: R4 Encounter.status (a required binding the library does not check).
STATUSES = frozenset(
    {
        "planned",
        "arrived",
        "triaged",
        "in-progress",
        "onleave",
        "finished",
        "cancelled",
        "entered-in-error",
        "unknown",
    }
)
#: Statuses that carry no movement: the Encounter is skipped (counted, not quarantined).
NO_MOVEMENT = frozenset({"planned", "cancelled", "entered-in-error"})
_EMERGENCY_PRIORITY = frozenset({"EM", "UR", "S", "A", "CR", "CS"})
_ELECTIVE_PRIORITY = frozenset({"EL", "R", "P"})
_PATIENT_REF = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]*)?$")
_MAX_REASON = 400
#: Top-level elements kept (as sent) in a quarantined Encounter; the rest are removed.
_KEEP = (
    "resourceType",
    "id",
    "status",
    "class",
    "priority",
    "serviceType",
    "type",
    "period",
    "partOf",
)


class FhirMappingError(ValueError):
    """An Encounter that is valid FHIR but cannot become ADT events; the message says why."""


@dataclass(frozen=True)
class FhirMapping:
    """The ADT records (dicts for ``parse_adt``) of one Encounter, or why it has none."""

    events: list[dict[str, Any]]
    #: Set when the Encounter carries no movement (e.g. ``status`` cancelled): it is skipped.
    skipped: str | None = None


def validate_encounter(resource: Mapping[str, Any], hide: tuple[str, ...] = ()) -> None:
    """Validate one Encounter with ``fhir.resources`` (R4B models); ``ValueError`` if invalid.

    The message lists at most three problems as ``element: message`` (no input values), with
    every string of ``hide`` (the patient's reference) replaced by ``<patient>``.
    """
    try:
        Encounter.model_validate(resource)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        parts = []
        for err in errors[:3]:
            where = ".".join(str(x) for x in err["loc"]) or "resource"
            msg = str(err["msg"]).removeprefix("Value error, ").split("\n", 1)[0].strip()
            parts.append(f"{where}: {msg}")
        if len(errors) > 3:
            parts.append(f"and {len(errors) - 3} more")
        raise ValueError(_scrub("FHIR validation: " + "; ".join(parts), hide)) from None


def _scrub(text: str, hide: tuple[str, ...]) -> str:
    for secret in hide:
        if secret:
            text = text.replace(secret, "<patient>")
    return text[:_MAX_REASON]


def patient_reference(resource: Mapping[str, Any]) -> str | None:
    """The patient's identifier from ``subject``: the id of ``Patient/<id>`` (also at the end
    of an absolute URL, with or without ``/_history``), a ``urn:uuid:`` reference as is, else
    ``subject.identifier`` as ``system|value``; None when there is none."""
    subject = resource.get("subject")
    if not isinstance(subject, Mapping):
        return None
    reference = subject.get("reference")
    if isinstance(reference, str) and reference:
        found = _PATIENT_REF.search(reference)
        if found:
            return found.group(1)
        if reference.startswith("urn:uuid:"):
            return reference
        return None
    identifier = subject.get("identifier")
    if isinstance(identifier, Mapping) and isinstance(identifier.get("value"), str):
        system = identifier.get("system")
        value = str(identifier["value"])
        return f"{system}|{value}" if isinstance(system, str) and system else value
    return None


def _instant(value: Any, where: str) -> datetime:
    """A FHIR dateTime with a time of day as an aware datetime; ``FhirMappingError`` if not."""
    if not isinstance(value, str) or len(value) <= 10:
        raise FhirMappingError(f"{where} '{value}' has no time of day: an ADT event needs one")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise FhirMappingError(f"{where} '{value}' is not an instant") from None


def _codes(concept: Any) -> list[tuple[str | None, str]]:
    """(system, code) of each coding of a CodeableConcept."""
    if not isinstance(concept, Mapping):
        return []
    out = []
    for coding in concept.get("coding") or []:
        if isinstance(coding, Mapping) and isinstance(coding.get("code"), str):
            system = coding.get("system")
            out.append((system if isinstance(system, str) else None, str(coding["code"])))
    return out


def _acuity(resource: Mapping[str, Any]) -> int | None:
    """A 5-level triage category (ESI, Manchester, ATS, CTAS: 1 most urgent) in ``priority``."""
    for system, code in _codes(resource.get("priority")):
        if system != ACT_PRIORITY and code in {"1", "2", "3", "4", "5"}:
            return int(code)
    return None


def _specialty(resource: Mapping[str, Any]) -> str | None:
    """``serviceType``: its text, else its first coding's display, else that coding's code."""
    concept = resource.get("serviceType")
    if not isinstance(concept, Mapping):
        return None
    text = concept.get("text")
    if isinstance(text, str) and text.strip():
        return text.strip()[:100]
    for coding in concept.get("coding") or []:
        if isinstance(coding, Mapping):
            for key in ("display", "code"):
                value = coding.get(key)
                if isinstance(value, str) and value.strip():
                    return value.strip()[:100]
    return None


def _unit(entry: Mapping[str, Any], index: int) -> str:
    """The unit of one ``location`` entry: display, else identifier value, else reference id."""
    ref = entry.get("location")
    if isinstance(ref, Mapping):
        display = ref.get("display")
        if isinstance(display, str) and display.strip():
            return display.strip()
        ident = ref.get("identifier")
        if isinstance(ident, Mapping) and isinstance(ident.get("value"), str):
            return str(ident["value"])
        reference = ref.get("reference")
        if isinstance(reference, str) and reference.strip():
            return reference.rstrip("/").rsplit("/", 1)[-1]
    raise FhirMappingError(f"location[{index}].location has no display, identifier or reference")


def _admitted(resource: Mapping[str, Any]) -> bool:
    """Whether an ED encounter ended with an admission to this hospital (disposition 09)."""
    hosp = resource.get("hospitalization") or {}
    return any(
        system in ADMITTED_DISPOSITION and code == "09"
        for system, code in _codes(hosp.get("dischargeDisposition"))
    )


def _utc_key(patient: str, value: Any) -> int | None:
    """A hash of (patient, instant in UTC) for matching an ED end to an admission; None if no
    instant."""
    if not isinstance(value, str) or len(value) <= 10:
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    if instant.tzinfo is None:
        return None
    return hash((patient, instant.astimezone(UTC).isoformat()))


@dataclass
class EncounterLinks:
    """What the other Encounters of the same file say about ED visits that end in admissions.

    Filled by a first pass over the file (``add`` each raw resource), asked while mapping: an
    ED visit is *admitted* when an inpatient encounter of the same patient begins at the
    instant it ends, or points to it with ``partOf``; an inpatient stay is *from the ED* when
    an ED visit of the same patient ends at the instant it begins, or it is ``partOf`` an ED
    visit of the file. Keys are hashes (patient, instant), one per encounter.
    """

    ed_ends: set[int] = field(default_factory=set)
    stay_starts: set[int] = field(default_factory=set)
    ed_ids: set[str] = field(default_factory=set)
    part_of: set[str] = field(default_factory=set)

    def add(self, resource: Mapping[str, Any]) -> None:
        """Note one resource (not yet validated: anything unexpected is ignored)."""
        if resource.get("resourceType") != "Encounter":
            return
        klass = resource.get("class")
        code = klass.get("code") if isinstance(klass, Mapping) else None
        patient = patient_reference(resource)
        period = resource.get("period")
        period = period if isinstance(period, Mapping) else {}
        if code in EMERGENCY_CLASSES:
            if isinstance(resource.get("id"), str):
                self.ed_ids.add(str(resource["id"]))
            key = _utc_key(patient, period.get("end")) if patient else None
            if key is not None:
                self.ed_ends.add(key)
        elif code in INPATIENT_CLASSES:
            part_of = resource.get("partOf")
            if isinstance(part_of, Mapping) and isinstance(part_of.get("reference"), str):
                self.part_of.add(str(part_of["reference"]).rsplit("/", 1)[-1])
            if patient:
                start = _utc_key(patient, period.get("start"))
                for key in (start, self._first_location(resource, patient)):
                    if key is not None:
                        self.stay_starts.add(key)

    @staticmethod
    def _first_location(resource: Mapping[str, Any], patient: str) -> int | None:
        locations = resource.get("location")
        if not isinstance(locations, list) or not locations:
            return None
        first = locations[0]
        period = first.get("period") if isinstance(first, Mapping) else None
        return _utc_key(patient, period.get("start")) if isinstance(period, Mapping) else None

    def admitted(self, resource: Mapping[str, Any], patient: str) -> bool:
        """Whether this ED visit (EMER) ended in an admission, by the file's inpatient stays."""
        if resource.get("id") in self.part_of:
            return True
        period = resource.get("period") or {}
        key = _utc_key(patient, period.get("end"))
        return key is not None and key in self.stay_starts

    def from_ed(self, resource: Mapping[str, Any], patient: str) -> bool:
        """Whether this inpatient stay began with an ED visit of the file."""
        part_of = resource.get("partOf") or {}
        ref = part_of.get("reference")
        if isinstance(ref, str) and ref.rsplit("/", 1)[-1] in self.ed_ids:
            return True
        period = resource.get("period") or {}
        keys = (_utc_key(patient, period.get("start")), self._first_location(resource, patient))
        return any(k is not None and k in self.ed_ends for k in keys)


def encounter_events(
    resource: Mapping[str, Any],
    patient_id: str,
    *,
    ed_unit: str = "ED",
    links: EncounterLinks | None = None,
) -> FhirMapping:
    """The ADT records of one validated Encounter (see the module docstring and docs/fhir.md).

    Raises ``FhirMappingError`` when the Encounter cannot be mapped (an unknown class, a
    status outside R4's, a missing start, impossible times); the message names the element.
    """
    status = resource.get("status")
    if status not in STATUSES:
        raise FhirMappingError(f"status '{status}' is not an R4 Encounter status")
    klass = resource.get("class") or {}
    system, code = klass.get("system"), klass.get("code")
    if system not in _CLASS_SYSTEMS or code not in EMERGENCY_CLASSES | INPATIENT_CLASSES:
        raise FhirMappingError(
            f"class '{code}' ({system or 'no system'}) is not an emergency or inpatient encounter "
            f"(v3-ActCode EMER, IMP, ACUTE, NONAC): no bed movement to map"
        )
    if status in NO_MOVEMENT:
        return FhirMapping([], f"status {status}")
    enc_id = resource.get("id")
    if not isinstance(enc_id, str) or not enc_id:
        raise FhirMappingError("id is missing: the events' ids are made from the Encounter's id")
    period = resource.get("period") or {}
    start = _instant(period["start"], "period.start") if period.get("start") else None
    end = _instant(period["end"], "period.end") if period.get("end") else None
    if start is not None and end is not None and end < start:
        raise FhirMappingError(
            f"impossible times: period.end {period['end']} is before period.start {period['start']}"
        )
    if status == "finished" and end is None:
        raise FhirMappingError("status is finished but period.end is missing")

    def event(kind: str, time: datetime, unit: str, **extra: Any) -> dict[str, Any]:
        values = {
            "v": 1,
            "event_id": f"fhir:Encounter/{enc_id}:{kind}",
            "type": kind.split(":", 1)[0],  # transfer:<k> is the k-th location's transfer
            "time": time.isoformat(),
            "unit": unit,
            "patient_id": patient_id,
        }
        values.update({k: v for k, v in extra.items() if v is not None})
        return values

    if code in EMERGENCY_CLASSES:
        if start is None:
            raise FhirMappingError("period.start is missing: the ED arrival needs a time")
        events = [event("arrival", start, ed_unit, acuity=_acuity(resource))]
        admitted = _admitted(resource) or (
            links is not None and links.admitted(resource, patient_id)
        )
        if status == "finished" and end is not None and not admitted:
            events.append(event("discharge", end, ed_unit))
        return FhirMapping(events)
    from_ed = links is not None and links.from_ed(resource, patient_id)
    return _inpatient(resource, status, start, end, ed_unit, event, from_ed)


def _inpatient(
    resource: Mapping[str, Any],
    status: str,
    start: datetime | None,
    end: datetime | None,
    ed_unit: str,
    event: Callable[..., dict[str, Any]],
    linked_to_ed: bool,
) -> FhirMapping:
    """admit / transfer / discharge of an inpatient Encounter from its location history."""
    hosp = resource.get("hospitalization") or {}
    from_ed = linked_to_ed or (ADMIT_SOURCE, "emd") in _codes(hosp.get("admitSource"))
    stays: list[tuple[datetime, str, int]] = []  # (entered at, unit, index in location[])
    previous_end: datetime | None = start
    for i, entry in enumerate(resource.get("location") or []):
        if entry.get("status") in ("planned", "reserved"):
            continue  # not there yet
        loc_period = entry.get("period") or {}
        where = f"location[{i}].period"
        entered = _instant(loc_period["start"], f"{where}.start") if "start" in loc_period else None
        left = _instant(loc_period["end"], f"{where}.end") if "end" in loc_period else None
        if entered is not None and left is not None and left < entered:
            raise FhirMappingError(f"impossible times: {where}.end is before {where}.start")
        entered = entered or previous_end
        if entered is None:
            raise FhirMappingError(f"{where}.start is missing (and no earlier time to use)")
        stays.append((entered, _unit(entry, i), i))
        previous_end = left or entered
    if not stays:
        if start is None:
            raise FhirMappingError("an inpatient encounter needs location[] or period.start")
        raise FhirMappingError("an inpatient encounter needs location[] to place the patient")
    stays.sort(key=lambda s: s[0])  # stable: entries at the same instant keep their order
    while stays and stays[0][1] == ed_unit:  # boarding in the ED under the inpatient encounter
        from_ed = True
        stays.pop(0)
    if not stays:
        return FhirMapping([], "inpatient encounter still in the ED")
    priorities = {c for s, c in _codes(resource.get("priority")) if s == ACT_PRIORITY}
    admission = None
    if from_ed or priorities & _EMERGENCY_PRIORITY:
        admission = "emergency"
    elif priorities & _ELECTIVE_PRIORITY:
        admission = "elective"
    specialty = _specialty(resource)
    first_time, first_unit, _ = stays[0]
    events = [
        event(
            "admit",
            first_time,
            first_unit,
            from_unit=ed_unit if from_ed else None,
            specialty=specialty,
            admission=admission,
        )
    ]
    unit, last = first_unit, first_time
    for entered, new_unit, index in stays[1:]:
        if new_unit == unit:
            continue  # a bed move inside the unit: not a movement between units
        events.append(
            event(f"transfer:{index}", entered, new_unit, from_unit=unit, specialty=specialty)
        )
        unit, last = new_unit, entered
    if status == "finished" and end is not None:
        if end < last:
            raise FhirMappingError(
                "impossible times: period.end is before the last location's start"
            )
        events.append(event("discharge", end, unit))
    return FhirMapping(events)


def redact_resource(resource: Mapping[str, Any], alias: Callable[[str], str]) -> dict[str, Any]:
    """A copy safe to keep in quarantine: known harmless elements, the subject pseudonymised.

    ``alias`` maps the raw patient identifier to ``pseudonym:<key>``. Elements not in the kept
    list (identifiers, participants, narrative text, contained resources, extensions...) are
    removed and named in ``_removed``.
    """
    out: dict[str, Any] = {k: resource[k] for k in _KEEP if k in resource}
    patient = patient_reference(resource)
    if "subject" in resource:
        out["subject"] = {"reference": f"Patient/{alias(patient)}" if patient else "<removed>"}
    locations = resource.get("location")
    if isinstance(locations, list):
        out["location"] = [_location(e) for e in locations]
    hosp = resource.get("hospitalization")
    if isinstance(hosp, Mapping):
        out["hospitalization"] = {
            k: hosp[k] for k in ("admitSource", "dischargeDisposition") if k in hosp
        }
    removed = sorted(k for k in resource if k not in out)
    if removed:
        out["_removed"] = removed
    return out


def _location(entry: Any) -> Any:
    if not isinstance(entry, Mapping):
        return "<removed>"
    kept: dict[str, Any] = {k: entry[k] for k in ("status", "period") if k in entry}
    ref = entry.get("location")
    if isinstance(ref, Mapping):
        kept["location"] = {k: ref[k] for k in ("reference", "display") if k in ref}
    return kept
