"""Turn pydantic's validation errors into problems with a place and a fix.

Cross-references are also checked on the parts of a spec that are valid, so that every problem
is reported in one pass.
"""

from __future__ import annotations

import contextlib
import difflib
import math
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeGuard

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from ._arrivals import Arrival
from ._flow import DEFAULT_CLASS, REFERENCE_ERRORS, FlowSpec
from ._network import EntityClass, InitialGroup, Resource, Route, Station
from ._problems import Problem, locate, sorted_problems

__all__ = ["explain", "reference_problems", "valid_parts"]


def explain(exc: ValidationError, data: Any, node: yaml.Node | None) -> list[Problem]:
    """Every error of ``exc`` as a :class:`Problem` located in the YAML ``node`` tree."""
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
        line, col = locate(node, path, key=kind == "extra_forbidden")
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
    return sorted_problems(unique)


def _reference_rows(msg: str, node: yaml.Node | None) -> list[Problem]:
    """Problems from a cross-reference message (one ``path: text`` per line)."""
    problems = []
    for row in msg[msg.index(REFERENCE_ERRORS) + len(REFERENCE_ERRORS) :].splitlines():
        path_text, _, text = row.partition(": ")
        path = tuple(int(k) if k.isdigit() else k for k in path_text.split("."))
        line, col = locate(node, path)
        problems.append(Problem(path_text, text, line, col))
    return problems


def valid_parts(
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


def reference_problems(data: Mapping[str, Any], node: yaml.Node | None) -> list[Problem]:
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
        "classes": valid_parts(classes, EntityClass, lambda raw: EntityClass()),
        "resources": valid_parts(resources, Resource, lambda raw: unlimited),
        "stations": valid_parts(stations, Station, _partial_station),
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
