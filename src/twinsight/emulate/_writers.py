"""Write ADT rows as CSV, JSON Lines or Parquet (by the file's extension), reproducibly.

CSV and JSON Lines are byte for byte reproducible; Parquet is too for one pyarrow version (the
file records the writer's version).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from itertools import islice
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..connect import ADT_FIELDS

__all__ = ["FORMATS", "PARQUET_SCHEMA", "event_format", "write_events"]

#: File extension -> format name.
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}

#: Column types of an emulated Parquet file. ``time`` is ISO 8601 text (as in CSV), so that a
#: malformed time (no offset, 25:61) is written as it is and quarantined on ingest.
PARQUET_SCHEMA = pa.schema(
    [(name, pa.int64() if name in ("v", "acuity") else pa.string()) for name in ADT_FIELDS]
)
#: Rows per Parquet row group (and per chunk held in memory while writing).
_ROW_GROUP = 65_536


def event_format(path: str | Path) -> str:
    """``csv``, ``jsonl`` or ``parquet`` from the extension of ``path``; ``ValueError`` else."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"unknown extension '{suffix or '(none)'}' of {path}: use .csv, .jsonl or .parquet"
        )
    return FORMATS[suffix]


def write_events(rows: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Write ``rows`` to ``path`` (CSV with a header, JSON Lines or Parquet); the row count.

    CSV: the columns are ``ADT_FIELDS``, an absent value is an empty cell, lines end in ``\\n``.
    JSON Lines: one object per line with the present fields in ``ADT_FIELDS`` order.
    Parquet: the columns are ``ADT_FIELDS`` (``PARQUET_SCHEMA``), an absent value is null;
    written in row groups of 65,536 rows (one group in memory at a time).
    """
    fmt = event_format(path)
    if fmt == "parquet":
        return _write_parquet(rows, Path(path))
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        if fmt == "csv":
            writer = csv.DictWriter(out, fieldnames=ADT_FIELDS, lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow({k: "" if row.get(k) is None else row[k] for k in ADT_FIELDS})
                count += 1
        else:
            for row in rows:
                present = {k: row[k] for k in ADT_FIELDS if row.get(k) is not None}
                out.write(json.dumps(present, ensure_ascii=False) + "\n")
                count += 1
    return count


def _write_parquet(rows: Iterable[dict[str, Any]], path: Path) -> int:
    count = 0
    source = iter(rows)
    with pq.ParquetWriter(path, PARQUET_SCHEMA) as writer:
        while chunk := list(islice(source, _ROW_GROUP)):
            columns = {
                name: [None if row.get(name) is None else row[name] for row in chunk]
                for name in ADT_FIELDS
            }
            writer.write_table(pa.Table.from_pydict(columns, schema=PARQUET_SCHEMA))
            count += len(chunk)
    return count
