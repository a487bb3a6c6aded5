"""Alembic environment: runs on the connection the caller passes in ``config.attributes``.

``twinsight.store.upgrade(engine)`` is the way in; the URL form (``sqlalchemy.url``) is
supported for developers running ``alembic`` by hand.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from twinsight.store._models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate on the given connection, or on an engine made from ``sqlalchemy.url``."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection: use twinsight.store.upgrade(engine)")
    with create_engine(url).connect() as conn:
        _run(conn)


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
