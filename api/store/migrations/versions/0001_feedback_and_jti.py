"""Feedback (append-only, one row per card, outcome and outcome timestamp) and the JWT replay
memory.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SQLITE_APPEND_ONLY = [
    """CREATE TRIGGER feedback_no_update BEFORE UPDATE ON feedback
       BEGIN SELECT RAISE(ABORT, 'feedback is append-only'); END""",
    """CREATE TRIGGER feedback_no_delete BEFORE DELETE ON feedback
       BEGIN SELECT RAISE(ABORT, 'feedback is append-only'); END""",
]
POSTGRES_APPEND_ONLY = [
    """CREATE FUNCTION feedback_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'feedback is append-only'; END $$""",
    """CREATE TRIGGER feedback_no_update BEFORE UPDATE ON feedback
       FOR EACH ROW EXECUTE FUNCTION feedback_append_only()""",
    """CREATE TRIGGER feedback_no_delete BEFORE DELETE ON feedback
       FOR EACH ROW EXECUTE FUNCTION feedback_append_only()""",
    """CREATE TRIGGER feedback_no_truncate BEFORE TRUNCATE ON feedback
       FOR EACH STATEMENT EXECUTE FUNCTION feedback_append_only()""",
]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # SQLite keeps the timestamps as ISO 8601 text in UTC (api/store/__init__.py utc_iso),
    # PostgreSQL as timestamptz: equal instants are equal keys in both.
    moment = sa.DateTime(timezone=True) if postgres else sa.Text()
    op.create_table(
        "feedback",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("received_at", moment, nullable=False),
        sa.Column("service_id", sa.Text(), nullable=False),
        sa.Column("card", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("accepted_suggestions", sa.Text()),  # JSON list of suggestion uuids
        sa.Column("reason_system", sa.Text()),
        sa.Column("reason_code", sa.Text()),
        sa.Column("reason_display", sa.Text()),
        sa.Column("user_comment", sa.Text()),
        sa.Column("outcome_timestamp", moment, nullable=False),
        sa.Column("client", sa.Text()),  # the authenticated caller (JWT iss or system key)
        sa.Column("raw", sa.Text(), nullable=False),  # the item as received, canonical JSON
        sa.CheckConstraint("outcome IN ('accepted', 'overridden')", name="feedback_outcome"),
        sa.UniqueConstraint("card", "outcome", "outcome_timestamp", name="feedback_once"),
        sqlite_autoincrement=True,
    )
    op.create_index("feedback_by_time", "feedback", ["outcome_timestamp"])
    for statement in POSTGRES_APPEND_ONLY if postgres else SQLITE_APPEND_ONLY:
        op.execute(statement)
    op.create_table(
        "jti",
        sa.Column("iss", sa.Text(), nullable=False),
        sa.Column("jti", sa.Text(), nullable=False),
        sa.Column("until", sa.Float(), nullable=False),  # epoch seconds: exp plus leeway
        sa.PrimaryKeyConstraint("iss", "jti", name="jti_once"),
    )
    op.create_index("jti_by_until", "jti", ["until"])


def downgrade() -> None:
    raise NotImplementedError("feedback is append-only: the store is never downgraded")
