"""Machine presets: the library, and the rule that a job carries the active preset for its sheet."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.domain.admin.services import Actor, record_activity
from laseros.domain.errors import NotFound
from laseros.domain.notifications.services import watch_project
from laseros.domain.paging import Page, paginate, stream_rows
from laseros.domain.presets.models import Preset
from laseros.domain.presets.schemas import PresetInput
from laseros.domain.projects.models import Project
from laseros.domain.projects.stages import Stage

# Jobs whose preset still matters: not yet delivered or cancelled.
_OPEN_STAGES = [s.value for s in Stage if s not in (Stage.DELIVERED, Stage.CANCELLED)]

EXPORT_COLUMNS = (
    "id", "name", "material_type", "thickness_mm", "power_w", "speed_mm_min", "frequency_hz", "gas",
    "pressure_bar", "nozzle_mm", "focus_mm", "pierce_time_s", "is_active", "notes", "created_at", "updated_at",
)  # fmt: skip


@dataclass(frozen=True)
class PresetFilters:
    material_type: str = ""
    thickness_mm: Decimal | None = None
    active: str = ""  # "", "active" or "inactive"


async def active_preset_id(session: AsyncSession, material_type: str, thickness_mm: Decimal | None) -> int | None:
    """The active preset for (material, thickness), if the shop has one."""
    if not material_type or thickness_mm is None:
        return None
    return await session.scalar(
        select(Preset.id).where(
            Preset.material_type == material_type, Preset.thickness_mm == thickness_mm, Preset.is_active.is_(True)
        )
    )


class PresetService:
    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    def search_query(self, filters: PresetFilters) -> Select[tuple[Preset]]:
        stmt = select(Preset).order_by(Preset.material_type, Preset.thickness_mm, Preset.is_active.desc(), Preset.name)
        if filters.material_type:
            stmt = stmt.where(Preset.material_type == filters.material_type)
        if filters.thickness_mm is not None:
            stmt = stmt.where(Preset.thickness_mm == filters.thickness_mm)
        if filters.active == "active":
            stmt = stmt.where(Preset.is_active.is_(True))
        elif filters.active == "inactive":
            stmt = stmt.where(Preset.is_active.is_(False))
        return stmt

    def export_rows(self, filters: PresetFilters) -> AsyncIterator[Row[Any]]:
        """The filtered presets as ``EXPORT_COLUMNS`` rows, streamed."""
        columns = (getattr(Preset, name) for name in EXPORT_COLUMNS)
        return stream_rows(self.session, self.search_query(filters).with_only_columns(*columns))

    async def list(self, filters: PresetFilters, page: int = 1, per_page: int = 50) -> Page[Preset]:
        return await paginate(self.session, self.search_query(filters), page, per_page)

    async def get(self, preset_id: int) -> Preset:
        preset = await self.session.get(Preset, preset_id)
        if preset is None:
            raise NotFound(f"Preset {preset_id} does not exist.")
        return preset

    async def choices(self) -> list[Preset]:
        return list(await self.session.scalars(self.search_query(PresetFilters(active="active"))))

    async def project_count(self, preset_id: int) -> int:
        return await self.session.scalar(select(func.count(Project.id)).where(Project.preset_id == preset_id)) or 0

    async def create(self, data: PresetInput) -> Preset:
        """Add a preset; an active one takes over its (material, thickness). Commits."""
        preset = Preset(**{**data.as_dict(), "is_active": False})
        self.session.add(preset)
        await self.session.flush()
        await record_activity(self.session, self.actor, "created", "preset", preset.id, preset.name)
        if data.is_active:
            await self._activate(preset)
        await self.session.commit()
        return preset

    async def update(self, preset_id: int, data: PresetInput) -> Preset:
        """Save a preset; moving it to another sheet or (de)activating it re-attaches open jobs. Commits."""
        preset = await self.get(preset_id)
        fields = data.as_dict()
        changed = [key for key, value in fields.items() if getattr(preset, key) != value]
        if preset.is_active:
            await self._deactivate(preset)
        for key, value in fields.items():
            if key != "is_active":
                setattr(preset, key, value)
        await self.session.flush()
        if data.is_active:
            await self._activate(preset)
        await record_activity(
            self.session, self.actor, "updated", "preset", preset.id, "Changed: " + (", ".join(changed) or "nothing")
        )
        await self.session.commit()
        return preset

    async def toggle(self, preset_id: int) -> tuple[Preset, Preset | None]:
        """Activate (replacing the active one for its sheet) or deactivate. Commits.

        Returns the preset and, when activating it retired another, the one it replaced.
        """
        preset = await self.get(preset_id)
        replaced = None
        if preset.is_active:
            await self._deactivate(preset)
            action = "deactivated"
        else:
            replaced = await self._activate(preset)
            action = "activated"
        await record_activity(self.session, self.actor, action, "preset", preset.id, preset.name)
        await self.session.commit()
        return preset, replaced

    async def _activate(self, preset: Preset) -> Preset | None:
        """Make ``preset`` the active one for its sheet and attach it to the open jobs on that sheet.

        Returns the preset it replaced, if another was active for the sheet.
        """
        current = await self.session.scalar(
            select(Preset).where(
                Preset.material_type == preset.material_type,
                Preset.thickness_mm == preset.thickness_mm,
                Preset.is_active.is_(True),
                Preset.id != preset.id,
            )
        )
        if current is not None:
            current.is_active = False
            await self.session.flush()
            await record_activity(
                self.session, self.actor, "deactivated", "preset", current.id, f"replaced by {preset.name}"
            )
        preset.is_active = True
        await self.session.flush()
        attached = await self.session.scalars(
            update(Project)
            .where(
                Project.material_type == preset.material_type,
                Project.thickness_mm == preset.thickness_mm,
                Project.stage.in_(_OPEN_STAGES),
            )
            .values(preset_id=preset.id)
            .returning(Project.id)
            .execution_options(synchronize_session=False)
        )
        for project_id in attached.all():
            watch_project(self.session, project_id)  # clears their "no preset" notifications
        return current

    async def _deactivate(self, preset: Preset) -> None:
        """Retire ``preset``: open jobs that carried it no longer have one (the phone shows the warning)."""
        preset.is_active = False
        await self.session.flush()
        detached = await self.session.scalars(
            update(Project)
            .where(Project.preset_id == preset.id, Project.stage.in_(_OPEN_STAGES))
            .values(preset_id=None)
            .returning(Project.id)
            .execution_options(synchronize_session=False)
        )
        for project_id in detached.all():
            watch_project(self.session, project_id)
