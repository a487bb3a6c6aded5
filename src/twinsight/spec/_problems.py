"""Problems of a spec: where each one is (dotted path, YAML line and column) and what to do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

__all__ = ["Problem", "SpecError", "child", "duplicate_keys", "locate", "sorted_problems"]


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


def sorted_problems(problems: list[Problem]) -> list[Problem]:
    """Problems in file order (stable; those without a line last)."""
    order = sorted(range(len(problems)), key=lambda i: (problems[i].line or 10**9, i))
    return [problems[i] for i in order]


def duplicate_keys(node: yaml.Node | None, path: tuple[Any, ...] = ()) -> list[Problem]:
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
            problems += duplicate_keys(v, (*path, key))
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            problems += duplicate_keys(v, (*path, i))
    return problems


def child(node: yaml.Node | None, key: Any) -> tuple[yaml.Node, yaml.Node] | None:
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


def locate(
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
        found = child(current, k)
        if found is None:
            continue  # a union tag or a missing key: stay at the parent
        best, current = (found[0] if key else found[1]), found[1]
    return best.start_mark.line + 1, best.start_mark.column + 1
