"""Social-services case events: referral, triage, assessment, requests for information,
decision and closure of each case, with team, district, client group and priority.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the case_events table."""
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_key", sa.String(220), nullable=False),
        sa.Column("case_key", sa.String(64), nullable=False),
        sa.Column("type", sa.String(24), nullable=False),
        sa.Column("time", _INSTANT, nullable=False),
        sa.Column("team", sa.String(100), nullable=True),
        sa.Column("district", sa.String(100), nullable=True),
        sa.Column("client_group", sa.String(100), nullable=True),
        sa.Column("priority", sa.String(32), nullable=True),
        sa.Column("ingest_id", sa.Integer(), nullable=False),
        sa.Column("received_at", _INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["ingest_id"], ["ingests.id"], name="fk_case_events_ingest_id_ingests"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_case_events"),
        sa.UniqueConstraint("event_key", name="uq_case_events_event_key"),
    )
    op.create_index("ix_case_events_case_key", "case_events", ["case_key"])
    op.create_index("ix_case_events_time", "case_events", ["time"])
    op.create_index("ix_case_events_ingest_id", "case_events", ["ingest_id"])


def downgrade() -> None:
    """Drop the case_events table."""
    op.drop_table("case_events")
