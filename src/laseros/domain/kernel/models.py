"""The kernel's tables: shop settings, the activity log and the code sequences."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from laseros.db import Base, UTCDateTime, utcnow


class ActivityLog(Base):
    """Who did what to which record; written in the same transaction as the change."""

    __tablename__ = "activity_log"
    __table_args__ = (
        Index("ix_activity_log_entity", "entity_type", "entity_id", "created_at"),
        Index("ix_activity_log_action_created", "action", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(40))
    entity_type: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[int] = mapped_column(Integer)
    details: Mapped[str] = mapped_column(Text, default="")


class ShopSetting(Base):
    """A shop-wide setting stored as text; what each key means lives in the registry (``kernel.registry``)."""

    __tablename__ = "shop_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class CodeSequence(Base):
    """Counters behind human codes (CL-0001, …); bumped with one atomic UPDATE … RETURNING."""

    __tablename__ = "code_sequences"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)
