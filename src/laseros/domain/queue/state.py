"""What state a job is in, said once: every page that shows a job shows this.

A job's stage, its queue item's status, whether a run is going (and whose) and whether stock
covers it are four facts that can each be true on their own; people need one answer. A job
waiting on material is not "Queued" whatever its queue item says; a job "In Progress" with no
run going says so; a queued job the shelf does not cover shows it is blocked. The queue, the
project page, the phone, the dashboard and the daily report all read ``JobState``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from laseros.db import built_once
from laseros.domain.inventory.stock import StockBadge
from laseros.domain.projects.stages import Stage
from laseros.domain.runs.models import LaserRun, RunStatus


@dataclass(frozen=True)
class RunningRun:
    run_id: int
    who: str  # whom the run counts for
    started_at: datetime


@dataclass(frozen=True)
class JobState:
    stage: Stage
    stock: StockBadge | None
    run: RunningRun | None

    @property
    def blocked(self) -> bool:
        """Stock does not cover it: waiting on material, or queued behind jobs that take the sheets."""
        return self.stock in (StockBadge.BLOCKED, StockBadge.SHORT) or self.stage == Stage.WAITING_MATERIAL

    @property
    def label(self) -> str:
        """The one phrase for the job's state ("Waiting on material", "Cutting — Themba", …)."""
        if self.stage == Stage.WAITING_MATERIAL:
            return "Waiting on material"
        if self.stage == Stage.QUEUED:
            return "Queued — short of sheets" if self.blocked else "Queued"
        if self.stage == Stage.CUTTING:
            return f"Cutting — {self.run.who}" if self.run else "Cutting — no run going"
        return self.stage.label

    @property
    def tone(self) -> str:
        """A CSS hint beside the words (never the only signal): blocked, running, idle, ok or done."""
        if self.blocked and self.stage in (Stage.WAITING_MATERIAL, Stage.QUEUED):
            return "blocked"
        if self.stage == Stage.CUTTING:
            return "running" if self.run else "idle"
        if self.stage in (Stage.READY, Stage.DELIVERED):
            return "done"
        return "ok"


@built_once
def _running_statement() -> Select[LaserRun]:
    return (
        select(LaserRun)
        .where(
            LaserRun.project_id.in_(bindparam("project_ids", expanding=True)),
            LaserRun.status == RunStatus.RUNNING.value,
        )
        .options(joinedload(LaserRun.operator), joinedload(LaserRun.extra_operator))
        .order_by(LaserRun.started_at.desc())
    )


async def running_by_project(session: AsyncSession, project_ids: Iterable[int]) -> dict[int, RunningRun]:
    """The run going now on each of these projects (the earliest, if two people cut one job), in one query."""
    ids = sorted(set(project_ids))
    if not ids:
        return {}
    runs = await session.scalars(_running_statement(), {"project_ids": ids})
    return {run.project_id: RunningRun(run.id, run.attributed_to, run.started_at) for run in runs}
