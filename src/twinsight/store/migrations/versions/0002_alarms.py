"""Drift alarms: when reality leaves the twin's bands or a calibrated distribution stops fitting.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the alarms table."""
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alarm_key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("unit", sa.String(100), nullable=False),
        sa.Column("since", _INSTANT, nullable=False),
        sa.Column("checked_at", _INSTANT, nullable=False),
        sa.Column("statistic", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alarms"),
        sa.UniqueConstraint("alarm_key", name="uq_alarms_alarm_key"),
    )
    op.create_index("ix_alarms_checked_at", "alarms", ["checked_at"])


def downgrade() -> None:
    """Drop the alarms table."""
    op.drop_table("alarms")
