"""Sage Business Cloud Accounting: the connection, the audit log of calls, sync runs, clients' Sage id

Revision ID: 0011
Revises: 0006
Create Date: 2026-12-02 03:30:00.000000

``sage_connections`` holds at most one row: the back end, who is connected, the company, and the
credentials or tokens encrypted (``domain/accounting/secrets.py``). ``clients.sage_customer_id``
is the link the customer sync keeps (unique: two clients never claim one Sage customer).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import laseros.db

revision = "0011"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sage_connections",
        sa.Column("backend", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("connected_as", sa.String(length=200), nullable=False),
        sa.Column("company_id", sa.String(length=64), nullable=False),
        sa.Column("company_name", sa.String(length=200), nullable=False),
        sa.Column("companies", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("oauth_state_hash", sa.String(length=64), nullable=False),
        sa.Column("oauth_started_at", laseros.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("connected_at", laseros.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("problem", sa.String(length=300), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", laseros.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", laseros.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sage_connections")),
    )
    with op.batch_alter_table("sage_connections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sage_connections_created_at"), ["created_at"], unique=False)
    op.create_table(
        "sage_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", laseros.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("backend", sa.String(length=8), nullable=False),
        sa.Column("call", sa.String(length=120), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("message", sa.String(length=300), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sage_calls")),
    )
    with op.batch_alter_table("sage_calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sage_calls_at"), ["at"], unique=False)
    op.create_table(
        "sage_syncs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("started_at", laseros.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", laseros.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sage_syncs")),
    )
    with op.batch_alter_table("sage_syncs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sage_syncs_started_at"), ["started_at"], unique=False)
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sage_customer_id", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_clients_sage_customer_id"), ["sage_customer_id"])


def downgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_clients_sage_customer_id"), type_="unique")
        batch_op.drop_column("sage_customer_id")
    op.drop_table("sage_syncs")
    op.drop_table("sage_calls")
    op.drop_table("sage_connections")
