"""products, the products on a project, and stored files (with their DXF analysis)

Revision ID: 0007
Revises: 0012
Create Date: 2026-12-02 03:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from laseros.db import ScaledDecimal, UTCDateTime

revision = "0007"
down_revision = "0012"
branch_labels = None
depends_on = None


def _stamps() -> list[sa.Column]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "products",
        *_stamps(),
        sa.Column("sku", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("material_type", sa.String(length=100), nullable=False),
        sa.Column("thickness_mm", ScaledDecimal(2), nullable=True),
        sa.Column("unit_price", ScaledDecimal(2), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("sku", name=op.f("uq_products_sku")),
    )
    op.create_index(op.f("ix_products_created_at"), "products", ["created_at"])
    op.create_index(op.f("ix_products_name"), "products", ["name"])
    op.create_table(
        "project_products",
        *_stamps(),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", ScaledDecimal(2), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_project_products_project_id_projects"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_project_products_product_id_products"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_products")),
    )
    op.create_index(op.f("ix_project_products_created_at"), "project_products", ["created_at"])
    op.create_index(op.f("ix_project_products_project_id"), "project_products", ["project_id"])
    op.create_index(op.f("ix_project_products_product_id"), "project_products", ["product_id"])
    op.create_table(
        "stored_files",
        *_stamps(),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("storage_name", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=120), nullable=False),
        sa.Column("analysis", sa.Text(), nullable=True),
        sa.Column("preview_name", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_stored_files_project_id_projects"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_stored_files_product_id_products"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_files")),
        sa.UniqueConstraint("storage_name", name=op.f("uq_stored_files_storage_name")),
    )
    op.create_index(op.f("ix_stored_files_created_at"), "stored_files", ["created_at"])
    op.create_index(op.f("ix_stored_files_project_id"), "stored_files", ["project_id"])
    op.create_index(op.f("ix_stored_files_product_id"), "stored_files", ["product_id"])


def downgrade() -> None:
    op.drop_table("stored_files")
    op.drop_table("project_products")
    op.drop_table("products")
