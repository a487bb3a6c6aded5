"""Small-cell suppression: person counts below ``k`` leave the service as ``"<k"``.

A count of people between 1 and ``k - 1`` could single someone out (two patients in a small
unit, one of them known to a reader), so wherever person-level counts leave Twinsight (the
HTTP API, exports) they go through ``suppress``: ``0`` and counts of at least ``k`` are shown,
the others become the text ``"<k"`` (``"<5"`` with the default ``k = 5``). ``k = 1`` turns
suppression off. Only counts of *people* are suppressed; counts of events, beds or hours are not.

Secondary suppression (``protect``): where a total and its parts are shown together, a
suppressed part could be worked out by subtraction (total minus the shown parts). ``protect``
takes the cells and the sums that hold between them (``total = part + part + ...``) and hides
further cells, shown as ``"[c]"`` ("confidential"), until no hidden cell has a single possible
value. The reader is assumed to know everything shown, every sum, that a ``"<k"`` cell is
between 1 and k - 1 and that a ``"[c]"`` cell hidden in addition is at least k; each hidden
cell's range is then found by integer programming (``scipy.optimize.milp``) and must hold at
least two values. The cells hidden in addition are the smallest shown non-zero parts of the
sum that gives a hidden cell away (a total only when no part is left); zeros are never
hidden. When nothing shown is left to hide and small cells are still pinned by their sums
alone (four parts of "<5" whose total is "<5" are all 1), a small total (else part) is shown
as ``"[c]"`` too, without its "<k" bound.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CONFIDENTIAL",
    "DEFAULT_K",
    "protect",
    "protect_breakdown",
    "protect_census",
    "protect_json",
    "suppress",
    "suppress_counts",
    "suppress_frame",
]

#: The default threshold: person counts 1-4 are shown as ``"<5"``.
DEFAULT_K = 5
#: How a cell hidden by secondary suppression is shown (it is at least k, or hidden for a sum).
CONFIDENTIAL = "[c]"

K = TypeVar("K", bound=Hashable)


def suppress(count: int, k: int = DEFAULT_K) -> int | str:
    """``count`` (people) if it is 0 or at least ``k``, else ``"<k"``."""
    if k < 1:
        raise ValueError(f"k must be at least 1 (1 turns suppression off), not {k}")
    if count < 0:
        raise ValueError(f"a count of people cannot be negative ({count})")
    return count if count == 0 or count >= k else f"<{k}"


def suppress_counts(counts: Mapping[str, int], k: int = DEFAULT_K) -> dict[str, int | str]:
    """Each value of ``counts`` (people per unit, per group) through ``suppress``."""
    return {key: suppress(int(value), k) for key, value in counts.items()}


def suppress_frame(frame: pd.DataFrame, columns: Iterable[str], k: int = DEFAULT_K) -> pd.DataFrame:
    """A copy of ``frame`` whose ``columns`` (counts of people) went through ``suppress``.

    Those columns become ``object`` columns holding ints and ``"<k"`` texts; missing values stay.
    """
    out = frame.copy()
    for column in columns:
        out[column] = [
            value if value != value else suppress(int(value), k)  # NaN stays NaN
            for value in frame[column].tolist()
        ]
        out[column] = out[column].astype(object)
    return out


def _ranges(
    cells: Mapping[K, int],
    groups: Sequence[tuple[K, Sequence[K]]],
    hidden: Mapping[K, tuple[float, float]],
) -> dict[K, tuple[float, float]]:
    """Each hidden cell's smallest and largest value consistent with what is shown."""
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp

    order = list(hidden)
    index = {key: i for i, key in enumerate(order)}
    rows, rhs = [], []
    for total, parts in groups:
        row = np.zeros(len(order))
        known = float(cells[total] - sum(cells[p] for p in parts))  # the remainder: known
        for key, sign in ((total, -1.0), *((p, 1.0) for p in parts)):
            if key in index:
                row[index[key]] += sign
            else:
                known += sign * cells[key]
        if row.any():
            rows.append(row)
            rhs.append(-known)
    lower = np.array([hidden[key][0] for key in order], dtype=float)
    upper = np.array([hidden[key][1] for key in order], dtype=float)
    constraints = [LinearConstraint(np.array(rows), rhs, rhs)] if rows else []
    out: dict[K, tuple[float, float]] = {}
    for i, key in enumerate(order):
        ends = []
        for sign in (1.0, -1.0):
            c = np.zeros(len(order))
            c[i] = sign
            res = milp(c, constraints=constraints, integrality=np.ones(len(order)),
                       bounds=Bounds(lower, upper))  # fmt: skip
            ends.append(sign * float(res.fun) if res.status == 0 else sign * np.inf)
        out[key] = (ends[0], ends[1])
    return out


def _next_cell(
    exposed: Sequence[K],
    sums: Sequence[tuple[K, Sequence[K]]],
    hidden: Mapping[K, object],
    values: Mapping[K, int],
) -> K | None:
    """The cell to hide next: the smallest shown non-zero part (else total) of a sum with an
    exposed cell; failing that, of any sum with a hidden cell; None if there is none."""
    for key in exposed:
        for near in (True, False):
            candidates = [
                (0 if p != total else 1, values[p], n, p)
                for n, (total, parts) in enumerate(sums)
                if (
                    (key == total or key in parts)
                    if near
                    else bool({total, *parts} & hidden.keys())
                )
                for p in (*parts, total)
                if p not in hidden and values[p] > 0
            ]
            if candidates:
                return min(candidates, key=lambda c: c[:3])[3]
    return None


def protect(
    cells: Mapping[K, int], groups: Iterable[tuple[K, Sequence[K]]], k: int = DEFAULT_K
) -> dict[K, int | str]:
    """Primary and secondary suppression of ``cells`` (people), given the sums shown with them.

    ``groups``: ``(total, parts)`` pairs of keys of ``cells``: the total is shown with those
    parts (their sum, or at least a known remainder away from it: a total above the sum of its
    parts is treated as if the reader knew the difference). Returns each cell as shown: the
    count, ``"<k"`` (1 to k - 1) or ``CONFIDENTIAL`` (hidden so that no hidden cell can be
    worked out). ``k = 1``: nothing is hidden.
    """
    sums = [(total, list(parts)) for total, parts in groups]
    shown: dict[K, int | str] = {key: suppress(int(v), k) for key, v in cells.items()}
    if k == 1:
        return shown
    values = {key: int(v) for key, v in cells.items()}
    hidden: dict[K, tuple[float, float]] = {
        key: (1.0, k - 1.0) for key, v in shown.items() if isinstance(v, str)
    }
    while hidden:
        ranges = _ranges(values, sums, hidden)
        exposed = [key for key in hidden if ranges[key][1] - ranges[key][0] < 0.5]
        if not exposed:
            break
        added = _next_cell(exposed, sums, hidden, values)
        if added is not None:
            hidden[added] = (float(k), math.inf)  # at least k; no upper bound is known
            shown[added] = CONFIDENTIAL
            continue
        # nothing shown is left to hide: "<k" cells pinned by their sums alone (1 + 1 + 1 + 1
        # = "<5" forces every part to 1) lose their bound: shown "[c]", at least 1
        small = [key for key in exposed if hidden[key][1] < math.inf]
        if not small:
            break
        totals = {total for total, _ in sums}
        pick = min(small, key=lambda key: (key not in totals, values[key]))
        hidden[pick] = (1.0, math.inf)
        shown[pick] = CONFIDENTIAL
    return shown


def protect_breakdown(
    counts: Mapping[str, int], total: str = "all", k: int = DEFAULT_K
) -> dict[str, int | str]:
    """``protect`` for a total and its breakdowns: keys ``"<dimension>=<value>"`` (e.g.
    ``district=North``, ``group=children``) are the parts of ``total`` for each dimension;
    other keys stand alone. Without ``total`` among ``counts`` this is plain suppression."""
    dims: dict[str, list[str]] = {}
    for key in counts:
        if "=" in key and key != total:
            dims.setdefault(key.split("=", 1)[0], []).append(key)
    groups = [(total, parts) for parts in dims.values()] if total in counts else []
    return protect(counts, groups, k)


def protect_census(
    census: Mapping[str, int],
    patients: int,
    dropped_by_unit: Mapping[str, int],
    dropped_stale: int,
    ed: str = "ED",
    k: int = DEFAULT_K,
) -> dict[str, Any]:
    """A hospital's state as it may leave the service: ``census`` per unit with its total
    ``patients``, ``dropped_by_unit`` with ``dropped_stale``, and ``in_ed`` (the census of
    ``ed``), through ``protect``. Returns ``census``, ``patients``, ``in_ed``,
    ``dropped_stale`` and ``dropped_by_unit`` as shown."""
    cells: dict[tuple[str, str], int] = {("census", u): int(n) for u, n in census.items()}
    cells |= {("dropped", u): int(n) for u, n in dropped_by_unit.items()}
    cells |= {("patients", ""): int(patients), ("dropped_stale", ""): int(dropped_stale)}
    cells[("in_ed", "")] = int(census.get(ed, 0))
    sums = [(("patients", ""), [("census", u) for u in census]),
            (("dropped_stale", ""), [("dropped", u) for u in dropped_by_unit])]  # fmt: skip
    if ed in census:  # the same count twice: shown the same
        sums.append((("in_ed", ""), [("census", ed)]))
    shown = protect(cells, sums, k)
    return {
        "census": {u: shown[("census", u)] for u in census},
        "patients": shown[("patients", "")],
        "in_ed": shown[("in_ed", "")],
        "dropped_stale": shown[("dropped_stale", "")],
        "dropped_by_unit": {u: shown[("dropped", u)] for u in dropped_by_unit},
    }


Path = tuple[str, ...]


def protect_json(
    tree: Mapping[str, Any],
    sums: Iterable[tuple[Path, Sequence[Path]]],
    alone: Iterable[Path] = (),
    k: int = DEFAULT_K,
) -> dict[str, Any]:
    """A copy of a JSON-ready ``tree`` (nested dicts) whose person counts went through
    ``protect``: the cells are the leaves at the paths named in ``sums`` (``(total, parts)``,
    each a tuple of keys) and ``alone`` (counts with no sum); other leaves are left as they are.
    """
    groups = [(total, list(parts)) for total, parts in sums]
    paths = dict.fromkeys([*(p for t, ps in groups for p in (t, *ps)), *alone])

    def get(path: Path) -> int:
        node: Any = tree
        for key in path:
            node = node[key]
        return int(node)

    shown = protect({path: get(path) for path in paths}, groups, k)

    def copy(node: Any, prefix: Path) -> Any:
        if isinstance(node, Mapping):
            return {key: copy(value, (*prefix, key)) for key, value in node.items()}
        return shown.get(prefix, node)

    out: dict[str, Any] = copy(tree, ())
    return out
