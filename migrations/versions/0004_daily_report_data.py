"""daily reports keep their sections as data

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 09:00:00.000000

A report now stores its sections as JSON (``data``) and the .txt and the page are rendered from
it, so ``body_text`` is only kept for the reports stored before: they have no data and nothing to
rebuild it from, and go on showing their text. New reports leave ``body_text`` empty (NULL).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("daily_reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data", sa.JSON(), nullable=True))
        batch_op.alter_column("body_text", existing_type=sa.Text(), nullable=True)


def downgrade() -> None:
    # Reports made since 0004 have no text to go back to, and the data that says it is dropped
    # here. They keep their date and highlights, with a text that says what happened.
    placeholder = "This report was stored as data by a newer Laser OS and has no text here: generate it again."
    op.execute(
        sa.text("UPDATE daily_reports SET body_text = :text WHERE body_text IS NULL").bindparams(text=placeholder)
    )
    with op.batch_alter_table("daily_reports", schema=None) as batch_op:
        batch_op.alter_column("body_text", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("data")
