"""Runs: one row per finished forecast, comparison or optimisation (reproducible run records).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the runs table."""
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("twin", sa.String(100), nullable=False),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.Column("spec_hash", sa.String(64), nullable=False),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("data_at", _INSTANT, nullable=True),
        sa.Column("data_received", _INSTANT, nullable=True),
        sa.Column("seeds", sa.Text(), nullable=False),
        sa.Column("reps", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        sa.UniqueConstraint("run_id", name="uq_runs_run_id"),
    )
    op.create_index("ix_runs_kind", "runs", ["kind"])
    op.create_index("ix_runs_twin", "runs", ["twin"])
    op.create_index("ix_runs_created_at", "runs", ["created_at"])


def downgrade() -> None:
    """Drop the runs table."""
    op.drop_table("runs")
