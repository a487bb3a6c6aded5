"""``--set path=value`` overrides, applied to the raw YAML data before validation."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from ._problems import Problem

__all__ = ["apply_overrides", "mark_overridden"]


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


def mark_overridden(problems: list[Problem], overrides: list[str]) -> list[Problem]:
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
