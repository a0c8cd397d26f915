"""invoices' Sage id: the link the invoice sync keeps

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 09:00:00

``invoices.sage_invoice_id`` is the id of the tax invoice (SA) or sales invoice (v3.1) in Sage,
stored the moment Sage has it (unique: two invoices never claim one Sage invoice). A re-run of the
invoice sync sends an invoice holding one again never (docs/accounting.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sage_invoice_id", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_invoices_sage_invoice_id"), ["sage_invoice_id"])


def downgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_invoices_sage_invoice_id"), type_="unique")
        batch_op.drop_column("sage_invoice_id")
