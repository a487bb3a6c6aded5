"""Assimilate: the twin's picture of the present from the stored events (see ``docs/state.md``).

``current_state(engine, at=None)`` gives census per unit and each present patient's elapsed
stay; ``HospitalState.to_initial_state()`` turns it into a flow spec's warm start;
``census_series(engine, start, end, interval)`` is what happened: each unit's census over time.
"""

from __future__ import annotations

from ._census import census_series
from ._state import ED, HospitalState, PresentPatient, StateError, current_state, replay_rows

__all__ = [
    "ED",
    "HospitalState",
    "PresentPatient",
    "StateError",
    "census_series",
    "current_state",
    "replay_rows",
]
