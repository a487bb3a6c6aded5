"""Engines: an embedded SQLite file (WAL, foreign keys on) by default, PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

__all__ = ["make_engine", "normalise_url"]

#: SQLite page cache per connection, KiB (an upper bound, filled only as pages are used).
_CACHE_KIB = 16 * 1024
#: WAL pages after which a commit checkpoints (SQLite's default is 1,000).
_CHECKPOINT_PAGES = 10_000


def normalise_url(url: str) -> str:
    """Pick the installed driver: ``postgresql://`` becomes ``postgresql+psycopg://``."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(target: str | Path) -> Engine:
    """An engine for a database URL, or for an SQLite file path (created on first use).

    SQLite connections get ``journal_mode=WAL`` (readers do not block the writer),
    ``foreign_keys=ON`` and ``synchronous=FULL`` (a committed batch survives a crash, power loss
    included), a page cache of up to 16 MiB (an ingest's index pages stay in memory instead of
    spilling mid-batch) and a WAL checkpoint every 10,000 pages rather than 1,000 (fewer,
    larger checkpoints; every commit is still synced to the WAL before it returns).
    """
    if isinstance(target, Path) or "://" not in target:
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
    else:
        url = normalise_url(target)
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
        cursor.execute(f"PRAGMA wal_autocheckpoint={_CHECKPOINT_PAGES}")
    finally:
        cursor.close()
