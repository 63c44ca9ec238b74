"""The check log: one row per check answered (when, which API, its outcome, the ruleset
version) and one per alert or card it returned (code, severity, the card's uuid), for the
override analytics of the console. No patient data and no request content: feedback names a
card by its uuid only, and this is what ties it back to an alert code. Rows older than
CDS_CHECK_LOG_RETENTION_DAYS are purged by the service.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # As in 0001: ISO 8601 text in UTC on SQLite, timestamptz on PostgreSQL.
    moment = sa.DateTime(timezone=True) if postgres else sa.Text()
    op.create_table(
        "check_log",
        # An id made by the writer, 32 hex digits (a time-ordered UUIDv7, api/check_log.py;
        # rows written before it hold uuid4s): its alerts are written in the same batch
        # without reading generated keys back.
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("checked_at", moment, nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),  # native, cds-hooks
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer()),
        sa.Column("ruleset_version", sa.Text(), nullable=False),
    )
    op.create_index("check_log_by_time", "check_log", ["checked_at"])
    op.create_table(
        "check_alerts",
        sa.Column("check_id", sa.Text(), nullable=False),
        sa.Column("checked_at", moment, nullable=False),  # the check's, for range queries
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("card", sa.Text()),  # the CDS Hooks card's uuid; none for a native alert
    )
    op.create_index("check_alerts_by_time", "check_alerts", ["checked_at", "code"])
    op.create_index("check_alerts_by_card", "check_alerts", ["card"])
    op.create_index("check_alerts_by_check", "check_alerts", ["check_id"])


def downgrade() -> None:
    op.drop_table("check_alerts")
    op.drop_table("check_log")
