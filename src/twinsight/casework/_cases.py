"""From case events to what the calibration and the present need: one row per case (its
milestones) and one row per spell (an assessment pass, a wait for information, a closure, a
triage), each with its duration in days and whether it was still going at the cut-off.

Rules: events are taken in time order per case; a repeated event of the same type at the same
place in the sequence keeps the first; a case's district, group and priority are the last ones
given; its team is the team of its first ``assessment_start`` (else the last team given). An
assessment pass starts at ``assessment_start`` or ``info_received`` and ends at the next
``info_requested`` (rework) or ``decision``; a wait for information runs from
``info_requested`` to ``info_received``; closure from ``decision`` to ``closed``; triage from
``referral`` to ``triage``. A spell ends at the case's next event of another type; if that
is not one of the spell's possible ends, an event is missing and the spell is left out (a
dropped ``decision`` would otherwise make an assessment last until the cut-off).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CaseHistory", "by_segment", "case_history"]

_DAY = 86400.0
_ENDS = {
    "triage": ("referral", ("triage",)),
    "assessment": ("assessment_start", ("info_requested", "decision")),
    "reassessment": ("info_received", ("info_requested", "decision")),
    "info_wait": ("info_requested", ("info_received",)),
    "closure": ("decision", ("closed",)),
}


@dataclass(frozen=True)
class CaseHistory:
    """``cases``: one row per case (case_key, district, client_group, priority, team,
    referral, triage, allocated, decision, closed: instants or NaT; state: the last event's type);
    ``spells``: kind (triage, assessment, info_wait, closure), case_key, priority, district,
    start, days, censored, rework (for assessment passes: ended in a request for information)."""

    cases: pd.DataFrame
    spells: pd.DataFrame
    until: datetime


def case_history(events: pd.DataFrame, until: datetime) -> CaseHistory:
    """Cases and spells of the events at or before ``until`` (UTC), censored there."""
    cut = pd.Timestamp(until)
    ev = events[events["time"] <= cut].sort_values(["case_key", "time"], kind="stable")
    cols = ["case_key", "type", "time", "team", "district", "client_group", "priority"]
    records = list(ev[cols].itertuples(index=False, name=None))
    cases: list[dict[str, Any]] = []
    spells: list[dict[str, Any]] = []
    i = 0
    while i < len(records):
        j = i
        while j < len(records) and records[j][0] == records[i][0]:
            j += 1
        _one_case(records[i:j], cut, cases, spells)
        i = j
    case_cols = ["case_key", "district", "client_group", "priority", "team", "state",
                 "referral", "triage", "allocated", "decision", "closed", "last"]  # fmt: skip
    spell_cols = ["kind", "first", "case_key", "priority", "district", "start", "days",
                  "censored", "rework"]  # fmt: skip
    frame = pd.DataFrame(cases, columns=case_cols)
    for c in ("referral", "triage", "allocated", "decision", "closed", "last"):
        frame[c] = pd.to_datetime(frame[c], utc=True)
    spell_frame = pd.DataFrame(spells, columns=spell_cols)
    spell_frame["start"] = pd.to_datetime(spell_frame["start"], utc=True)
    return CaseHistory(frame, spell_frame, until)


_MILESTONES = (("referral", "referral"), ("triage", "triage"), ("allocated", "assessment_start"),
               ("decision", "decision"), ("closed", "closed"))  # fmt: skip


def _one_case(
    rows: list[tuple[Any, ...]],
    cut: pd.Timestamp,
    cases: list[dict[str, Any]],
    spells: list[dict[str, Any]],
) -> None:
    key = rows[0][0]
    types = [r[1] for r in rows]
    times = [r[2] for r in rows]

    def last(col: int) -> Any:
        given = [r[col] for r in rows if isinstance(r[col], str) and r[col]]
        return given[-1] if given else None

    district, group, priority = last(4), last(5), last(6)
    starts = [r[3] for r in rows if r[1] == "assessment_start" and isinstance(r[3], str) and r[3]]
    team = starts[0] if starts else last(3)
    row: dict[str, Any] = {"case_key": key, "district": district, "client_group": group,
                           "priority": priority, "team": team, "state": types[-1]}  # fmt: skip
    for name, kind in _MILESTONES:
        row[name] = next((t for k, t in zip(types, times, strict=True) if k == kind), pd.NaT)
    row["last"] = times[-1]
    cases.append(row)
    for i, begin_type in enumerate(types):
        for kind, (begin, ends) in _ENDS.items():
            if begin_type != begin:
                continue
            j = next((k for k in range(i + 1, len(types)) if types[k] != begin), None)
            if j is not None and types[j] not in ends:
                continue  # an event is missing (the case moved on another way): no spell
            end = times[j] if j is not None else cut
            spells.append(
                {
                    "kind": "assessment" if kind == "reassessment" else kind,
                    "first": kind == "assessment",
                    "case_key": key,
                    "priority": priority,
                    "district": district,
                    "start": times[i],
                    "days": max((end - times[i]).total_seconds() / _DAY, 0.0),
                    "censored": j is None,
                    "rework": j is not None and types[j] == "info_requested",
                }
            )


def by_segment(events: pd.DataFrame, segment: str) -> pd.DataFrame:
    """The events with the segment the model is keyed by in the ``district`` column: as they
    are for ``district``; with ``district`` and ``client_group`` swapped for ``group``."""
    if segment == "district":
        return events
    if segment != "group":
        raise ValueError(f"segment '{segment}': use district or group")
    return events.assign(district=events["client_group"], client_group=events["district"])


def elapsed_days(instants: pd.Series, at: datetime) -> np.ndarray:
    """Days from each instant to ``at``."""
    return np.asarray((pd.Timestamp(at) - instants).dt.total_seconds() / _DAY, dtype=float)
