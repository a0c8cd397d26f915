"""Extra operators: people who run the machine but never log in (runs can be attributed to them)."""

from __future__ import annotations

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from laseros.db import TimestampedBase


class ExtraOperator(TimestampedBase):
    __tablename__ = "extra_operators"

    display_name: Mapped[str] = mapped_column(String(120))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    notes: Mapped[str] = mapped_column(Text, default="")
