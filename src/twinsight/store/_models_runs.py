"""The ``runs`` table: one row per finished forecast, comparison or optimisation.

A row holds what is needed to run it again and to check the numbers: the spec version (SHA-256
of the canonical JSON of the flow spec that ran), the parameters (the model's values), the data
watermark (the state's instant and the latest ``received_at`` of the events used), the seeds and
replications, the Twinsight version, the request (everything the rerun needs) and the result
summary. Rows are written once, after every replication has finished (never half-done).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ._models import Base
from ._types import UtcDateTime

__all__ = ["RunRow"]


class RunRow(Base):
    """One stored run; JSON columns are text (the same on SQLite and PostgreSQL)."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: The short id users type (``twinsight rerun RUN_ID``): 12 hex digits of a UUID4.
    run_id: Mapped[str] = mapped_column(String(32), unique=True)
    #: ``forecast``, ``compare`` or ``optimise``.
    kind: Mapped[str] = mapped_column(String(16), index=True)
    twin: Mapped[str] = mapped_column(String(100), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    #: SHA-256 (hex) of the canonical JSON of the flow spec that ran (the baseline's for a
    #: comparison; each variant's is in ``request``/``result``).
    spec_hash: Mapped[str] = mapped_column(String(64))
    #: JSON: the model's parameter values (calibration, beds, factors).
    parameters: Mapped[str] = mapped_column(Text)
    #: The state's instant (model time 0) and the latest ``received_at`` of the events used.
    data_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    data_received: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: JSON list of the seeds used.
    seeds: Mapped[str] = mapped_column(Text)
    reps: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(32))
    #: JSON: everything needed to run it again.
    request: Mapped[str] = mapped_column(Text)
    #: JSON: the numbers the run produced (what ``rerun`` compares).
    result: Mapped[str] = mapped_column(Text)
