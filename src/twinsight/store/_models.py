"""The store's tables (SQLAlchemy 2), separate from the pydantic event model of ``connect``.

``adt_events`` holds accepted events with the patient pseudonymised; ``quarantine`` every
rejected record with its reason; ``ingests`` one row per ingest of a source, with its counts and
the byte offset of the last committed batch (where a crashed ingest resumes); ``alarms`` the drift
alarms the twin raised about itself; ``observations`` numeric measurements that are not ADT events
(an outbreak twin's daily counts, a patient twin's blood-pressure readings).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ._types import UtcDateTime

__all__ = ["AdtEventRow", "AlarmRow", "Base", "IngestRow", "ObservationRow", "QuarantineRow"]

_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with deterministic constraint names (for migrations)."""

    metadata = MetaData(naming_convention=_NAMING)


class IngestRow(Base):
    """One ingest of one source (a file): counts, status and the resume position."""

    __tablename__ = "ingests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text)
    #: SHA-256 of the first 64 KiB of the file: a resumed ingest must be of the same file.
    fingerprint: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    accepted: Mapped[int] = mapped_column(BigInteger, default=0)
    duplicate: Mapped[int] = mapped_column(BigInteger, default=0)
    quarantined: Mapped[int] = mapped_column(BigInteger, default=0)
    #: ``running`` (or interrupted: a crashed process leaves it so), ``done``.
    status: Mapped[str] = mapped_column(String(16), index=True)
    #: Byte offset just after the last committed batch.
    position: Mapped[int] = mapped_column(BigInteger, default=0)


class AdtEventRow(Base):
    """One accepted ADT event; ``patient_key`` is the keyed hash, never the raw identifier."""

    __tablename__ = "adt_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: ``id:<event_id>`` or ``nk:<UTC time digits>:<sha256 of pseudonymised natural key>``.
    event_key: Mapped[str] = mapped_column(String(220), unique=True)
    patient_key: Mapped[str] = mapped_column(String(64), index=True)
    type: Mapped[str] = mapped_column(String(16))
    time: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    unit: Mapped[str] = mapped_column(String(100))
    from_unit: Mapped[str | None] = mapped_column(String(100))
    acuity: Mapped[int | None] = mapped_column(Integer)
    specialty: Mapped[str | None] = mapped_column(String(100))
    admission: Mapped[str | None] = mapped_column(String(16))
    ingest_id: Mapped[int] = mapped_column(ForeignKey("ingests.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class QuarantineRow(Base):
    """One rejected record: its text (patient identifier redacted), where it was, and why."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: SHA-256 of (file fingerprint, offset, raw text): a replayed file adds no new rows.
    record_key: Mapped[str] = mapped_column(String(64), unique=True)
    raw: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    line: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    ingest_id: Mapped[int] = mapped_column(ForeignKey("ingests.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AlarmRow(Base):
    """One drift alarm: what drifted (``kind``, ``unit``), since when, the test statistic."""

    __tablename__ = "alarms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: SHA-256 of (kind, unit, since): the same alarm found again is not recorded twice.
    alarm_key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(100))
    since: Mapped[datetime] = mapped_column(UtcDateTime)
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    statistic: Mapped[float] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text)


class ObservationRow(Base):
    """One numeric observation: ``metric`` at ``time`` = ``value`` (in ``unit``).

    ``subject_key`` is the keyed hash of the person observed (a patient twin's readings) or
    ``None`` for population counts (an outbreak twin's daily admissions). ``obs_key`` makes a
    replayed source add nothing (``id:<source id>:<metric>`` or a hash of the natural key).
    """

    __tablename__ = "observations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    obs_key: Mapped[str] = mapped_column(String(220), unique=True)
    subject_key: Mapped[str | None] = mapped_column(String(64), index=True)
    metric: Mapped[str] = mapped_column(String(64), index=True)
    time: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(32))
    ingest_id: Mapped[int] = mapped_column(ForeignKey("ingests.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
