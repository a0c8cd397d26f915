"""Which machine preset a job carries: a preset follows its sheet onto the open jobs.

Creating, editing and (de)activating a preset are actions on the jobs as much as on the preset:
the active preset for a (material, thickness) is attached to every open job on that sheet, and
a retired one leaves them (their "no preset" notification follows). So these writes live in the
production context; ``presets.services`` keeps the catalogue itself.
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from laseros.db import UnitOfWork, action
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import Actor
from laseros.domain.notifications.watch import watch_project
from laseros.domain.presets.models import Preset
from laseros.domain.presets.schemas import PresetInput
from laseros.domain.presets.services import PresetService
from laseros.domain.projects.models import Project
from laseros.domain.projects.stages import OPEN_STAGES


class JobPresets:
    def __init__(self, session: UnitOfWork, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.presets = PresetService(session, actor)

    async def project_count(self, preset_id: int) -> int:
        return await self.session.scalar(select(func.count(Project.id)).where(Project.preset_id == preset_id)) or 0

    @action
    async def create(self, data: PresetInput) -> Preset:
        """Add a preset; an active one takes over its (material, thickness). Commits."""
        preset = Preset(**{**data.as_dict(), "is_active": False})
        self.session.add(preset)
        await self.session.flush()
        record_activity(self.session, self.actor, "created", "preset", preset.id, preset.name)
        if data.is_active:
            await self._activate(preset)
        await self.session.commit()
        return preset

    @action
    async def update(self, preset_id: int, data: PresetInput) -> Preset:
        """Save a preset; moving it to another sheet or (de)activating it re-attaches open jobs. Commits."""
        preset = await self.presets.get(preset_id)
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
        record_activity(
            self.session, self.actor, "updated", "preset", preset.id, "Changed: " + (", ".join(changed) or "nothing")
        )
        await self.session.commit()
        return preset

    @action
    async def toggle(self, preset_id: int) -> tuple[Preset, Preset | None]:
        """Activate (replacing the active one for its sheet) or deactivate. Commits.

        Returns the preset and, when activating it retired another, the one it replaced.
        """
        preset = await self.presets.get(preset_id)
        replaced = None
        if preset.is_active:
            await self._deactivate(preset)
            action = "deactivated"
        else:
            replaced = await self._activate(preset)
            action = "activated"
        record_activity(self.session, self.actor, action, "preset", preset.id, preset.name)
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
            record_activity(self.session, self.actor, "deactivated", "preset", current.id, f"replaced by {preset.name}")
        preset.is_active = True
        await self.session.flush()
        attached = await self.session.scalars(
            update(Project)
            .where(
                Project.material_type == preset.material_type,
                Project.thickness_mm == preset.thickness_mm,
                Project.stage.in_(OPEN_STAGES),
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
            .where(Project.preset_id == preset.id, Project.stage.in_(OPEN_STAGES))
            .values(preset_id=None)
            .returning(Project.id)
            .execution_options(synchronize_session=False)
        )
        for project_id in detached.all():
            watch_project(self.session, project_id)
