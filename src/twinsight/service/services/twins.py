"""The twins of the home folder and a hospital twin's state (counts, no patient keys, small
counts of people suppressed)."""

from __future__ import annotations

from datetime import datetime

from ...assimilate import StateError, current_state
from ...govern import DEFAULT_K, protect_census
from ..problems import ProblemError
from ..schemas import TwinList, TwinState, TwinSummary
from .registry import TwinHandle, TwinRegistry

__all__ = ["list_twins", "twin_state"]


def list_twins(registry: TwinRegistry, visible: frozenset[str] | None = None) -> TwinList:
    """The twins in the registry's home folder (stores not opened): all of them, or only those
    named in ``visible`` (a token's access list)."""
    return TwinList(
        twins=[
            TwinSummary(name=t.name, template=t.template, store=t.store)
            for t in registry.list()
            if visible is None or t.name in visible
        ]
    )


def twin_state(handle: TwinHandle, at: datetime | None, k: int = DEFAULT_K) -> TwinState:
    """The census at ``at`` (default: the latest stored event) from ``current_state``, person
    counts below ``k`` suppressed (``"<k"``) and, where a total would give them away, others
    hidden too (``"[c]"``, ``govern.protect``).

    Blocking (it replays the stored events): call it in a worker thread. Reads do not take the
    twin's write lock (SQLite in WAL mode and PostgreSQL let readers run beside the writer).
    """
    try:
        state = current_state(handle.twin.engine, at)
    except StateError as exc:
        raise ProblemError(409, "no-events", "No events", str(exc)) from None
    shown = protect_census(  # totals shown with their parts: secondary suppression too
        state.census, len(state.patients), state.dropped_by_unit, state.dropped_stale, k=k
    )
    return TwinState(
        twin=handle.twin.name,
        at=state.at,
        census=shown["census"],
        patients=shown["patients"],
        in_ed=shown["in_ed"],
        dropped_stale=shown["dropped_stale"],
        dropped_by_unit=shown["dropped_by_unit"],
        events=state.events,
        stale_after_hours=state.stale_after_hours,
        ed_stale_after_hours=state.ed_stale_after_hours,
    )
