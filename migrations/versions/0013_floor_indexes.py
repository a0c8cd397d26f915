"""indexes for the shop floor's hot paths: the active queue in order, the jobs on one sheet

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-02 13:30:00

A partial index holds the few thousand active queue items in cutting order, so /queue page 1 no
longer walks ten years of finished items by rank; a covering index answers "what do the jobs on
this sheet in this stage still need" (Start Run's and End Run's stock check) without reading
projects (docs/performance.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0009"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("status IN ('Queued', 'In Progress')")


def upgrade() -> None:
    op.create_index(
        "ix_queue_items_active_rank",
        "queue_items",
        ["rank", "id"],
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )
    op.create_index(
        "ix_queue_items_active_day", "queue_items", ["scheduled_date"], sqlite_where=_ACTIVE, postgresql_where=_ACTIVE
    )
    op.create_index(
        "ix_projects_sheet_stage",
        "projects",
        ["material_type", "thickness_mm", "sheet_size", "stage", "sheets_required"],
    )


def downgrade() -> None:
    op.drop_index("ix_projects_sheet_stage", table_name="projects")
    op.drop_index("ix_queue_items_active_day", table_name="queue_items")
    op.drop_index("ix_queue_items_active_rank", table_name="queue_items")
