"""The shop's calibration factors: how its actual cut times compare with the estimates (SPEC §8.2).

For each material and thickness: the median of actual ÷ estimated cut minutes over the last
``CALIBRATION_JOBS`` completed jobs of that sheet, or 1.0 while fewer than ``CALIBRATION_MINIMUM``
such jobs exist. A job counts when its queue item is Completed, it has an estimated cut time and
its completed runs logged some cut time. ``calibration_factors`` is the one place this is
computed: the efficiency report shows it and pricing applies it (``calibration_for``).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import BigInteger, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.domain.projects.models import Project
from laseros.domain.projects.stages import QueueStatus
from laseros.domain.queue.models import QueueItem
from laseros.domain.runs.models import LaserRun, RunStatus

CALIBRATION_JOBS = 30  # the last this many completed jobs of a sheet
CALIBRATION_MINIMUM = 5  # fewer than this: no factor (1.0)
NEUTRAL = Decimal("1.000")


@dataclass(frozen=True)
class CalibrationJob:
    project_id: int
    project_code: str
    completed_at: datetime
    estimated_minutes: int
    actual_minutes: Decimal

    @property
    def ratio(self) -> Decimal:
        """Actual ÷ estimated cut time."""
        return self.actual_minutes / Decimal(self.estimated_minutes)


@dataclass(frozen=True)
class Calibration:
    material_type: str
    thickness_mm: Decimal | None
    jobs: list[CalibrationJob]  # newest first, at most CALIBRATION_JOBS

    @property
    def applied(self) -> bool:
        """Whether there are enough jobs for the factor to be the median rather than 1.0."""
        return len(self.jobs) >= CALIBRATION_MINIMUM

    @property
    def factor(self) -> Decimal:
        """Median actual ÷ estimated over the jobs (three decimals, half up); 1.000 with too few jobs."""
        if not self.applied:
            return NEUTRAL
        median = statistics.median(job.ratio for job in self.jobs)
        return Decimal(median).quantize(NEUTRAL, rounding=ROUND_HALF_UP)


async def _actual_minutes(session: AsyncSession, project_ids: list[int]) -> dict[int, Decimal]:
    """Each job's cut minutes over its completed runs (the project and status index)."""
    found: dict[int, Decimal] = {}
    for start in range(0, len(project_ids), 500):
        chunk = project_ids[start : start + 500]
        for project_id, total in await session.execute(
            select(LaserRun.project_id, func.sum(type_coerce(LaserRun.cut_minutes, BigInteger)))
            .where(LaserRun.project_id.in_(chunk), LaserRun.status == RunStatus.COMPLETED.value)
            .group_by(LaserRun.project_id)
        ):
            found[project_id] = Decimal(int(total or 0)) / 100
    return found


async def _sheet_calibration(session: AsyncSession, material_type: str, thickness_mm: Decimal | None) -> Calibration:
    """The last completed jobs of one sheet, newest first, read a few more at a time until
    ``CALIBRATION_JOBS`` of them have logged cut time or there are no more."""
    jobs: list[CalibrationJob] = []
    offset, batch = 0, 2 * CALIBRATION_JOBS
    thickness = Project.thickness_mm.is_(None) if thickness_mm is None else Project.thickness_mm == thickness_mm
    while len(jobs) < CALIBRATION_JOBS:
        rows = (
            await session.execute(
                select(Project.id, Project.project_code, QueueItem.completed_at, Project.estimated_cut_time)
                .join(QueueItem, QueueItem.project_id == Project.id)
                .where(
                    Project.material_type == material_type,
                    thickness,
                    Project.estimated_cut_time > 0,
                    QueueItem.status == QueueStatus.COMPLETED.value,
                    QueueItem.completed_at.is_not(None),
                )
                .order_by(QueueItem.completed_at.desc(), Project.id.desc())
                .limit(batch)
                .offset(offset)
            )
        ).all()
        actual = await _actual_minutes(session, [row[0] for row in rows])
        for project_id, code, completed_at, estimate in rows:
            minutes = actual.get(project_id, Decimal(0))
            if minutes > 0 and len(jobs) < CALIBRATION_JOBS:
                jobs.append(CalibrationJob(project_id, code, completed_at, int(estimate), minutes))
        if len(rows) < batch:
            break
        offset, batch = offset + batch, batch * 4
    return Calibration(material_type, thickness_mm, jobs)


async def calibration_factors(
    session: AsyncSession, material_type: str | None = None, thickness_mm: Decimal | None = None
) -> list[Calibration]:
    """The calibration of every material and thickness the shop's jobs use (or of the one asked for).

    One short statement per sheet (its newest completed jobs, through the projects' material index
    and the queue's completion index) and one for their runs: the cost does not grow with history.
    Sheets without a measured job are left out of the list (their factor is 1.0).
    """
    if material_type is not None:
        sheets = [(material_type, thickness_mm)]
    else:
        sheets = [
            (material, thickness)
            for material, thickness in await session.execute(
                select(Project.material_type, Project.thickness_mm)
                .where(Project.estimated_cut_time > 0)
                .distinct()
                .order_by(Project.material_type, Project.thickness_mm)
            )
        ]
    found = [await _sheet_calibration(session, material, thickness) for material, thickness in sheets]
    return [calibration for calibration in found if calibration.jobs]


async def calibration_for(session: AsyncSession, material_type: str, thickness_mm: Decimal | None) -> Calibration:
    """The calibration pricing applies to a job of this material and thickness (1.0 without history)."""
    found = await calibration_factors(session, material_type, thickness_mm)
    return found[0] if found else Calibration(material_type, thickness_mm, [])
