"""A project: one client job from request to delivery."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from laseros.db import ScaledDecimal, TimestampedBase, UTCDateTime, utcnow
from laseros.domain.projects.stages import Stage

if TYPE_CHECKING:
    from laseros.domain.clients.models import Client
    from laseros.domain.presets.models import Preset
    from laseros.domain.queue.models import QueueItem


class Project(TimestampedBase):
    __tablename__ = "projects"
    __table_args__ = (
        Index("ix_projects_stage_created", "stage", "created_at"),
        Index("ix_projects_client_created", "client_id", "created_at"),
        Index("ix_projects_material_thickness", "material_type", "thickness_mm", "estimated_cut_time"),  # calibration
        # The jobs on one sheet in one stage: stock claims, releases and hold-backs (covering: the sheets too).
        Index("ix_projects_sheet_stage", "material_type", "thickness_mm", "sheet_size", "stage", "sheets_required"),
    )

    project_code: Mapped[str] = mapped_column(String(40), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    stage: Mapped[str] = mapped_column(String(20), default=Stage.REQUEST.value)
    stage_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    material_type: Mapped[str] = mapped_column(String(100), default="")
    thickness_mm: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2), default=None)
    sheet_size: Mapped[str] = mapped_column(String(40), default="")
    sheets_required: Mapped[int | None] = mapped_column(Integer, default=None)
    parts_quantity: Mapped[int | None] = mapped_column(Integer, default=None)
    estimated_cut_time: Mapped[int | None] = mapped_column(Integer, default=None)  # minutes
    quoted_price: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2), default=None)
    due_date: Mapped[date | None] = mapped_column(Date, default=None, index=True)

    pop_received: Mapped[bool] = mapped_column(Boolean, default=False)
    pop_received_date: Mapped[date | None] = mapped_column(Date, default=None)
    pop_deadline: Mapped[date | None] = mapped_column(Date, default=None, index=True)
    completion_date: Mapped[date | None] = mapped_column(Date, default=None)
    # The active preset for the project's (material, thickness), attached automatically.
    preset_id: Mapped[int | None] = mapped_column(ForeignKey("presets.id", ondelete="SET NULL"), index=True)

    client: Mapped[Client] = relationship(back_populates="projects", lazy="raise")
    preset: Mapped[Preset | None] = relationship(lazy="raise")
    queue_item: Mapped[QueueItem | None] = relationship(
        back_populates="project",
        uselist=False,
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise",
    )

    @property
    def stage_enum(self) -> Stage:
        return Stage(self.stage)
