"""A queue item: a paid project's place in the cutting order."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from laseros.db import TimestampedBase, UTCDateTime
from laseros.domain.projects.stages import QueueStatus

if TYPE_CHECKING:
    from laseros.domain.projects.models import Project


class Priority(StrEnum):
    LOW = "Low"
    NORMAL = "Normal"
    HIGH = "High"
    URGENT = "Urgent"


class QueueItem(TimestampedBase):
    __tablename__ = "queue_items"
    __table_args__ = (
        Index("ix_queue_items_status_rank", "status", "rank"),
        Index("ix_queue_items_status_completed", "status", "completed_at"),  # the reports' completed jobs
    )

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), unique=True)
    # Gapped rank: a move rewrites only the moved item's rank (see QueueService.reorder).
    rank: Mapped[int] = mapped_column(BigInteger, index=True)
    status: Mapped[str] = mapped_column(String(20), default=QueueStatus.QUEUED.value)
    priority: Mapped[str] = mapped_column(String(10), default=Priority.NORMAL.value)
    scheduled_date: Mapped[date | None] = mapped_column(Date, default=None)
    estimated_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    notes: Mapped[str] = mapped_column(Text, default="")
    # Sheets already cut off this job by its runs: what it still needs is sheets_required minus this.
    sheets_cut: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    project: Mapped[Project] = relationship(back_populates="queue_item", lazy="raise")
