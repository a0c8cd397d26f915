"""Stock items and their ledger: on hand changes only through a transaction row."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from laseros.db import Base, ScaledDecimal, TimestampedBase, UTCDateTime, utcnow
from laseros.domain.kernel.shop import sheet_label


class Category(StrEnum):
    SHEET = "Sheet"
    CONSUMABLE = "Consumable"
    SPARE_PART = "Spare Part"
    TOOL = "Tool"


class TransactionType(StrEnum):
    PURCHASE = "Purchase"  # stock bought in: adds
    USAGE = "Usage"  # stock used on a job: removes (runs write these themselves)
    ADJUSTMENT = "Adjustment"  # a stock-take correction: signed
    RETURN = "Return"  # unused stock back on the shelf: adds


class InventoryItem(TimestampedBase):
    __tablename__ = "inventory_items"
    __table_args__ = (
        # One stock item per sheet specification, so a job's sheets map to exactly one shelf.
        Index(
            "uq_inventory_items_sheet_spec",
            "material_type",
            "thickness_mm",
            "sheet_size",
            unique=True,
            sqlite_where=text("category = 'Sheet'"),
            postgresql_where=text("category = 'Sheet'"),
        ),
    )

    item_code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    category: Mapped[str] = mapped_column(String(20), default=Category.SHEET.value, index=True)
    material_type: Mapped[str] = mapped_column(String(100), default="")
    thickness_mm: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2), default=None)
    sheet_size: Mapped[str] = mapped_column(String(40), default="")
    unit: Mapped[str] = mapped_column(String(20), default="sheets")
    # Changed only by InventoryService/deduct_for_run together with a ledger row.
    quantity_on_hand: Mapped[int] = mapped_column(Integer, default=0)
    min_required: Mapped[int] = mapped_column(Integer, default=0)
    reorder_quantity: Mapped[int] = mapped_column(Integer, default=0)
    unit_cost: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2), default=None)
    supplier_name: Mapped[str] = mapped_column(String(200), default="")
    location: Mapped[str] = mapped_column(String(100), default="")
    notes: Mapped[str] = mapped_column(Text, default="")

    @property
    def is_low(self) -> bool:
        return self.quantity_on_hand < self.min_required

    @property
    def valuation(self) -> Decimal:
        return (self.unit_cost or Decimal(0)) * self.quantity_on_hand

    @property
    def spec_label(self) -> str:
        return sheet_label(self.material_type, self.thickness_mm, self.sheet_size)


class InventoryTransaction(Base):
    """One movement of stock. ``quantity`` is the signed change actually applied, so the sum of an
    item's rows is its on hand; ``balance_after`` is the running balance the change produced."""

    __tablename__ = "inventory_transactions"
    __table_args__ = (
        Index("ix_inventory_transactions_item_id_id", "item_id", "id"),
        Index("ix_inventory_transactions_type_created", "transaction_type", "created_at"),
        # The inventory report's usage and purchases in a period, read from the index alone.
        Index(
            "ix_inventory_transactions_report_created",
            "created_at",
            "item_id",
            "transaction_type",
            "quantity",
            "unit_cost",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("inventory_items.id", ondelete="CASCADE"))
    transaction_type: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[int] = mapped_column(Integer)
    balance_after: Mapped[int] = mapped_column(Integer)
    # Usage that asked for more than was on the shelf: how many sheets were missing.
    shortfall: Mapped[int] = mapped_column(Integer, default=0)
    unit_cost: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2), default=None)
    reference: Mapped[str] = mapped_column(String(100), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("laser_runs.id", ondelete="SET NULL"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    item: Mapped[InventoryItem] = relationship(lazy="raise")
