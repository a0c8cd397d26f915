"""A queue item: a paid project's place in the cutting order."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, ColumnElement, Date, ForeignKey, Index, Integer, String, Text, bindparam, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from laseros.db import TimestampedBase, UTCDateTime
from laseros.domain.projects.stages import ACTIVE_QUEUE_STATUSES, QueueStatus

if TYPE_CHECKING:
    from laseros.domain.projects.models import Project


class Priority(StrEnum):
    LOW = "Low"
    NORMAL = "Normal"
    HIGH = "High"
    URGENT = "Urgent"


_ACTIVE_VALUES = tuple(s.value for s in ACTIVE_QUEUE_STATUSES)
# The active queue in cutting order: a few thousand rows among ten years of finished ones.
_ACTIVE_SQL = "status IN ({})".format(", ".join(f"'{value}'" for value in _ACTIVE_VALUES))


class QueueItem(TimestampedBase):
    __tablename__ = "queue_items"
    __table_args__ = (
        Index("ix_queue_items_status_rank", "status", "rank"),
        Index("ix_queue_items_status_completed", "status", "completed_at"),  # the reports' completed jobs
        Index(
            "ix_queue_items_active_rank",
            "rank",
            "id",
            sqlite_where=text(_ACTIVE_SQL),
            postgresql_where=text(_ACTIVE_SQL),
        ),
        Index(  # the days ahead (the queue page's day loads)
            "ix_queue_items_active_day",
            "scheduled_date",
            sqlite_where=text(_ACTIVE_SQL),
            postgresql_where=text(_ACTIVE_SQL),
        ),
    )

    @classmethod
    def is_active(cls) -> ColumnElement[bool]:
        """SQL: the item is queued or in progress.

        The statuses are written into the statement rather than bound, so that SQLite sees it implies
        the partial index ``ix_queue_items_active_rank`` (it cannot tell from a bound parameter).
        """
        return cls.status.in_(
            bindparam("active_statuses", _ACTIVE_VALUES, expanding=True, literal_execute=True, unique=True)
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
