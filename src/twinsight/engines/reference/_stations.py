"""Entities and the run-time state of a station: its queue and its list of blocked entities."""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from ...spec import Route, Station

__all__ = ["Entity", "StationState"]

#: Where an entity is at its current station.
Status = Literal["waiting", "in_service", "held", "blocked", "gone"]
#: Queue order: (priority, time joined, arrival sequence); priority is 0 under ``fifo``.
QueueKey = tuple[int, float, int]


@dataclass(eq=False)
class Entity:
    """A patient, a call: one unit of flow. Times are model time (time_unit)."""

    seq: int
    """Arrival sequence number (creation order), the last tie-break of every queue."""
    cls: str
    """Current class; routing may change it (``becomes``)."""
    entered: float
    """When it entered the system (negative for a warm start)."""
    station: str = ""
    """The station it is at (joined, in service or held after service)."""
    status: Status = "waiting"
    joined: float = 0.0
    """When it joined its current station (start of its wait there)."""
    service_end: float = 0.0
    """When its service at the current station ended (start of its held time)."""
    holding: dict[str, int] = field(default_factory=dict)
    """Resources (and amounts) it holds now."""
    visit: int = 0
    """Counts the queues it has joined; a patience deadline only applies to its own visit."""
    key: QueueKey = (0, 0.0, 0)
    """Its place in the current queue."""
    journeys: dict[str, float] = field(default_factory=dict)
    """Start time of each journey (``kpis.journeys``) it is on now."""
    route: Route | None = None
    """The route drawn when its service started (stations with ``release_hours`` only)."""


class StationState:
    """A station during a run: the spec, the queue (kept sorted) and the blocked list.

    ``blocked`` holds entities that finished service upstream and wait to *enter* this station,
    first blocked first admitted; they are counted at their upstream station.
    """

    def __init__(self, name: str, spec: Station, priorities: dict[str, int]) -> None:
        self.name = name
        self.spec = spec
        self.priorities = priorities
        self.queue: list[tuple[QueueKey, Entity]] = []
        self.blocked: deque[Entity] = deque()
        self.kept_when_blocked = spec.held_when_blocked()
        #: resource sets that can serve the station, in order of preference
        self.options = spec.resource_options()

    def queue_key(self, entity: Entity, joined: float) -> QueueKey:
        """(priority, joined, seq); priority is 0 under ``fifo``."""
        priority = self.priorities[entity.cls] if self.spec.discipline == "priority" else 0
        return (priority, joined, entity.seq)

    def has_queue_room(self) -> bool:
        """Whether one more may wait (``queue_capacity`` null means unlimited)."""
        cap = self.spec.queue_capacity
        return cap is None or len(self.queue) < cap

    def push(self, entity: Entity) -> None:
        """Put ``entity`` (whose ``key`` is set) in its place in the queue."""
        bisect.insort(self.queue, (entity.key, entity), key=lambda item: item[0])

    def head(self) -> Entity | None:
        """The first in the queue, if anyone waits."""
        return self.queue[0][1] if self.queue else None

    def remove(self, entity: Entity) -> None:
        """Take ``entity`` out of the queue (to start service or to renege)."""
        i = bisect.bisect_left(self.queue, entity.key, key=lambda item: item[0])
        assert self.queue[i][1] is entity
        del self.queue[i]
