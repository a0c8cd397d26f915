"""The one place a project's stage is written: stamps the time and logs who or what caused it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from laseros.db import UnitOfWork, utcnow
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.errors import Conflict
from laseros.domain.notifications.watch import watch_project
from laseros.domain.projects.models import Project
from laseros.domain.projects.stages import Stage
from laseros.domain.runs.models import LaserRun, RunStatus


async def running_runs(session: AsyncSession, project_id: int) -> list[LaserRun]:
    """The project's runs that are going now, with who runs them."""
    return list(
        await session.scalars(
            select(LaserRun)
            .where(LaserRun.project_id == project_id, LaserRun.status == RunStatus.RUNNING.value)
            .options(joinedload(LaserRun.operator), joinedload(LaserRun.extra_operator))
            .order_by(LaserRun.started_at)
        )
    )


async def refuse_while_cutting(session: AsyncSession, project: Project) -> None:
    """Never a running run under a cancelled job: Conflict naming the run (end it first, or end it with the cancel)."""
    going = await running_runs(session, project.id)
    if going:
        run = going[0]
        raise Conflict(
            f"{run.attributed_to}'s run #{run.id} on {project.project_code} is going: end the run first, "
            "or end it with the sheets used and cancel in one step."
        )


async def set_stage(
    session: UnitOfWork, project: Project, target: Stage, actor: Actor, cause: str, *, today: date
) -> bool:
    """Move ``project`` to ``target`` inside the caller's transaction; False if it was already there.

    The project's notifications and drafts are re-evaluated before that transaction commits.
    """
    current = Stage(project.stage)
    if current == target:
        return False
    if target == Stage.CANCELLED:
        await refuse_while_cutting(session, project)
    watch_project(session, project.id, stage_changed=True)
    project.stage = target.value
    project.stage_changed_at = utcnow()
    if target == Stage.DELIVERED:
        project.completion_date = today
    record_activity(
        session, actor, "stage_changed", "project", project.id, f"{current.label} → {target.label} ({cause})"
    )
    return True
