"""Empirical distributions read from CSV files next to the spec."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import yaml

from ._problems import Problem, locate

__all__ = ["read_empirical_files"]


def read_empirical_files(
    data: Any, base: Path, node: yaml.Node | None, path: tuple[Any, ...] = ()
) -> list[Problem]:
    """Replace ``{dist: empirical, file: x.csv, column: c}`` by its values, read from the CSV."""
    problems: list[Problem] = []
    if isinstance(data, dict):
        if data.get("dist") == "empirical" and data.get("file") and not data.get("values"):
            where = ".".join(map(str, path))
            line, col = locate(node, (*path, "file"))
            try:
                data["values"] = _read_column(base / str(data["file"]), data.get("column"))
            except (OSError, ValueError) as exc:
                problems.append(Problem(where + ".file", f"{exc}", line, col))
        for k, v in data.items():
            problems += read_empirical_files(v, base, node, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            problems += read_empirical_files(v, base, node, (*path, i))
    return problems


def _read_column(path: Path, column: str | None) -> list[float]:
    """The numbers of one CSV column (the first one when ``column`` is None; header optional)."""
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise ValueError(
            f"cannot read data file {str(path)!r} ({exc.strerror}); check the path, "
            "which is relative to the spec file"
        ) from None
    with handle:
        rows = [r for r in csv.reader(handle) if r and any(c.strip() for c in r)]
    if not rows:
        raise ValueError(f"data file {str(path)!r} is empty; it needs at least one number")
    header = [h.strip() for h in rows[0]]
    idx = 0
    first = 1
    if column is not None:
        if column not in header:
            raise ValueError(f"data file {str(path)!r} has no column {column!r}; columns: {header}")
        idx = header.index(column)
        rows = rows[1:]
        first = 2
    else:
        try:
            float(header[0])
        except ValueError:
            rows = rows[1:]
            first = 2
    out: list[float] = []
    for n, row in enumerate(rows, start=first):
        try:
            out.append(float(row[idx]))
        except (ValueError, IndexError):
            raise ValueError(
                f"data file {str(path)!r} row {n}: {row!r} is not a number; fix or remove it"
            ) from None
    if not out:
        raise ValueError(f"data file {str(path)!r} has a header but no numbers")
    return out


# ----- explaining validation errors -----------------------------------------------------------
