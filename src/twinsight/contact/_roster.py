"""A roster file: the agents rostered per queue, weekday and interval, for the forecast and the
comparisons to run the centre as it is staffed rather than as the Erlang plan would staff it.

CSV with a header ``queue,weekday,start,rostered``: ``weekday`` mon..sun, ``start`` the
interval's start (HH:MM, on the calibration's 15/30/60-minute grid), ``rostered`` agents before
shrinkage (a whole number >= 0); an agent group's rows have ``queue`` = ``group:<name>``.
Intervals not listed have no agents. ``twinsight staffing NAME
--roster-out FILE`` writes the plan in this layout, to edit and set as ``contact.roster`` in
twin.yaml (a path relative to the twin's folder, or absolute).
"""

from __future__ import annotations

import csv
from pathlib import Path

from ._calibrate import WEEKDAYS
from ._model import GROUP, ContactModel
from ._staffing import StaffingPlan

__all__ = ["RosterError", "read_roster", "write_roster"]

_HEADER = ("queue", "weekday", "start", "rostered")


class RosterError(ValueError):
    """A roster file that cannot be used; the message names the line, the field and the fix."""


def read_roster(path: Path, model: ContactModel) -> dict[str, list[int]]:
    """Productive agents per queue, and per agent group as ``group:<name>``, over the week
    (7 x slots, Monday first): the rostered agents of each listed interval after shrinkage.
    A group not listed at all keeps its fixed ``agents``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise RosterError(f"{path}: cannot read the roster ({exc.strerror})") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or tuple(h.strip().lower() for h in rows[0]) != _HEADER:
        raise RosterError(f"{path}: line 1: the header must be {','.join(_HEADER)}")
    step = model.calibration.interval_minutes
    names = [*model.queues, *(f"{GROUP}{g}" for g in model.settings.agent_groups)]
    agents = {q: [0] * (7 * model.slots) for q in names}
    listed: set[str] = set()
    for number, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        where = f"{path}: line {number}"
        if len(row) != 4:
            raise RosterError(f"{where}: {len(row)} cells, not 4 ({','.join(_HEADER)})")
        queue, day, start, count = (c.strip() for c in row)
        if queue.lower() not in agents:
            raise RosterError(
                f"{where}: queue '{queue}' is not one of {', '.join(agents)} "
                f"(an agent group is written {GROUP}<name>)"
            )
        if day.lower()[:3] not in WEEKDAYS:
            raise RosterError(f"{where}: weekday '{day}' is not mon..sun")
        hh, _, mm = start.partition(":")
        minute = int(hh) * 60 + int(mm) if hh.isdigit() and mm.isdigit() else -1
        if not 0 <= minute < 1440 or minute % step:
            raise RosterError(f"{where}: start '{start}' is not an interval start (HH:MM, "
                              f"every {step} minutes)")  # fmt: skip
        if not count.isdigit():
            raise RosterError(f"{where}: rostered '{count}' is not a whole number of agents")
        slot = WEEKDAYS.index(day.lower()[:3]) * model.slots + minute // step
        agents[queue.lower()][slot] = model.productive(int(count))
        listed.add(queue.lower())
    return {k: v for k, v in agents.items() if not k.startswith(GROUP) or k in listed}


def write_roster(plan: StaffingPlan, path: Path) -> int:
    """Write the plan's rostered agents in the roster layout; the number of rows."""
    rows = plan.table[["queue", "weekday", "start", "rostered"]].itertuples(index=False)
    lines = [",".join(_HEADER)] + [f"{q},{w},{s},{r}" for q, w, s, r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 1
