"""Initial schema: ingests, adt_events, quarantine.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the three tables and their indexes."""
    op.create_table(
        "ingests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("started_at", _INSTANT, nullable=False),
        sa.Column("finished_at", _INSTANT, nullable=True),
        sa.Column("accepted", sa.BigInteger(), nullable=False),
        sa.Column("duplicate", sa.BigInteger(), nullable=False),
        sa.Column("quarantined", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ingests"),
    )
    op.create_index("ix_ingests_status", "ingests", ["status"])
    op.create_table(
        "adt_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_key", sa.String(220), nullable=False),
        sa.Column("patient_key", sa.String(64), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("time", _INSTANT, nullable=False),
        sa.Column("unit", sa.String(100), nullable=False),
        sa.Column("from_unit", sa.String(100), nullable=True),
        sa.Column("acuity", sa.Integer(), nullable=True),
        sa.Column("specialty", sa.String(100), nullable=True),
        sa.Column("admission", sa.String(16), nullable=True),
        sa.Column("ingest_id", sa.Integer(), nullable=False),
        sa.Column("received_at", _INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["ingest_id"], ["ingests.id"], name="fk_adt_events_ingest_id_ingests"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_adt_events"),
        sa.UniqueConstraint("event_key", name="uq_adt_events_event_key"),
    )
    op.create_index("ix_adt_events_patient_key", "adt_events", ["patient_key"])
    op.create_index("ix_adt_events_time", "adt_events", ["time"])
    op.create_index("ix_adt_events_ingest_id", "adt_events", ["ingest_id"])
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("record_key", sa.String(64), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("line", sa.BigInteger(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ingest_id", sa.Integer(), nullable=False),
        sa.Column("received_at", _INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["ingest_id"], ["ingests.id"], name="fk_quarantine_ingest_id_ingests"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_quarantine"),
        sa.UniqueConstraint("record_key", name="uq_quarantine_record_key"),
    )
    op.create_index("ix_quarantine_ingest_id", "quarantine", ["ingest_id"])


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("quarantine")
    op.drop_table("adt_events")
    op.drop_table("ingests")
