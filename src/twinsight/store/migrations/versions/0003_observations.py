"""Observations: numeric measurements over time that are not ADT events.

Daily counts for an outbreak twin (admissions, census; no subject) and readings for a patient
twin (systolic and diastolic blood pressure; the subject pseudonymised) share one narrow table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the observations table."""
    op.create_table(
        "observations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("obs_key", sa.String(220), nullable=False),
        sa.Column("subject_key", sa.String(64), nullable=True),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("time", _INSTANT, nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(32), nullable=True),
        sa.Column("ingest_id", sa.Integer(), nullable=False),
        sa.Column("received_at", _INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["ingest_id"], ["ingests.id"], name="fk_observations_ingest_id_ingests"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_observations"),
        sa.UniqueConstraint("obs_key", name="uq_observations_obs_key"),
    )
    op.create_index("ix_observations_subject_key", "observations", ["subject_key"])
    op.create_index("ix_observations_metric", "observations", ["metric"])
    op.create_index("ix_observations_time", "observations", ["time"])
    op.create_index("ix_observations_ingest_id", "observations", ["ingest_id"])


def downgrade() -> None:
    """Drop the observations table."""
    op.drop_table("observations")
