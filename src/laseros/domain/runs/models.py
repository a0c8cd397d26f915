"""A laser run: one stretch of cutting on a job, started and ended on the phone or logged on a PC."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from laseros.db import ScaledDecimal, TimestampedBase, UTCDateTime

if TYPE_CHECKING:
    from laseros.domain.admin.models import User
    from laseros.domain.operators.models import ExtraOperator
    from laseros.domain.presets.models import Preset
    from laseros.domain.projects.models import Project


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    DISCARDED = "discarded"  # started by mistake and taken back within minutes: nothing cut, nothing deducted


# A run started by mistake can be taken back for this long after it started.
DISCARD_WITHIN_MINUTES = 5


class LaserRun(TimestampedBase):
    __tablename__ = "laser_runs"
    __table_args__ = (
        Index("ix_laser_runs_started_at", "started_at"),
        Index("ix_laser_runs_operator_started", "operator_id", "started_at"),
        Index("ix_laser_runs_extra_operator_started", "extra_operator_id", "started_at"),
        Index("ix_laser_runs_project_started", "project_id", "started_at"),
        # The reports' aggregates read these without touching the table (migration 0012).
        Index(
            "ix_laser_runs_report_started",
            "started_at",
            "status",
            "project_id",
            "operator_id",
            "extra_operator_id",
            "material_type",
            "thickness_mm",
            "cut_minutes",
            "sheets_used",
            "parts_produced",
        ),
        Index(
            "ix_laser_runs_report_project", "project_id", "status", "extra_operator_id", "operator_id", "cut_minutes"
        ),
        # One running run per operator: the service says which one; this is the backstop.
        Index(
            "uq_laser_runs_one_running_per_operator",
            "operator_id",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"))
    queue_item_id: Mapped[int | None] = mapped_column(ForeignKey("queue_items.id", ondelete="SET NULL"))
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    extra_operator_id: Mapped[int | None] = mapped_column(ForeignKey("extra_operators.id", ondelete="RESTRICT"))
    logged_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    preset_id: Mapped[int | None] = mapped_column(ForeignKey("presets.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12), default=RunStatus.RUNNING.value)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    cut_minutes: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2), default=None)

    material_type: Mapped[str] = mapped_column(String(100), default="")
    thickness_mm: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2), default=None)
    sheet_size: Mapped[str] = mapped_column(String(40), default="")
    sheets_used: Mapped[int] = mapped_column(Integer, default=0)
    parts_produced: Mapped[int] = mapped_column(Integer, default=0)
    notes: Mapped[str] = mapped_column(Text, default="")
    job_finished: Mapped[bool] = mapped_column(Boolean, default=False)
    # The stock item the sheets came off, and how many were missing from the shelf.
    inventory_item_id: Mapped[int | None] = mapped_column(ForeignKey("inventory_items.id", ondelete="SET NULL"))
    stock_shortfall: Mapped[int] = mapped_column(Integer, default=0)
    # Sheets stock did not cover when the operator chose to start anyway (0: covered).
    short_at_start: Mapped[int] = mapped_column(Integer, default=0)
    # The job's stage before this run put it into cutting (so a discarded run can put it back).
    stage_before: Mapped[str | None] = mapped_column(String(20), default=None)

    project: Mapped[Project] = relationship(lazy="raise")
    operator: Mapped[User] = relationship(foreign_keys=[operator_id], lazy="raise")
    extra_operator: Mapped[ExtraOperator | None] = relationship(lazy="raise")
    logged_by: Mapped[User] = relationship(foreign_keys=[logged_by_id], lazy="raise")
    preset: Mapped[Preset | None] = relationship(lazy="raise")

    @property
    def is_running(self) -> bool:
        return self.status == RunStatus.RUNNING.value

    @property
    def attributed_to(self) -> str:
        """Who the run counts for: the extra operator when one was named, else the logged-in operator."""
        return self.extra_operator.display_name if self.extra_operator else self.operator.display_name

    @property
    def who(self) -> str:
        """How pages say who cut it: "Themba (night shift), logged by Pieter", or just "Pieter"."""
        if self.extra_operator:
            return f"{self.extra_operator.display_name}, logged by {self.operator.display_name}"
        return self.operator.display_name
