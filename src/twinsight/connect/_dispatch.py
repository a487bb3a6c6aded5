"""One entry point for an event file of any supported format: pick the reader by format."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from ._batch import Pseudonymise
from ._fhir import ingest_fhir
from ._files import _BATCH, IngestReport, _check_readable, detect_format, ingest_file
from ._parquet import ingest_parquet

__all__ = ["READERS", "ingest_path"]

Reader = Callable[..., IngestReport]

#: Format (``detect_format``) -> the function that ingests a file of that format.
READERS: dict[str, Reader] = {
    "csv": ingest_file,
    "jsonl": ingest_file,
    "parquet": ingest_parquet,
    "fhir": ingest_fhir,
}


def ingest_path(
    path: Path, engine: Engine, pseudonymise: Pseudonymise, *, batch_size: int = _BATCH
) -> IngestReport:
    """Ingest one file of ADT events with the reader for its format (``detect_format``).

    Idempotent and resumable whatever the format; raises ``IngestError`` when the file as a
    whole cannot be read as ADT events (missing, not the format it claims, wrong columns).
    """
    path = Path(path)
    _check_readable(path)
    reader = READERS[detect_format(path)]
    return reader(path, engine, pseudonymise, batch_size=batch_size)
