"""Connect: data in from the real system (ADT events; files, HTTP, MQTT and FHIR to come)."""

from __future__ import annotations

from ._adt import ADT_FIELDS, AdtEvent, AdtType, parse_adt
from ._files import IngestError, IngestReport, detect_format, ingest_file, ingest_files

__all__ = [
    "ADT_FIELDS",
    "AdtEvent",
    "AdtType",
    "IngestError",
    "IngestReport",
    "detect_format",
    "ingest_file",
    "ingest_files",
    "parse_adt",
]
