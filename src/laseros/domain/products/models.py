"""A product the shop cuts again and again, and a project's line of it (price copied when added)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from laseros.db import ScaledDecimal, TimestampedBase

if TYPE_CHECKING:
    from laseros.domain.projects.models import Project


class Product(TimestampedBase):
    __tablename__ = "products"

    sku: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    material_type: Mapped[str] = mapped_column(String(100), default="")
    thickness_mm: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2), default=None)
    unit_price: Mapped[Decimal] = mapped_column(ScaledDecimal(2), default=Decimal("0.00"))
    notes: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class ProjectProduct(TimestampedBase):
    """A product on a project: its quantity and the unit price it had when it was added."""

    __tablename__ = "project_products"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    # RESTRICT: a product a project uses is deactivated, not deleted.
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(ScaledDecimal(2))

    product: Mapped[Product] = relationship(lazy="raise")
    project: Mapped[Project] = relationship(lazy="raise")

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity
