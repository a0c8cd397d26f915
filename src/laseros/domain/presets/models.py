"""Machine settings presets: the cutting parameters for one material and thickness."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Boolean, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from laseros.db import ScaledDecimal, TimestampedBase


class Gas(StrEnum):
    O2 = "O2"
    N2 = "N2"
    AIR = "Air"


class Preset(TimestampedBase):
    __tablename__ = "presets"
    __table_args__ = (
        Index("ix_presets_material_thickness", "material_type", "thickness_mm"),
        # At most one active preset per (material, thickness): that is the one jobs get.
        Index(
            "uq_presets_active_spec",
            "material_type",
            "thickness_mm",
            unique=True,
            sqlite_where=text("is_active"),
            postgresql_where=text("is_active"),
        ),
    )

    name: Mapped[str] = mapped_column(String(200))
    material_type: Mapped[str] = mapped_column(String(100))
    thickness_mm: Mapped[Decimal] = mapped_column(ScaledDecimal(2))
    power_w: Mapped[int | None] = mapped_column(Integer, default=None)
    speed_mm_min: Mapped[int | None] = mapped_column(Integer, default=None)
    frequency_hz: Mapped[int | None] = mapped_column(Integer, default=None)
    gas: Mapped[str] = mapped_column(String(10), default="")
    pressure_bar: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2), default=None)
    nozzle_mm: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2), default=None)
    focus_mm: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2), default=None)
    pierce_time_s: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2), default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    notes: Mapped[str] = mapped_column(Text, default="")
