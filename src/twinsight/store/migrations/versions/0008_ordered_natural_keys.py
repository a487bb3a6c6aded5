"""Natural event keys led by their UTC time: ``nk:<hash>`` becomes ``nk:<time digits>:<hash>``.

An event without an ``event_id`` is keyed by the SHA-256 of its pseudonymised natural key. Those
keys are random, so every ingest batch inserted them all over the unique index: each touched
page written again per commit (about three times the bytes per event of keys by id). With the
event's UTC time as digits in front (``20251215111931000000``), keys of events close in time sit
together and an ingest appends near the end. The hash part is unchanged, so every stored key is
rewritten from the row's own stored time, by the rule ``connect._batch._natural_key`` applies to
new events: a replay of a file ingested before this revision still adds nothing.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Put the stored time's digits in front of each natural key's hash."""
    if op.get_bind().dialect.name == "sqlite":
        # SQLite keeps instants as UTC text 'YYYY-MM-DD HH:MM:SS.ffffff': its digits
        digits = "replace(replace(replace(replace(time, '-', ''), ' ', ''), ':', ''), '.', '')"
    else:
        digits = "to_char(time AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS')"
    op.execute(
        f"UPDATE adt_events SET event_key = 'nk:' || {digits} || ':' || substr(event_key, 4) "
        "WHERE substr(event_key, 1, 3) = 'nk:'"
    )


def downgrade() -> None:
    """Back to ``nk:<hash>`` (the last 64 characters of the key)."""
    op.execute(
        "UPDATE adt_events SET event_key = 'nk:' || substr(event_key, length(event_key) - 63) "
        "WHERE substr(event_key, 1, 3) = 'nk:'"
    )
