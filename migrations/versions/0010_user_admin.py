"""user administration: an email per user, and the activity log's filters

Revision ID: 0010
Revises: 0011
Create Date: 2026-12-02 03:30:00.000000

Users gain an email address (SPEC §8.6: the admin's user form edits it). The activity page filters
by action over a date range, newest first: the index keeps that a range scan at ten years of rows
(user and entity type already have theirs).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(200), nullable=False, server_default=""))
    op.create_index("ix_activity_log_action_created", "activity_log", ["action", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_activity_log_action_created", table_name="activity_log")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email")
