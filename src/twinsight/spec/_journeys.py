"""Journeys: the time an entity takes from one point of the network to another.

A journey KPI measures, per entity, the time from a *start point* at station ``from`` (when it
enters that station, or when its service there ends) to its *departure* from station ``to``
(when it actually leaves, after any blocking or release window). See docs/semantics.md,
"Journeys", for the exact rule; times are in the spec's ``time_unit``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat

__all__ = ["Journey", "journey_reference_errors"]


class Journey(BaseModel):
    """One journey KPI: from a start point at station ``from`` to the departure from ``to``.

    - ``from``: station where the clock starts.
    - ``start``: ``enter`` (default: when the entity joins ``from``, queue included) or
      ``service_end`` (when its service at ``from`` ends, before any blocking or release window).
    - ``to``: station at whose departure (after service, after any blocking) the clock stops.
    - ``classes``: count only entities of these classes at the start point (for ``service_end``,
      the class after that completion's routing, ``becomes`` applied). Null: every class.
    - ``target``: target time (time_unit) for ``journey_within_target[name]``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    from_station: str = Field(alias="from")
    start: Literal["enter", "service_end"] = "enter"
    to_station: str = Field(alias="to")
    classes: list[str] | None = Field(default=None, min_length=1)
    target: PositiveFloat | None = None

    def counts_class(self, cls: str) -> bool:
        """Whether an entity of class ``cls`` at the start point starts this journey."""
        return self.classes is None or cls in self.classes


def journey_reference_errors(
    journeys: Mapping[str, Journey], stations: Collection[str], classes: Collection[str]
) -> list[str]:
    """Cross-reference problems of ``kpis.journeys``, each ``"dotted.path: message"``."""
    errors: list[str] = []
    for name, jr in journeys.items():
        where = f"kpis.journeys.{name}"
        for field, station in (("from", jr.from_station), ("to", jr.to_station)):
            if station not in stations:
                errors.append(
                    f"{where}.{field}: unknown station '{station}'; use one of {sorted(stations)}"
                )
        for i, c in enumerate(jr.classes or []):
            if c not in classes:
                errors.append(
                    f"{where}.classes.{i}: unknown class '{c}'; use one of {sorted(classes)}"
                )
        if jr.classes is not None and len(set(jr.classes)) != len(jr.classes):
            errors.append(f"{where}.classes: a class is listed twice; list each class once")
    return errors
