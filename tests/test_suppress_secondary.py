"""Secondary suppression (``govern.protect``): over random tables with totals, no hidden cell can
be worked out from what is shown. The check is independent of ``protect``'s integer programme:
a depth-first search for a second table that agrees with everything shown (the sums, the
shown counts, ``"<k"`` meaning 1 to k - 1, ``"[c]"`` meaning at least k) and differs in the
hidden cell."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from twinsight.govern import CONFIDENTIAL, protect, protect_breakdown

K = 5
Groups = list[tuple[str, list[str]]]


def _another(
    cells: dict[str, int], groups: Groups, shown: dict[str, int | str], target: str
) -> bool:
    """Is there a table consistent with ``shown`` in which ``target`` has another value?"""
    cap = 2 * max(cells.values()) + K
    hidden = [key for key, v in shown.items() if isinstance(v, str)]
    domain = {  # "[c]": at least k, or (a small cell pinned by its sums alone) at least 1
        h: range(1, K) if shown[h] == f"<{K}" else range(K if cells[h] >= K else 1, cap + 1)
        for h in hidden
    }
    value: dict[str, int] = {key: int(v) for key, v in shown.items() if not isinstance(v, str)}

    def settle() -> list[str] | None:  # fill cells forced by a sum; None: a contradiction
        added: list[str] = []
        changed = True
        while changed:
            changed = False
            for total, parts in groups:
                keys = [total, *parts]
                open_ = [key for key in keys if key not in value]
                if len(open_) > 1:
                    continue
                rest = sum(value.get(p, 0) for p in parts) - value.get(total, 0)
                if not open_:
                    if rest != 0:
                        return _undo(added)
                    continue
                key = open_[0]
                forced = -rest if key != total else rest
                if forced not in domain[key] or (key == target and forced == cells[target]):
                    return _undo(added)
                value[key] = forced
                added.append(key)
                changed = True
        return added

    def _undo(added: list[str]) -> list[str] | None:
        for key in added:
            del value[key]
        return None

    order = [target] + [h for h in hidden if h != target]

    def search(i: int) -> bool:
        while i < len(order) and order[i] in value:
            i += 1
        if i == len(order):
            return True
        key = order[i]
        for v in domain[key]:
            if key == target and v == cells[target]:
                continue
            value[key] = v
            added = settle()
            if added is not None:
                if search(i + 1):
                    return True
                _undo(added)
            del value[key]
        return False

    return search(0)


def _check(cells: dict[str, int], groups: Groups, shown: dict[str, int | str]) -> None:
    for key, v in cells.items():
        if 1 <= v < K:
            assert shown[key] in (f"<{K}", CONFIDENTIAL)
        elif isinstance(shown[key], str):
            assert shown[key] == CONFIDENTIAL and v >= K  # never a zero
        else:
            assert shown[key] == v
    for key, shown_as in shown.items():
        if isinstance(shown_as, str):
            assert _another(cells, groups, shown, key), (
                f"{key} = {cells[key]} can be worked out: {cells} shown as {shown}"
            )


def _row_table(parts: Sequence[int]) -> tuple[dict[str, int], Groups]:
    cells = {f"p{i}": v for i, v in enumerate(parts)} | {"total": sum(parts)}
    return cells, [("total", [f"p{i}" for i in range(len(parts))])]


def _grid(rows: Sequence[Sequence[int]]) -> tuple[dict[str, int], Groups]:
    cells = {f"c{i}{j}": v for i, row in enumerate(rows) for j, v in enumerate(row)}
    n, m = len(rows), len(rows[0])
    cells |= {f"r{i}": sum(rows[i]) for i in range(n)}
    cells |= {f"k{j}": sum(r[j] for r in rows) for j in range(m)}
    cells["all"] = sum(map(sum, rows))
    groups: Groups = [(f"r{i}", [f"c{i}{j}" for j in range(m)]) for i in range(n)]
    groups += [(f"k{j}", [f"c{i}{j}" for i in range(n)]) for j in range(m)]
    groups += [("all", [f"r{i}" for i in range(n)]), ("all", [f"k{j}" for j in range(m)])]
    return cells, groups


counts = st.integers(0, 9)


@settings(max_examples=40, deadline=None)
@given(st.lists(counts, min_size=1, max_size=6))
def test_a_row_with_its_total(parts: list[int]) -> None:
    cells, groups = _row_table(parts)
    _check(cells, groups, protect(cells, groups, K))


@settings(max_examples=15, deadline=None)
@given(st.integers(2, 3).flatmap(lambda m: st.lists(
    st.lists(counts, min_size=m, max_size=m), min_size=2, max_size=3)))  # fmt: skip
def test_a_grid_with_row_column_and_grand_totals(rows: list[list[int]]) -> None:
    cells, groups = _grid(rows)
    _check(cells, groups, protect(cells, groups, K))


@settings(max_examples=25, deadline=None)
@given(st.lists(counts, min_size=1, max_size=4), st.lists(counts, min_size=1, max_size=4))
def test_two_breakdowns_of_one_total(a: list[int], b: list[int]) -> None:
    # two breakdowns (by district, by group) of the same people: pad the shorter to agree
    gap = sum(a) - sum(b)
    (b if gap > 0 else a).append(abs(gap))
    cells = {"all": sum(a)} | {f"district={i}": v for i, v in enumerate(a)}
    cells |= {f"group={i}": v for i, v in enumerate(b)}
    groups: Groups = [("all", [f"district={i}" for i in range(len(a))]),
                      ("all", [f"group={i}" for i in range(len(b))])]  # fmt: skip
    shown = protect_breakdown(cells, k=K)
    assert shown == protect(cells, groups, K)
    _check(cells, groups, shown)


def test_the_subtraction_it_prevents() -> None:
    # 20 people: 3 + 9 + 8. Shown as 20, "<5", 9, 8 the 3 is 20 - 9 - 8.
    shown = protect({"all": 20, "a": 3, "b": 9, "c": 8}, [("all", ["a", "b", "c"])])
    assert shown == {"all": 20, "a": "<5", "b": 9, "c": CONFIDENTIAL}
    # 1 + 5 = 6: hiding the 5 is not enough ("[c]" is at least 5, so "<5" = 1): the total goes
    shown = protect({"all": 6, "a": 1, "b": 5}, [("all", ["a", "b"])])
    assert shown == {"all": CONFIDENTIAL, "a": "<5", "b": CONFIDENTIAL}
    assert protect({"all": 20, "a": 3, "b": 17}, [("all", ["a", "b"])], k=1)["a"] == 3
    # 1 + 1 + 1 + 1 = 4: "<5" everywhere would pin every part to 1
    shown = protect({"all": 4, "a": 1, "b": 1, "c": 1, "d": 1}, [("all", ["a", "b", "c", "d"])])
    assert shown["all"] == CONFIDENTIAL and shown["a"] == "<5"


def test_casework_observed_decisions_hide_what_the_total_gives_away() -> None:
    from twinsight.service.services.casework import _observed

    def row(n: int) -> dict[str, float]:
        return {"decisions": n, "time_to_decision": 12.5, "within_deadline": 0.75}

    observed = {"all": row(20), "district=N": row(3), "district=S": row(17),
                "group=a": row(10), "group=b": row(10), "open": {"cases": 2}}  # fmt: skip
    shown = _observed(observed, 5)
    assert shown["district=N"]["decisions"] == "<5"
    assert shown["district=S"] == {"decisions": CONFIDENTIAL, "time_to_decision": None,
                                   "within_deadline": None}  # fmt: skip
    assert shown["all"]["decisions"] == 20 and shown["group=a"]["decisions"] == 10
    assert shown["open"] == {"cases": "<5"}


def test_protect_json_keeps_the_shape_and_protects_nested_totals() -> None:
    from twinsight.govern import protect_json

    tree = {"open": 20, "stale": 2, "teams": {
        "a": {"open": 3, "where": {"x": 3, "y": 0}, "per_worker": 1.5},
        "b": {"open": 17, "where": {"x": 9, "y": 8}, "per_worker": 2.0}}}  # fmt: skip
    Path = tuple[str, ...]
    sums: list[tuple[Path, list[Path]]] = [(("open",), [("teams", t, "open") for t in "ab"])]
    for t in "ab":
        sums.append((("teams", t, "open"), [("teams", t, "where", w) for w in ("x", "y")]))
    shown = protect_json(tree, sums, [("stale",)])
    assert shown["stale"] == "<5" and shown["teams"]["a"]["per_worker"] == 1.5
    cells = {"/".join(p): int(str(v)) for p, v in _leaves(tree) if not isinstance(v, float)}
    flat: dict[str, int | str] = {
        "/".join(p): v for p, v in _leaves(shown) if isinstance(v, (int, str))
    }
    groups = [("/".join(t), ["/".join(p) for p in ps]) for t, ps in sums]
    _check({k: v for k, v in cells.items() if k != "stale"}, groups,
           {k: v for k, v in flat.items() if k != "stale"})  # fmt: skip


def _leaves(node: object, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    if isinstance(node, dict):
        return [leaf for key, value in node.items() for leaf in _leaves(value, (*prefix, key))]
    return [(prefix, node)]
