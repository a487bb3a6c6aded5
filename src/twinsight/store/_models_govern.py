"""Governance tables: the hash-chained audit log and the daily aggregates kept by retention.

``audit_log`` is append-only (triggers refuse UPDATE and DELETE; ``twinsight.govern.audit``
appends and verifies); each entry carries the hash of the one before. ``daily_aggregates`` holds
per day and unit the counts that retention keeps when it deletes raw events older than N days.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ._models import Base
from ._types import UtcDateTime

__all__ = ["AuditRow", "DailyAggregateRow"]


class AuditRow(Base):
    """One audit entry: who (``actor``, a token id or ``cli:<user>``, never a secret) did what.

    ``hash`` = SHA-256 of ``prev_hash`` followed by the canonical JSON of
    (seq, at, actor, action, target, detail); ``prev_hash`` is the previous entry's ``hash``
    (64 zeros for the first). ``detail`` is canonical JSON without personal data.
    """

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40), index=True)
    target: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class DailyAggregateRow(Base):
    """One unit on one UTC day: admissions into it, discharges from it, mean census (patients).

    Written by retention before raw events of that day are deleted, so windows reaching back
    beyond the retained events still have daily counts.
    """

    __tablename__ = "daily_aggregates"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    unit: Mapped[str] = mapped_column(String(100), primary_key=True)
    admissions: Mapped[int] = mapped_column(Integer)
    discharges: Mapped[int] = mapped_column(Integer)
    #: Time-average census over the day (patients).
    mean_census: Mapped[float] = mapped_column(Float)
