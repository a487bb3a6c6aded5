"""The ``case_events`` table: one row per event in the life of a social-services case.

A case is a referral or a claim: it is referred, triaged (given a priority), allocated to a
caseworker team and assessed; the team may ask for more information (``info_requested``, then
``info_received``) and assess again; a decision is made and the case is closed. Each step is
one event with its instant (UTC). ``case_key`` is the keyed hash of the case identifier, never
the raw one; ``event_key`` makes a replayed source add nothing (``id:<event id>`` or a hash of
the pseudonymised natural key: case, type, time).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ._models import Base
from ._types import UtcDateTime

__all__ = ["CaseEventRow"]


class CaseEventRow(Base):
    """One accepted case event (see ``docs/social-services.md`` for the event contract)."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(String(220), unique=True)
    case_key: Mapped[str] = mapped_column(String(64), index=True)
    #: referral, triage, assessment_start, info_requested, info_received, decision, closed.
    type: Mapped[str] = mapped_column(String(24))
    time: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    #: The caseworker team holding the case (None before allocation).
    team: Mapped[str | None] = mapped_column(String(100))
    district: Mapped[str | None] = mapped_column(String(100))
    #: The client group (e.g. children, adults, older people); free text, lower case.
    client_group: Mapped[str | None] = mapped_column(String(100))
    #: The triage priority label (e.g. urgent, standard); None before triage.
    priority: Mapped[str | None] = mapped_column(String(32))
    ingest_id: Mapped[int] = mapped_column(ForeignKey("ingests.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
