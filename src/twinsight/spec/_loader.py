"""Load a spec from YAML (or a dict), apply ``--set`` overrides, and explain every problem.

Each problem names its place in the file (dotted path and line:column) and how to fix it, so the
CLI can print them all at once and exit 2 without a traceback.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import math
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from ._arrivals import Arrival
from ._flow import DEFAULT_CLASS, REFERENCE_ERRORS, FlowSpec
from ._network import EntityClass, InitialGroup, Resource, Route, Station

__all__ = ["Problem", "SpecError", "apply_overrides", "load_spec", "parse_spec", "validate_dict"]


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
    except FileNotFoundError:
        raise SpecError(str(p), [Problem("", "no such file; check the path")]) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SpecError(
            str(p), [Problem("", f"cannot read the file ({reason}); check the path")]
        ) from None
    except UnicodeDecodeError:
        raise SpecError(
            str(p), [Problem("", "the file is not UTF-8 text; save the spec as UTF-8 YAML")]
        ) from None
    return parse_spec(text, source=str(p), base_dir=p.parent, overrides=overrides)


def parse_spec(
    text: str,
    source: str = "<spec>",
    base_dir: Path | None = None,
    overrides: Iterable[str] = (),
) -> FlowSpec:
    """Parse YAML text into a validated :class:`FlowSpec`.

    ``base_dir`` is where relative data files (empirical ``file:``) are looked up; ``overrides``
    are ``dotted.path=value`` strings applied before validation (see :func:`apply_overrides`).
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        col = mark.column + 1 if mark is not None else None
        what = getattr(exc, "problem", None) or exc
        msg = f"malformed YAML: {what}; check indentation, colons and quoting"
        raise SpecError(source, [Problem("", msg, line, col)]) from None
    if not isinstance(data, dict):
        msg = "the spec must be a YAML mapping (key: value lines), starting with 'name:'"
        raise SpecError(source, [Problem("", msg, 1, 1)])
    problems = _duplicate_keys(node)
    overrides = list(overrides)
    for item in overrides:
        try:
            apply_overrides(data, [item])
        except ValueError as exc:
            problems.append(Problem("--set", str(exc)))
    problems += _read_empirical_files(data, base_dir or Path.cwd(), node)
    try:
        spec = validate_dict(data, source, node)
    except SpecError as exc:
        # a data file that could not be read already explains the empty 'values'
        unread = {p.path[: -len(".file")] for p in problems if p.path.endswith(".file")}
        found = [p for p in exc.problems if p.path not in unread]
        problems += _mark_overridden(found, overrides)
    if problems:
        raise SpecError(source, problems)
    return spec


def validate_dict(
    data: Mapping[str, Any], source: str = "<spec>", node: yaml.Node | None = None
) -> FlowSpec:
    """Validate a plain dict (e.g. built in Python) into a :class:`FlowSpec`.

    ``node`` (the composed YAML of the same data) lets problems carry line and column numbers.
    """
    try:
        return FlowSpec.model_validate(data)
    except ValidationError as exc:
        problems = _explain(exc, data, node)
        if not any(str(e["msg"]).find(REFERENCE_ERRORS) >= 0 for e in exc.errors()):
            # pydantic skipped the cross-reference check because some field is invalid:
            # run it on the valid parts so that every problem is reported at once
            problems += _reference_problems(data, node)
        raise SpecError(source, _sorted(problems)) from None


def apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> None:
    """Apply ``dotted.path=value`` overrides in place; the value is parsed as YAML.

    List items are addressed by index (``arrivals.0.rate=2``) or, for lists of named items, by
    name (``arrivals.walk-in.rate=2``). Missing mapping keys are created.
    """
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"override {item!r} needs the form path=value, e.g. horizon=1440")
        path, raw = item.split("=", 1)
        keys = [k for k in path.strip().split(".") if k]
        if not keys:
            raise ValueError(f"override {item!r} has an empty path; write path=value")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise ValueError(
                f"override {item!r}: the value {raw!r} is not valid YAML; quote it, e.g. "
                f"{path}='\"{raw}\"'"
            ) from None
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
                raise ValueError(
                    f"override {path!r}: '{key}' is inside a plain value, not a mapping; "
                    "check the path"
                )


def _list_index(items: list[Any], key: str, path: str) -> int:
    if key.lstrip("-").isdigit():
        idx = int(key)
        if -len(items) <= idx < len(items):
            return idx
        raise ValueError(
            f"override {path!r}: index {key} is out of range (the list has {len(items)} items)"
        )
    for i, it in enumerate(items):
        if isinstance(it, dict) and it.get("name") == key:
            return i
    names = [it.get("name") for it in items if isinstance(it, dict) and "name" in it]
    raise ValueError(f"override {path!r}: no item named '{key}' in the list (names: {names})")


def _mark_overridden(problems: list[Problem], overrides: list[str]) -> list[Problem]:
    """Say which problems come from a ``--set`` value rather than from the file."""
    paths = [o.split("=", 1)[0].strip() for o in overrides if "=" in o]
    out = []
    for p in problems:
        hit = next((o for o in paths if _related(p.path, o)), None)
        if hit is None:
            out.append(p)
        else:
            out.append(
                Problem(p.path, f"{p.message} (value given by --set {hit}=...)", p.line, p.column)
            )
    return out


def _related(problem_path: str, override_path: str) -> bool:
    """Whether one dotted path lies inside the other (a ``--set`` value caused the problem)."""
    if not problem_path:
        return False
    a, b = problem_path + ".", override_path + "."
    return a.startswith(b) or b.startswith(a)


def _duplicate_keys(node: yaml.Node | None, path: tuple[Any, ...] = ()) -> list[Problem]:
    """YAML silently keeps the last of two equal keys; a spec must not (a station would vanish)."""
    problems: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for k, v in node.value:
            key = str(k.value)
            if key in seen:
                where = ".".join(str(x) for x in (*path, key))
                msg = f"'{key}' appears twice in the same mapping; rename or merge the two"
                problems.append(Problem(where, msg, k.start_mark.line + 1, k.start_mark.column + 1))
            seen.add(key)
            problems += _duplicate_keys(v, (*path, key))
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            problems += _duplicate_keys(v, (*path, i))
    return problems


def _read_empirical_files(
    data: Any, base: Path, node: yaml.Node | None, path: tuple[Any, ...] = ()
) -> list[Problem]:
    """Replace ``{dist: empirical, file: x.csv, column: c}`` by its values, read from the CSV."""
    problems: list[Problem] = []
    if isinstance(data, dict):
        if data.get("dist") == "empirical" and data.get("file") and not data.get("values"):
            where = ".".join(map(str, path))
            line, col = _locate(node, (*path, "file"))
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


def _explain(exc: ValidationError, data: Any, node: yaml.Node | None) -> list[Problem]:
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = str(err["type"])
        msg = str(err["msg"])
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if msg.startswith(REFERENCE_ERRORS):
            problems += _reference_rows(msg, node)
            continue
        path = _data_path(data, loc, kind)
        line, col = _locate(node, path, key=kind == "extra_forbidden")
        problems.append(Problem(".".join(map(str, path)), _hint(kind, msg, loc), line, col))
    # same place from two branches of a union ('a string' / 'a dictionary'): say it once
    unique: list[Problem] = []
    for p in dict.fromkeys(problems):
        prev = unique[-1] if unique else None
        if prev and prev.path == p.path and _is_type_msg(prev) and _is_type_msg(p):
            alt = p.message.removeprefix("Input should be ").split(";")[0]
            head, _, tail = prev.message.partition(";")
            unique[-1] = Problem(prev.path, f"{head} or {alt};{tail}", prev.line, prev.column)
        else:
            unique.append(p)
    return _sorted(unique)


def _sorted(problems: list[Problem]) -> list[Problem]:
    """Problems in file order (stable; those without a line last)."""
    order = sorted(range(len(problems)), key=lambda i: (problems[i].line or 10**9, i))
    return [problems[i] for i in order]


def _reference_rows(msg: str, node: yaml.Node | None) -> list[Problem]:
    """Problems from a cross-reference message (one ``path: text`` per line)."""
    problems = []
    for row in msg[msg.index(REFERENCE_ERRORS) + len(REFERENCE_ERRORS) :].splitlines():
        path_text, _, text = row.partition(": ")
        path = tuple(int(k) if k.isdigit() else k for k in path_text.split("."))
        line, col = _locate(node, path)
        problems.append(Problem(path_text, text, line, col))
    return problems


def _valid_parts(
    raw: Mapping[Any, Any], model: type[BaseModel], placeholder: Callable[[Any], Any]
) -> dict[str, Any]:
    """Validate each entry of a mapping on its own; an invalid one becomes ``placeholder(raw)``."""
    out: dict[str, Any] = {}
    for name, value in raw.items():
        try:
            out[str(name)] = model.model_validate(value)
        except ValidationError:
            out[str(name)] = placeholder(value)
    return out


def _partial_station(raw: Any) -> Station:
    """The well-formed references (resources, routing rows) of an otherwise invalid station."""
    raw = raw if isinstance(raw, Mapping) else {}
    needs = raw.get("resources")
    ok = isinstance(needs, Mapping) and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in needs.values()
    )

    def rows(table: Any) -> list[Route]:
        out = []
        for row in table if isinstance(table, list) else []:
            with contextlib.suppress(ValidationError):
                out.append(Route.model_validate(row))
        return out

    by_class = raw.get("routing_by_class")
    fields: dict[str, Any] = {
        "resources": {str(k): v for k, v in needs.items()} if ok and needs else {},
        "service_by_class": {},
        "patience_by_class": {},
        "routing": rows(raw.get("routing")),
        "routing_by_class": (
            {str(c): rows(t) for c, t in by_class.items()} if isinstance(by_class, Mapping) else {}
        ),
    }
    return Station.model_construct(**fields)


def _reference_problems(data: Mapping[str, Any], node: yaml.Node | None) -> list[Problem]:
    """Cross-reference problems of the valid parts of a spec that has invalid fields.

    Invalid resources count as unlimited and invalid stations keep only their well-formed
    resources and routing rows, so that the check adds no problem that their own field errors
    already explain.
    """
    classes = data.get("classes", {DEFAULT_CLASS: {}})
    resources = data.get("resources", {})
    stations = data.get("stations", {})
    if not all(isinstance(x, Mapping) for x in (classes, resources, stations)):
        return []
    arrivals_raw = data.get("arrivals", [])
    initial_raw = data.get("initial_state", [])
    if not isinstance(arrivals_raw, list) or not isinstance(initial_raw, list):
        return []
    arrival_adapter: TypeAdapter[Any] = TypeAdapter(Arrival)
    arrivals, dropped = [], False
    for raw in arrivals_raw:
        try:
            arrivals.append(arrival_adapter.validate_python(raw))
        except ValidationError:
            dropped = True
    initial = []
    for raw in initial_raw:
        try:
            initial.append(InitialGroup.model_validate(raw))
        except ValidationError:
            dropped = True
    h, w = data.get("horizon"), data.get("warmup", 0.0)
    horizon, warmup = math.inf, 0.0  # unless both are valid, skip the warm-up check
    if _number(h) and _number(w) and float(h) > 0 and float(w) >= 0:
        horizon, warmup = float(h), float(w)
    unlimited = Resource.model_construct(capacity=2**62, schedule=None)
    fields: dict[str, Any] = {
        "classes": _valid_parts(classes, EntityClass, lambda raw: EntityClass()),
        "resources": _valid_parts(resources, Resource, lambda raw: unlimited),
        "stations": _valid_parts(stations, Station, _partial_station),
        "arrivals": arrivals,
        "initial_state": initial,
        "horizon": horizon,
        "warmup": warmup,
    }
    spec = FlowSpec.model_construct(**fields)
    check = FlowSpec.__pydantic_decorators__.model_validators["_references"].func
    try:
        check(spec)
    except ValueError as exc:
        if REFERENCE_ERRORS not in str(exc):
            return []
        found = _reference_rows(str(exc), node)
        if dropped:  # an invalid stream may be the one that was missing
            found = [p for p in found if p.path not in {"arrivals"}]
        return found
    return []


def _number(x: object) -> TypeGuard[float]:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _is_type_msg(p: Problem) -> bool:
    return p.message.startswith("Input should be a valid")


def _data_path(data: Any, loc: tuple[Any, ...], kind: str) -> tuple[Any, ...]:
    """The part of pydantic's ``loc`` that names places in the data (drops union tags)."""
    out: list[Any] = []
    current: Any = data
    for depth, key in enumerate(loc):
        last = depth == len(loc) - 1
        in_map = isinstance(current, Mapping) and key in current
        in_list = isinstance(current, list) and isinstance(key, int) and 0 <= key < len(current)
        if in_map or in_list:
            current = current[key]
            out.append(key)
        elif last and kind == "missing" and isinstance(current, Mapping):
            out.append(key)
        # else: a union tag ('exponential', 'poisson', 'str', ...) that is not in the data
    return tuple(out)


def _hint(kind: str, msg: str, loc: tuple[Any, ...]) -> str:
    field = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        allowed = _fields_at(loc[:-1])
        close = difflib.get_close_matches(field, allowed, n=1, cutoff=0.6)
        if close:
            return f"unknown field '{field}'; did you mean '{close[0]}'?"
        known = f" (allowed here: {', '.join(allowed)})" if allowed else ""
        return f"unknown field '{field}'; remove it or check the spelling{known}"
    if kind == "missing":
        return f"required field '{field}' is missing; add it"
    if kind in {"greater_than", "greater_than_equal"}:
        return f"{msg}; negative values (or zero) make no sense here, give a positive number"
    if kind in {"less_than", "less_than_equal"}:
        return f"{msg}; lower the value"
    if kind.endswith("_parsing") or kind.endswith("_type"):
        return f"{msg}; check the value's type"
    if kind == "union_tag_invalid":
        return f"{msg}; see 'twinsight schema' for the allowed kinds"
    if kind == "union_tag_not_found":
        return f"{msg}; add it, e.g. 'dist: exponential' (see 'twinsight schema')"
    if kind == "literal_error":
        return f"{msg}; use one of the listed values"
    if kind == "too_short":
        return f"{msg}; add at least one entry"
    return msg


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """The field names (YAML spelling) allowed in the mapping at pydantic location ``loc``."""
    candidates: list[Any] = [FlowSpec]
    for key in loc:
        stepped: list[Any] = []
        for t in candidates:
            stepped += _step(t, key)
        if stepped:
            candidates = stepped
            continue
        # not a field or item: a union tag; keep the models whose 'dist'/'kind' literal matches
        tagged = [t for t in candidates if _tag_matches(t, key)]
        candidates = tagged or candidates
    names: list[str] = []
    for t in candidates:
        if isinstance(t, type) and issubclass(t, BaseModel):
            for name, info in t.model_fields.items():
                names.append(info.alias or name)
    return list(dict.fromkeys(names))


def _expand(tp: Any) -> list[Any]:
    """Concrete types inside ``Annotated``, ``Optional`` and unions."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _expand(typing.get_args(tp)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [c for a in typing.get_args(tp) for c in _expand(a)]
    return [tp]


def _step(tp: Any, key: Any) -> list[Any]:
    out: list[Any] = []
    for t in _expand(tp):
        origin = typing.get_origin(t)
        if isinstance(t, type) and issubclass(t, BaseModel):
            for name, info in t.model_fields.items():
                if key in (name, info.alias):
                    out += _expand(info.annotation)
        elif origin is list and isinstance(key, int):
            out += _expand(typing.get_args(t)[0])
        elif origin is dict and isinstance(key, str):
            out += _expand(typing.get_args(t)[1])
    return out


def _tag_matches(tp: Any, key: Any) -> bool:
    if not (isinstance(tp, type) and issubclass(tp, BaseModel)):
        return False
    for name in ("dist", "kind"):
        info = tp.model_fields.get(name)
        if info is not None and key in typing.get_args(info.annotation):
            return True
    return False


def _child(node: yaml.Node | None, key: Any) -> tuple[yaml.Node, yaml.Node] | None:
    """(key node, value node) of ``key`` in a mapping, or (item, item) of a list index."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == str(key):
                return k, v
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        item: yaml.Node = node.value[key]
        return item, item
    return None


def _locate(
    node: yaml.Node | None, loc: tuple[Any, ...], key: bool = False
) -> tuple[int | None, int | None]:
    """Line and column (1-based) of the deepest YAML node along ``loc``; skips union tags.

    With ``key``, the position of the last key itself (for unknown fields) rather than its value.
    """
    if node is None:
        return None, None
    best: yaml.Node = node
    current: yaml.Node = node
    for k in loc:
        found = _child(current, k)
        if found is None:
            continue  # a union tag or a missing key: stay at the parent
        best, current = (found[0] if key else found[1]), found[1]
    return best.start_mark.line + 1, best.start_mark.column + 1
