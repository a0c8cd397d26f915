"""Machine presets: the library, and the rule that a job carries the active preset for its sheet."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.errors import NotFound
from laseros.domain.kernel.paging import Export, Page, paginate
from laseros.domain.presets.models import Preset

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

    def search_query(self, filters: PresetFilters) -> Select[Preset]:
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

    def export(self, filters: PresetFilters) -> Export:
        """The filtered presets as ``EXPORT_COLUMNS`` rows, streamed."""
        columns = (getattr(Preset, name) for name in EXPORT_COLUMNS)
        return Export("presets.csv", EXPORT_COLUMNS, self.search_query(filters).with_only_columns(*columns))

    async def list(self, filters: PresetFilters, page: int = 1, per_page: int = 50) -> Page[Preset]:
        return await paginate(self.session, self.search_query(filters), page, per_page)

    async def get(self, preset_id: int) -> Preset:
        preset = await self.session.get(Preset, preset_id)
        if preset is None:
            raise NotFound(f"Preset {preset_id} does not exist.")
        return preset

    async def choices(self) -> builtins.list[Preset]:
        return list(await self.session.scalars(self.search_query(PresetFilters(active="active"))))
