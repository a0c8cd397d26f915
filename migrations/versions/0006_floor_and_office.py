"""runs remember a start without the sheets, and the stage they took the job from

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 03:00:00.000000

``short_at_start``: the sheets stock did not cover when the operator chose to cut anyway (the
material alert and the daily report use it while the run goes). ``stage_before``: the job's stage
before the run put it into cutting, so a run started by mistake and discarded puts it back.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("laser_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("short_at_start", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("stage_before", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("laser_runs", schema=None) as batch_op:
        batch_op.drop_column("stage_before")
        batch_op.drop_column("short_at_start")
