"""The twins of the home folder and a hospital twin's state (counts, no patient keys)."""

from __future__ import annotations

from datetime import datetime

from ...assimilate import StateError, current_state
from ..problems import ProblemError
from ..schemas import TwinList, TwinState, TwinSummary
from .registry import TwinHandle, TwinRegistry

__all__ = ["list_twins", "twin_state"]


def list_twins(registry: TwinRegistry) -> TwinList:
    """Every twin in the registry's home folder (stores not opened)."""
    return TwinList(
        twins=[
            TwinSummary(name=t.name, template=t.template, store=t.store) for t in registry.list()
        ]
    )


def twin_state(handle: TwinHandle, at: datetime | None) -> TwinState:
    """The census at ``at`` (default: the latest stored event) from ``current_state``.

    Blocking (it replays the stored events): call it in a worker thread. Reads do not take the
    twin's write lock (SQLite in WAL mode and PostgreSQL let readers run beside the writer).
    """
    try:
        state = current_state(handle.twin.engine, at)
    except StateError as exc:
        raise ProblemError(409, "no-events", "No events", str(exc)) from None
    return TwinState(
        twin=handle.twin.name,
        at=state.at,
        census=state.census,
        patients=len(state.patients),
        in_ed=state.in_ed,
        dropped_stale=state.dropped_stale,
        dropped_by_unit=state.dropped_by_unit,
        events=state.events,
        stale_after_hours=state.stale_after_hours,
        ed_stale_after_hours=state.ed_stale_after_hours,
    )
