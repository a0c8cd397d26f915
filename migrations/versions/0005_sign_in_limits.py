"""sign-in limits per address

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 01:00:00.000000

The per-address limit counts an address's failures in the last 15 minutes on every sign-in; the
index makes that a short range scan, and the pruning job's delete by age uses created_at's.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_login_attempts_ip_created", "login_attempts", ["ip_address", "created_at"])
    op.create_index("ix_login_attempts_created_at", "login_attempts", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_login_attempts_created_at", table_name="login_attempts")
    op.drop_index("ix_login_attempts_ip_created", table_name="login_attempts")
