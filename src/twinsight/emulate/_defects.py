"""Data-quality defects of a real ADT feed, each at a configurable rate per true event.

Each true event independently suffers at most one defect: it is *missing* (dropped),
*duplicated* (written twice with the same ``event_id``; the copy up to 2 hours later in the
file), *late* (written 1-48 hours later in the file than its time says) or *malformed* (a bad
unit, time or acuity, so that ``parse_adt`` rejects it and an ingest must quarantine it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["DefectLog", "Defects", "apply_defects"]

Row = dict[str, Any]


@dataclass(frozen=True)
class Defects:
    """Probability, per true event, of each defect (they are exclusive; the sum must be < 1)."""

    missing: float = 0.005
    duplicate: float = 0.01
    late: float = 0.01
    malformed: float = 0.002
    #: How much later in the file a late event appears, hours (uniform).
    late_hours: tuple[float, float] = (1.0, 48.0)
    #: How much later in the file a duplicate copy appears, hours (uniform).
    duplicate_hours: tuple[float, float] = (0.0, 2.0)

    def __post_init__(self) -> None:
        rates = {
            "missing": self.missing,
            "duplicate": self.duplicate,
            "late": self.late,
            "malformed": self.malformed,
        }
        for name, rate in rates.items():
            if not 0 <= rate < 1:
                raise ValueError(f"defect rate '{name}' must be in [0, 1), got {rate}")
        if sum(rates.values()) >= 1:
            raise ValueError("the defect rates must add up to less than 1")

    @classmethod
    def none(cls) -> Defects:
        """A clean feed: no defects."""
        return cls(missing=0.0, duplicate=0.0, late=0.0, malformed=0.0)


@dataclass
class DefectLog:
    """The ``event_id`` of every true event that suffered each defect."""

    missing: list[str] = field(default_factory=list)
    duplicate: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)


def _corrupt(row: Row, how: int) -> Row:
    bad = dict(row)
    if how == 0:
        bad["unit"] = ""  # the unit is missing
    elif how == 1:
        bad["time"] = str(row["time"]).removesuffix("Z")  # no UTC offset
    elif how == 2:
        bad["time"] = str(row["time"])[:10] + "T25:61:00Z"  # impossible clock time
    elif row["type"] == "arrival":
        bad["acuity"] = 7  # out of the triage scale 1-5
    else:
        bad["type"] = "admitted"  # not an ADT type
    return bad


def apply_defects(
    rows: list[Row], times_h: list[float], defects: Defects, rng: np.random.Generator
) -> tuple[list[Row], DefectLog]:
    """The file's rows (in file order) from the true ``rows`` (sorted by ``times_h``)."""
    log = DefectLog()
    n = len(rows)
    u = rng.random(n)
    late_by = rng.uniform(*defects.late_hours, size=n)
    dup_by = rng.uniform(*defects.duplicate_hours, size=n)
    how = rng.integers(0, 4, size=n)
    edges = np.cumsum([defects.missing, defects.duplicate, defects.late, defects.malformed])
    kind = np.searchsorted(edges, u, side="right")  # 0 missing .. 3 malformed, 4 none
    placed: list[tuple[float, int, int, Row]] = []
    for i, (row, t) in enumerate(zip(rows, times_h, strict=True)):
        k = int(kind[i])
        eid = str(row["event_id"])
        if k == 0:
            log.missing.append(eid)
            continue
        if k == 1:
            log.duplicate.append(eid)
            placed.append((t + float(dup_by[i]), i, 1, row))
        elif k == 2:
            log.late.append(eid)
            placed.append((t + float(late_by[i]), i, 0, row))
            continue
        elif k == 3:
            log.malformed.append(eid)
            row = _corrupt(row, int(how[i]))
        placed.append((t, i, 0, row))
    placed.sort(key=lambda x: (x[0], x[1], x[2]))
    return [dict(r) for *_, r in placed], log
