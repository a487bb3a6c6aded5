"""Governance: the hash-chained, append-only audit log and the daily aggregates of retention.

Triggers refuse UPDATE and DELETE on ``audit_log`` (SQLite: ``RAISE(ABORT)``; PostgreSQL: a
trigger function), so the service and the CLI cannot rewrite history by mistake; someone with
full database access can still drop them, which ``twinsight audit verify`` then detects.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_INSTANT = sa.DateTime(timezone=True)
_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION twinsight_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    """Create audit_log (with its append-only triggers) and daily_aggregates."""
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", _INSTANT, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_action", "audit_log", ["action"])
    op.create_table(
        "daily_aggregates",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("unit", sa.String(100), nullable=False),
        sa.Column("admissions", sa.Integer(), nullable=False),
        sa.Column("discharges", sa.Integer(), nullable=False),
        sa.Column("mean_census", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("day", "unit", name="pk_daily_aggregates"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION twinsight_audit_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )


def downgrade() -> None:
    """Drop both tables (and the triggers with them)."""
    op.drop_table("daily_aggregates")
    op.drop_table("audit_log")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS twinsight_audit_append_only()")
