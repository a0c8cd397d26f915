"""The one place a project's stage is written: stamps the time and logs who or what caused it."""

from __future__ import annotations

from datetime import date

from laseros.db import UnitOfWork, utcnow
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import Actor
from laseros.domain.notifications.watch import watch_project
from laseros.domain.projects.models import Project
from laseros.domain.projects.stages import Stage


async def set_stage(
    session: UnitOfWork, project: Project, target: Stage, actor: Actor, cause: str, *, today: date
) -> bool:
    """Move ``project`` to ``target`` inside the caller's transaction; False if it was already there.

    The project's notifications and drafts are re-evaluated before that transaction commits.
    """
    current = Stage(project.stage)
    if current == target:
        return False
    watch_project(session, project.id, stage_changed=True)
    project.stage = target.value
    project.stage_changed_at = utcnow()
    if target == Stage.DELIVERED:
        project.completion_date = today
    record_activity(
        session, actor, "stage_changed", "project", project.id, f"{current.label} → {target.label} ({cause})"
    )
    return True
