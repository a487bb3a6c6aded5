"""Write ADT rows as CSV or JSON Lines (by the file's extension), byte for byte reproducibly."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..connect import ADT_FIELDS

__all__ = ["FORMATS", "event_format", "write_events"]

#: File extension -> format name.
FORMATS = {".csv": "csv", ".jsonl": "jsonl"}


def event_format(path: str | Path) -> str:
    """``csv`` or ``jsonl`` from the extension of ``path``; ``ValueError`` for any other."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"unknown extension '{suffix or '(none)'}' of {path}: use .csv or .jsonl")
    return FORMATS[suffix]


def write_events(rows: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Write ``rows`` to ``path`` (CSV with a header, or JSON Lines); return the row count.

    CSV: the columns are ``ADT_FIELDS``, an absent value is an empty cell, lines end in ``\\n``.
    JSON Lines: one object per line with the present fields in ``ADT_FIELDS`` order.
    """
    fmt = event_format(path)
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
