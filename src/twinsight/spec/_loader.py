"""Load a spec from YAML (or a dict), apply ``--set`` overrides, and explain every problem.

Each problem names its place in the file (dotted path and line:column) and how to fix it, so the
CLI can print them all at once and exit 2 without a traceback.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ._flow import REFERENCE_ERRORS, FlowSpec

__all__ = ["Problem", "SpecError", "apply_overrides", "load_spec", "parse_spec"]

_KNOWN_FIELDS = sorted(
    {
        "twinsight", "kind", "name", "description", "time_unit", "horizon", "warmup", "start",
        "classes", "resources", "stations", "arrivals", "initial_state", "kpis", "priority",
        "attributes", "capacity", "schedule", "repeat", "steps", "at", "service",
        "service_by_class", "queue_capacity", "discipline", "patience", "patience_by_class",
        "blocking", "release_window", "routing", "routing_by_class", "wait_target", "to", "p",
        "becomes", "from", "dist", "mean", "sd", "shape", "scale", "min", "max", "mode", "value",
        "values", "file", "column", "rate", "profile", "per", "hour_of_day", "day_factor",
        "hour_of_week", "class", "batch", "weights", "slots", "day", "count", "time", "station",
        "status", "elapsed", "remaining", "in_system", "interval", "percentiles",
    }
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec: where (dotted path, line, column) and what to do."""

    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def render(self, source: str) -> str:
        """``file:line:col: path: message``."""
        where = source
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        return f"{where}: {self.path or '<top>'}: {self.message}"


class SpecError(ValueError):
    """A spec that cannot be used, with every problem found."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(p.render(source) for p in problems))


def load_spec(path: str | Path, overrides: Iterable[str] = ()) -> FlowSpec:
    """Read a YAML spec file, apply ``path=value`` overrides, validate it.

    Raises :class:`SpecError` (never a bare traceback-worthy error) for anything wrong.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(str(p), [Problem("", f"cannot read the file ({exc.strerror}); check the path")]) from None
    return parse_spec(text, source=str(p), base_dir=p.parent, overrides=overrides)


def parse_spec(
    text: str,
    source: str = "<spec>",
    base_dir: Path | None = None,
    overrides: Iterable[str] = (),
) -> FlowSpec:
    """Parse YAML text into a validated :class:`FlowSpec`."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        col = mark.column + 1 if mark is not None else None
        msg = f"malformed YAML: {getattr(exc, 'problem', None) or exc}; check indentation and quoting"
        raise SpecError(source, [Problem("", msg, line, col)]) from None
    if not isinstance(data, dict):
        raise SpecError(source, [Problem("", "the spec must be a YAML mapping (key: value lines)", 1, 1)])
    problems: list[Problem] = []
    try:
        apply_overrides(data, overrides)
    except ValueError as exc:
        raise SpecError(source, [Problem("--set", str(exc))]) from None
    problems += _read_empirical_files(data, base_dir or Path.cwd(), node)
    if problems:
        raise SpecError(source, problems)
    return validate_dict(data, source, node)


def validate_dict(data: Mapping[str, Any], source: str = "<spec>", node: yaml.Node | None = None) -> FlowSpec:
    """Validate a plain dict (e.g. built in Python) into a :class:`FlowSpec`."""
    try:
        return FlowSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(source, _explain(exc, node)) from None


def apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> None:
    """Apply ``dotted.path=value`` overrides in place; the value is parsed as YAML.

    List items are addressed by index (``arrivals.0.rate=2``) or, for lists of named items, by
    name (``arrivals.walk-in.rate=2``).
    """
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"override {item!r} needs the form path=value, e.g. horizon=1440")
        path, raw = item.split("=", 1)
        keys = [k for k in path.strip().split(".") if k]
        if not keys:
            raise ValueError(f"override {item!r} has an empty path")
        value = yaml.safe_load(raw)
        target: Any = data
        for depth, key in enumerate(keys):
            last = depth == len(keys) - 1
            if isinstance(target, list):
                idx = _list_index(target, key, path)
                if last:
                    target[idx] = value
                else:
                    target = target[idx]
            elif isinstance(target, dict):
                if last:
                    target[key] = value
                else:
                    target = target.setdefault(key, {})
            else:
                raise ValueError(f"override {path!r}: '{key}' is inside a plain value, not a mapping")


def _list_index(items: list[Any], key: str, path: str) -> int:
    if key.lstrip("-").isdigit():
        idx = int(key)
        if -len(items) <= idx < len(items):
            return idx
        raise ValueError(f"override {path!r}: index {key} is out of range (list has {len(items)} items)")
    for i, it in enumerate(items):
        if isinstance(it, dict) and it.get("name") == key:
            return i
    raise ValueError(f"override {path!r}: no item named '{key}' in the list")


def _read_empirical_files(data: Any, base: Path, node: yaml.Node | None, path: tuple[Any, ...] = ()) -> list[Problem]:
    """Replace ``{dist: empirical, file: x.csv, column: c}`` by its values, read from the CSV."""
    problems: list[Problem] = []
    if isinstance(data, dict):
        if data.get("dist") == "empirical" and data.get("file") and not data.get("values"):
            where = ".".join(map(str, path))
            line, col = _locate(node, path)
            try:
                data["values"] = _read_column(base / str(data["file"]), data.get("column"))
            except (OSError, ValueError) as exc:
                problems.append(Problem(where + ".file", f"{exc}", line, col))
        for k, v in data.items():
            problems += _read_empirical_files(v, base, node, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            problems += _read_empirical_files(v, base, node, (*path, i))
    return problems


def _read_column(path: Path, column: str | None) -> list[float]:
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read data file {str(path)!r} ({exc.strerror}); check the path, "
                         "which is relative to the spec file") from None
    with handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise ValueError(f"data file {str(path)!r} is empty")
    header = rows[0]
    idx = 0
    if column is not None:
        if column not in header:
            raise ValueError(f"data file {str(path)!r} has no column {column!r}; columns: {header}")
        idx = header.index(column)
        rows = rows[1:]
    else:
        try:
            float(header[0])
        except ValueError:
            rows = rows[1:]
    out: list[float] = []
    for n, row in enumerate(rows, start=2 if column is not None else 1):
        try:
            out.append(float(row[idx]))
        except (ValueError, IndexError):
            raise ValueError(f"data file {str(path)!r} row {n}: {row!r} is not a number; fix or remove it") from None
    return out


def _explain(exc: ValidationError, node: yaml.Node | None) -> list[Problem]:
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        msg = str(err["msg"])
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if msg.startswith(REFERENCE_ERRORS):
            for row in msg[len(REFERENCE_ERRORS):].splitlines():
                path_text, _, text = row.partition(": ")
                path = tuple(int(k) if k.isdigit() else k for k in path_text.split("."))
                line, col = _locate(node, (*loc, *path))
                problems.append(Problem(path_text, text, line, col))
            continue
        line, col = _locate(node, loc)
        path_text = ".".join(str(k) for k in loc if _in_yaml(node, loc, k))
        problems.append(Problem(path_text, _hint(err["type"], msg, loc), line, col))
    return problems


def _hint(kind: str, msg: str, loc: tuple[Any, ...]) -> str:
    field = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(field, _KNOWN_FIELDS, n=1)
        tip = f"; did you mean '{close[0]}'?" if close else "; remove it or check the spelling"
        return f"unknown field '{field}'{tip}"
    if kind == "missing":
        return f"required field '{field}' is missing; add it"
    if kind in {"greater_than", "greater_than_equal"}:
        return f"{msg}; negative or zero values make no sense here"
    if kind.endswith("_parsing") or kind.endswith("_type"):
        return f"{msg}; check the value's type"
    if kind == "union_tag_invalid":
        return f"{msg}; see 'twinsight schema' for the allowed kinds"
    return msg


def _child(node: yaml.Node | None, key: Any) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == str(key):
                return v
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        return node.value[key]
    return None


def _in_yaml(node: yaml.Node | None, loc: tuple[Any, ...], key: Any) -> bool:
    # pydantic puts union tags (e.g. 'exponential') into locations; they are not in the file
    return not isinstance(key, str) or not key.startswith(("function-", "tagged-union"))


def _locate(node: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[int | None, int | None]:
    """Line and column (1-based) of the deepest YAML node along ``loc``; skips union tags."""
    if node is None:
        return None, None
    best = node
    current: yaml.Node | None = node
    for key in loc:
        nxt = _child(current, key)
        if nxt is None:
            continue  # a union tag or a missing key: stay at the parent
        current = best = nxt
    return best.start_mark.line + 1, best.start_mark.column + 1
