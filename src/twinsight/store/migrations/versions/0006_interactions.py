"""Contact-centre interactions: one row per call or chat (arrival, queue, wait, answered or
abandoned, handle time, outcome, satisfaction), durations in seconds.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the interactions table."""
    op.create_table(
        "interactions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("record_key", sa.String(220), nullable=False),
        sa.Column("customer_key", sa.String(64), nullable=True),
        sa.Column("arrived_at", _INSTANT, nullable=False),
        sa.Column("queue", sa.String(100), nullable=False),
        sa.Column("wait", sa.Float(), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("handle", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("satisfaction", sa.Float(), nullable=True),
        sa.Column("ingest_id", sa.Integer(), nullable=False),
        sa.Column("received_at", _INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["ingest_id"], ["ingests.id"], name="fk_interactions_ingest_id_ingests"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_interactions"),
        sa.UniqueConstraint("record_key", name="uq_interactions_record_key"),
    )
    op.create_index("ix_interactions_customer_key", "interactions", ["customer_key"])
    op.create_index("ix_interactions_arrived_at", "interactions", ["arrived_at"])
    op.create_index("ix_interactions_queue", "interactions", ["queue"])
    op.create_index("ix_interactions_ingest_id", "interactions", ["ingest_id"])


def downgrade() -> None:
    """Drop the interactions table."""
    op.drop_table("interactions")
