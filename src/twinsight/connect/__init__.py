"""Connect: data in from the real system (ADT events from files, streams and services).

``ingest_file`` reads CSV / JSON Lines files (resumable by byte offset), ``ingest_fhir`` FHIR R4
Encounters (NDJSON or a Bundle), ``ingest_path`` picks the reader by format; ``RecordSink`` takes
records one by one from any other connector and stores them in explicit commits.
"""

from __future__ import annotations

from ._adt import ADT_FIELDS, AdtEvent, AdtType, parse_adt
from ._dispatch import ingest_path
from ._fhir import FhirReport, ingest_fhir
from ._files import IngestError, IngestReport, detect_format, ingest_file, ingest_files
from ._mqtt import MqttError, MqttUrl, ingest_mqtt, parse_mqtt_url
from ._parquet import ingest_parquet
from ._replay import ReplayReport, replay_path, stop_on_signals
from ._sink import BatchCounts, RecordSink

__all__ = [
    "ADT_FIELDS",
    "AdtEvent",
    "AdtType",
    "BatchCounts",
    "FhirReport",
    "IngestError",
    "IngestReport",
    "MqttError",
    "MqttUrl",
    "RecordSink",
    "ReplayReport",
    "detect_format",
    "ingest_fhir",
    "ingest_file",
    "ingest_files",
    "ingest_mqtt",
    "ingest_parquet",
    "ingest_path",
    "parse_adt",
    "parse_mqtt_url",
    "replay_path",
    "stop_on_signals",
]
