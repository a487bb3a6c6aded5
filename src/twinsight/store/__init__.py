"""Store: the twin's durable record (events, quarantine, ingests) in SQLite or PostgreSQL.

``open_store(target)`` makes an engine (an SQLite file path or a database URL) and migrates the
schema to the latest revision; the tables are described in ``docs/store.md``.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from ._engine import make_engine, normalise_url
from ._migrate import MIGRATIONS, upgrade
from ._models import AdtEventRow, AlarmRow, Base, IngestRow, ObservationRow, QuarantineRow
from ._models_casework import CaseEventRow
from ._models_contact import InteractionRow
from ._models_govern import AuditRow, DailyAggregateRow
from ._models_runs import RunRow
from ._watermark import as_utc, observations_watermark, rows_watermark

__all__ = [
    "MIGRATIONS",
    "AdtEventRow",
    "AlarmRow",
    "AuditRow",
    "Base",
    "CaseEventRow",
    "DailyAggregateRow",
    "IngestRow",
    "InteractionRow",
    "ObservationRow",
    "QuarantineRow",
    "RunRow",
    "as_utc",
    "make_engine",
    "normalise_url",
    "observations_watermark",
    "open_store",
    "rows_watermark",
    "upgrade",
]


def open_store(target: str | Path) -> Engine:
    """An engine on ``target`` (SQLite path or URL) with the schema migrated to the latest."""
    engine = make_engine(target)
    upgrade(engine)
    return engine
