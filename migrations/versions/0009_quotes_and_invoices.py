"""quotes, invoices, payments; the client's VAT number

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 03:18:30.965063

Amounts are scaled integers (cents), like every other amount. An invoice's number is empty while
it is a draft and unique once issued (docs/quotes_and_invoices.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import laseros.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quotes",
        sa.Column("quote_number", sa.String(length=20), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("revision_of_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", laseros.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_at", laseros.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("vat_rate", laseros.db.ScaledDecimal(), nullable=False),
        sa.Column("subtotal", laseros.db.ScaledDecimal(), nullable=False),
        sa.Column("vat_amount", laseros.db.ScaledDecimal(), nullable=False),
        sa.Column("total", laseros.db.ScaledDecimal(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", laseros.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", laseros.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_quotes_client_id_clients"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_quotes_project_id_projects"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["revision_of_id"], ["quotes.id"], name=op.f("fk_quotes_revision_of_id_quotes"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
        sa.UniqueConstraint("quote_number", name=op.f("uq_quotes_quote_number")),
    )
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quotes_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_quotes_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_quotes_project_id"), ["project_id"], unique=False)
        batch_op.create_index("ix_quotes_status_valid_until", ["status", "valid_until"], unique=False)

    op.create_table(
        "invoices",
        sa.Column("invoice_number", sa.String(length=20), nullable=True),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("quote_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("amount_paid", laseros.db.ScaledDecimal(), nullable=False),
        sa.Column("voided_at", laseros.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("vat_rate", laseros.db.ScaledDecimal(), nullable=False),
        sa.Column("subtotal", laseros.db.ScaledDecimal(), nullable=False),
        sa.Column("vat_amount", laseros.db.ScaledDecimal(), nullable=False),
        sa.Column("total", laseros.db.ScaledDecimal(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", laseros.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", laseros.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_invoices_client_id_clients"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_invoices_project_id_projects"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["quote_id"], ["quotes.id"], name=op.f("fk_invoices_quote_id_quotes"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("invoice_number", name=op.f("uq_invoices_invoice_number")),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoices_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_quote_id"), ["quote_id"], unique=False)
        batch_op.create_index("ix_invoices_status_due_date", ["status", "due_date"], unique=False)

    op.create_table(
        "quote_lines",
        sa.Column("quote_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("quantity", laseros.db.ScaledDecimal(), nullable=False),
        sa.Column("unit_price", laseros.db.ScaledDecimal(), nullable=False),
        sa.Column("line_total", laseros.db.ScaledDecimal(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", laseros.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", laseros.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["quote_id"], ["quotes.id"], name=op.f("fk_quote_lines_quote_id_quotes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quote_lines")),
    )
    with op.batch_alter_table("quote_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quote_lines_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_quote_lines_quote_id"), ["quote_id"], unique=False)

    op.create_table(
        "invoice_lines",
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("quantity", laseros.db.ScaledDecimal(), nullable=False),
        sa.Column("unit_price", laseros.db.ScaledDecimal(), nullable=False),
        sa.Column("line_total", laseros.db.ScaledDecimal(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", laseros.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", laseros.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_lines_invoice_id_invoices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
    )
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_lines_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoice_lines_invoice_id"), ["invoice_id"], unique=False)

    op.create_table(
        "payments",
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("amount", laseros.db.ScaledDecimal(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", laseros.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", laseros.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_payments_invoice_id_invoices"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_payments_recorded_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payments_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_payments_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payments_paid_on"), ["paid_on"], unique=False)

    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vat_number", sa.String(length=30), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("vat_number")

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_paid_on"))
        batch_op.drop_index(batch_op.f("ix_payments_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_payments_created_at"))

    op.drop_table("payments")
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_lines_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_invoice_lines_created_at"))

    op.drop_table("invoice_lines")
    with op.batch_alter_table("quote_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quote_lines_quote_id"))
        batch_op.drop_index(batch_op.f("ix_quote_lines_created_at"))

    op.drop_table("quote_lines")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index("ix_invoices_status_due_date")
        batch_op.drop_index(batch_op.f("ix_invoices_quote_id"))
        batch_op.drop_index(batch_op.f("ix_invoices_project_id"))
        batch_op.drop_index(batch_op.f("ix_invoices_created_at"))
        batch_op.drop_index(batch_op.f("ix_invoices_client_id"))

    op.drop_table("invoices")
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.drop_index("ix_quotes_status_valid_until")
        batch_op.drop_index(batch_op.f("ix_quotes_project_id"))
        batch_op.drop_index(batch_op.f("ix_quotes_created_at"))
        batch_op.drop_index(batch_op.f("ix_quotes_client_id"))

    op.drop_table("quotes")
