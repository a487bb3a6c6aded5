"""FHIR file ingest: Encounter resources from NDJSON or a JSON Bundle into the twin's store.

NDJSON (the bulk-data format, one resource per line) is streamed line by line and resumable by
byte offset like ``ingest_file``; a document (a Bundle, possibly pretty-printed, or a single
resource) is parsed whole, up to ``max_document_bytes`` (200 MB). Each Encounter is validated
(``fhir.resources``), mapped to ADT v1 events (``_fhir_map``) and stored through the shared
batch path (``_batch``: pseudonymised, ``ON CONFLICT DO NOTHING``, one transaction per batch).
Resources of other types (Patient, Location, ...) and Encounters without a movement (planned,
cancelled, entered-in-error) are skipped and counted; a resource that cannot be read, fails
validation or cannot be mapped is quarantined whole, with its reason. See ``docs/fhir.md``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine

from ._batch import Batch, Context, Pseudonymise, Record, commit_batch
from ._fhir_map import (
    EncounterLinks,
    FhirMappingError,
    encounter_events,
    patient_reference,
    redact_resource,
    validate_encounter,
)
from ._files import IngestError, IngestReport, _check_readable, _lines_before, _start

__all__ = ["FhirReport", "ingest_fhir"]

_FINGERPRINT_BYTES = 64 * 1024
#: A document (not NDJSON) larger than this is refused: send it as NDJSON instead (bytes).
MAX_DOCUMENT_BYTES = 200 * 1024 * 1024
_BATCH = 25_000


@dataclass(frozen=True)
class FhirReport(IngestReport):
    """An ``IngestReport`` of a FHIR file; accepted / duplicate count ADT events,
    quarantined counts rejected resources (and any mapped event ``parse_adt`` refused)."""

    #: FHIR resources read (Bundle entries counted one by one, the Bundle itself not).
    resources: int = 0
    #: Resources that carry no ADT event: other resource types, Encounters planned, cancelled,
    #: entered in error, or still boarding in the ED under an inpatient encounter.
    skipped: int = 0


class _Reader:
    """Resources -> event rows and quarantine rows, committed every ``batch_size`` records."""

    def __init__(
        self, ctx: Context, engine: Engine, batch_size: int, ed_unit: str, links: EncounterLinks
    ) -> None:
        self.ctx = ctx
        self.links = links
        self.engine = engine
        self.batch_size = batch_size
        self.ed_unit = ed_unit
        self.batch = Batch([], [])
        self.totals = [0, 0, 0]
        self.resources = 0
        self.skipped = 0

    def line(self, record: Record) -> None:
        """One NDJSON line: a resource (a Bundle's entries one by one)."""
        self.batch.end = record.end
        try:
            text = record.data.decode("utf-8").lstrip("\ufeff")
        except UnicodeDecodeError as exc:
            self._reject(record, None, None, f"not UTF-8 text (byte {exc.start})")
            return
        if text.strip():
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                self._reject(record, None, None, f"malformed JSON: {exc.msg} at column {exc.colno}")
            else:
                self.value(record, value)
        self._maybe_commit()

    def value(self, record: Record, value: Any) -> None:
        """A parsed resource (NDJSON line or document); a Bundle is taken entry by entry."""
        if not isinstance(value, dict):
            self._reject(record, None, None, "not a JSON object (a FHIR resource)")
        elif value.get("resourceType") == "Bundle":
            entries = value.get("entry") or []
            for index, entry in enumerate(entries if isinstance(entries, list) else []):
                resource = entry.get("resource") if isinstance(entry, Mapping) else None
                if isinstance(resource, dict):
                    # in a document, an entry's "offset" is its index in the Bundle
                    here = Record(0, index, 0, b"") if record.end == 0 else record
                    self.resource(here, resource, index)
                else:  # a delete in a transaction, or a bare link: nothing to read
                    self.resources += 1
                    self.skipped += 1
                if record.end == 0:  # a document: commit as it goes (an NDJSON line: whole)
                    self._maybe_commit()
        else:
            self.resource(record, value, None)

    def resource(self, record: Record, resource: dict[str, Any], entry: int | None) -> None:
        """One resource: skipped, quarantined, or its events added to the batch."""
        self.resources += 1
        if resource.get("resourceType") != "Encounter":
            self.skipped += 1
            return
        patient = patient_reference(resource)
        hide = _secrets(resource, patient)
        try:
            validate_encounter(resource, hide)
        except ValueError as exc:
            self._reject(record, resource, entry, str(exc))
            return
        if patient is None:
            reason = "subject: no Patient/<id> reference or identifier: the events need a patient"
            self._reject(record, resource, entry, reason)
            return
        try:
            mapping = encounter_events(resource, patient, ed_unit=self.ed_unit, links=self.links)
        except FhirMappingError as exc:
            reason = str(exc)
            for secret in hide:
                reason = reason.replace(secret, "<patient>")
            self._reject(record, resource, entry, reason)
            return
        if mapping.skipped is not None:
            self.skipped += 1
            return
        for event in mapping.events:
            data = json.dumps(event, ensure_ascii=False).encode("utf-8") + b"\n"
            self.ctx.add(Record(record.line, record.offset, record.end, data), self.batch)

    def _reject(
        self, record: Record, resource: dict[str, Any] | None, entry: int | None, reason: str
    ) -> None:
        ctx = self.ctx
        if resource is None:
            raw = (
                f"<{len(record.data)} bytes not kept: an unreadable record may hold patient "
                f"identifiers; see line {record.line} of the source>"
            )
            content = record.data
        else:
            redacted = redact_resource(resource, lambda p: f"pseudonym:{ctx.pseudonymise(p)}")
            raw = json.dumps(redacted, ensure_ascii=False, default=str)
            content = json.dumps(resource, sort_keys=True, default=str).encode("utf-8")
        where = f"{ctx.fingerprint}|{record.offset}|{entry}|".encode()
        if entry is not None:
            reason = f"entry[{entry}]: {reason}"
        self.batch.rejects.append(
            {
                "record_key": hashlib.sha256(where + content).hexdigest(),
                "raw": raw,
                "source": ctx.source,
                "line": record.line,
                "offset": record.offset,
                "reason": reason,
                "ingest_id": ctx.ingest_id,
                "received_at": ctx.received_at_datetime,
            }
        )

    def _maybe_commit(self) -> None:
        if len(self.batch.events) + len(self.batch.rejects) >= self.batch_size:
            self.commit()

    def commit(self, *, final: bool = False) -> None:
        commit_batch(self.engine, self.ctx, self.batch, self.totals, final=final)
        self.batch = Batch([], [])


def _secrets(resource: Mapping[str, Any], patient: str | None) -> tuple[str, ...]:
    """Strings that must not appear in a reason: the patient's id and subject reference."""
    subject = resource.get("subject")
    out = [patient or ""]
    if isinstance(subject, Mapping):
        for key in ("reference", "display"):
            if isinstance(subject.get(key), str):
                out.append(subject[key])
        ident = subject.get("identifier")
        if isinstance(ident, Mapping) and isinstance(ident.get("value"), str):
            out.append(ident["value"])
    return tuple(sorted((s for s in out if s), key=len, reverse=True))


def _is_ndjson(path: Path, lines: int = 10) -> bool:
    """NDJSON when one of the first ``lines`` non-blank lines is a whole JSON object with a
    ``resourceType`` (so a broken first line does not make NDJSON a document); a document
    (a pretty-printed Bundle) has no such line."""
    with path.open("rb") as handle:
        for raw in handle:
            if not raw.strip():
                continue
            try:
                value = json.loads(raw.decode("utf-8").lstrip("\ufeff"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                value = None
            if isinstance(value, dict) and "resourceType" in value:
                return True
            lines -= 1
            if lines == 0:
                break
    return False


def _links_of(value: Any, links: EncounterLinks | None = None) -> EncounterLinks:
    """Note a parsed resource (a Bundle's entries one by one) in ``links``."""
    links = EncounterLinks() if links is None else links
    if isinstance(value, dict):
        if value.get("resourceType") == "Bundle" and isinstance(value.get("entry"), list):
            for entry in value["entry"]:
                if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                    links.add(entry["resource"])
        else:
            links.add(value)
    return links


def _links_of_lines(handle: IO[bytes]) -> EncounterLinks:
    """The first pass over an NDJSON file (from its start, even when resuming)."""
    links = EncounterLinks()
    handle.seek(0)
    for raw in handle:
        if b'"Encounter"' in raw or b'"Bundle"' in raw:
            try:
                _links_of(json.loads(raw), links)
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue  # quarantined in the second pass
    return links


def ingest_fhir(
    path: Path,
    engine: Engine,
    pseudonymise: Pseudonymise,
    *,
    batch_size: int = _BATCH,
    ed_unit: str = "ED",
    max_document_bytes: int = MAX_DOCUMENT_BYTES,
) -> FhirReport:
    """Ingest one FHIR file (NDJSON, or a Bundle / resource document) of Encounters.

    ``pseudonymise`` maps a raw patient identifier to its keyed hash; ``ed_unit`` names the ED
    in the events (an EMER encounter's unit, and the location of an inpatient boarding in the
    ED). NDJSON resumes an interrupted ingest of the same file from its last committed line.
    Raises ``IngestError`` when the file as a whole cannot be read (a document that is not
    JSON, or larger than ``max_document_bytes``).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    path = Path(path)
    _check_readable(path)
    source = str(path.resolve())
    size = path.stat().st_size
    ndjson = _is_ndjson(path)
    document: Any = None
    if not ndjson and size <= max_document_bytes:
        try:
            document = json.loads(path.read_bytes().decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise IngestError(
                f"{path}: not a FHIR JSON document or NDJSON ({exc}); fix the JSON"
            ) from None
    elif not ndjson:
        raise IngestError(
            f"{path}: a FHIR JSON document of {size / 1e6:.0f} MB is larger than the "
            f"{max_document_bytes / 1e6:.0f} MB read whole; export it as NDJSON (one resource "
            "per line, the FHIR bulk-data format), which is streamed"
        )
    with path.open("rb") as handle:
        fingerprint = hashlib.sha256(handle.read(_FINGERPRINT_BYTES)).hexdigest()
        ingest_id, position = _start(engine, source, fingerprint, "fhir", size)
        sqlite = engine.dialect.name == "sqlite"
        ctx = Context(source, fingerprint, ingest_id, None, pseudonymise, sqlite)
        links = _links_of_lines(handle) if ndjson else _links_of(document)
        reader = _Reader(ctx, engine, batch_size, ed_unit, links)
        resumed_from = 0
        if ndjson:
            resumed_from = position
            line = _lines_before(handle, position)
            handle.seek(position)
            offset = position
            for raw in handle:
                reader.line(Record(line, offset, offset + len(raw), raw))
                offset += len(raw)
                line += 1
        else:  # a document: no byte position to resume from (a rerun is all duplicate)
            reader.value(Record(0, 0, 0, b""), document)
        reader.commit(final=True)
    accepted, duplicate, quarantined = reader.totals
    return FhirReport(
        source,
        "fhir",
        accepted,
        duplicate,
        quarantined,
        ingest_id,
        resumed_from,
        resources=reader.resources,
        skipped=reader.skipped,
    )
