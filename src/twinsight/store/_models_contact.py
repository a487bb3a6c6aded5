"""The ``interactions`` table: one row per contact-centre interaction (a call, a chat).

A row is what a contact centre's ACD or CRM records about one contact: when it arrived, at
which queue (skill), how long it waited, whether an agent answered it or the customer abandoned
(or it was called back), the handle time, the outcome and the satisfaction score. Durations are
in seconds. ``customer_key`` is the keyed hash of the customer identifier, never the raw one;
``record_key`` makes a replayed source add nothing (``id:<interaction id>`` or a hash of the
natural key).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ._models import Base
from ._types import UtcDateTime

__all__ = ["InteractionRow"]


class InteractionRow(Base):
    """One accepted interaction (durations in seconds)."""

    __tablename__ = "interactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_key: Mapped[str] = mapped_column(String(220), unique=True)
    customer_key: Mapped[str | None] = mapped_column(String(64), index=True)
    arrived_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    queue: Mapped[str] = mapped_column(String(100), index=True)
    #: Seconds from arrival to answer (answered) or to hanging up (abandoned).
    wait: Mapped[float] = mapped_column(Float)
    answered: Mapped[bool] = mapped_column(Boolean)
    #: Seconds of talk plus after-call work; ``None`` when not answered.
    handle: Mapped[float | None] = mapped_column(Float)
    #: ``resolved``, ``transferred``, ``callback``, ``abandoned``, ... (free text, lower case).
    outcome: Mapped[str | None] = mapped_column(String(32))
    #: The customer's score (e.g. 1-5 CSAT); ``None`` when not surveyed.
    satisfaction: Mapped[float | None] = mapped_column(Float)
    ingest_id: Mapped[int] = mapped_column(ForeignKey("ingests.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
