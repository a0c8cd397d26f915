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
from typing import TypeVar

from sqlalchemy import BigInteger, Select, func, select, type_coerce
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


Sheet = tuple[str, Decimal | None]
Candidate = tuple[int, str, datetime, int]  # project id, code, completed at, estimated minutes
RECENT_SCAN = 1500  # the newest completed jobs read in one pass; the common sheets find their jobs there


SelectT = TypeVar("SelectT", bound=Select)  # any select, whatever its row type


def _completed(query: SelectT) -> SelectT:
    return query.where(
        Project.estimated_cut_time > 0,
        QueueItem.status == QueueStatus.COMPLETED.value,
        QueueItem.completed_at.is_not(None),
    )


async def _newest_of_sheet(session: AsyncSession, sheet: Sheet, limit: int, offset: int = 0) -> list[Candidate]:
    """One sheet's newest completed jobs (through the projects' material index: a rare sheet is cheap)."""
    material, thickness = sheet
    same = Project.thickness_mm.is_(None) if thickness is None else Project.thickness_mm == thickness
    rows = await session.execute(
        _completed(
            select(Project.id, Project.project_code, QueueItem.completed_at, Project.estimated_cut_time)
            .join(QueueItem, QueueItem.project_id == Project.id)
            .where(Project.material_type == material, same)
        )
        .order_by(QueueItem.completed_at.desc(), Project.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [(pid, code, done, int(estimate or 0)) for pid, code, done, estimate in rows if done is not None]


async def _measured(
    session: AsyncSession,
    sheet: Sheet,
    candidates: list[Candidate],
    complete: bool,
    actual: dict[int, Decimal] | None = None,
) -> Calibration:
    """The sheet's newest ``CALIBRATION_JOBS`` candidates with logged cut time; reads further back
    when too many of the candidates have none (``complete``: the candidates are all there is;
    ``actual``: their cut minutes, when already summed)."""
    candidates = sorted(candidates, key=lambda c: (c[2], c[0]), reverse=True)
    jobs: list[CalibrationJob] = []
    offset = 0
    while True:
        if actual is None:
            actual = await _actual_minutes(session, [c[0] for c in candidates])
        for project_id, code, completed_at, estimate in candidates:
            minutes = actual.get(project_id, Decimal(0))
            if minutes > 0 and len(jobs) < CALIBRATION_JOBS:
                jobs.append(CalibrationJob(project_id, code, completed_at, estimate, minutes))
        if len(jobs) >= CALIBRATION_JOBS or complete:
            return Calibration(sheet[0], sheet[1], jobs)
        offset += len(candidates)
        batch = max(4 * len(candidates), 2 * CALIBRATION_JOBS)
        candidates = await _newest_of_sheet(session, sheet, batch, offset)
        complete = len(candidates) < batch
        actual = None


async def calibration_factors(
    session: AsyncSession, material_type: str | None = None, thickness_mm: Decimal | None = None
) -> list[Calibration]:
    """The calibration of every material and thickness with measured jobs (or of the one asked for).

    The newest ``RECENT_SCAN`` completed jobs are read in one pass down the queue's completion
    index; a sheet that does not find enough of its jobs there reads its own through the
    projects' material index, and the chosen jobs' runs are summed: the cost does not grow with
    the years of history. A sheet without a measured job is left out (its factor is 1.0).
    """
    wanted = CALIBRATION_JOBS + 10  # a few spare, for jobs without logged cut time
    if material_type is not None:
        sheet = (material_type, thickness_mm)
        candidates = await _newest_of_sheet(session, sheet, wanted)
        found = await _measured(session, sheet, candidates, len(candidates) < wanted)
        return [found] if found.jobs else []
    recent = (
        await session.execute(
            _completed(
                select(
                    Project.material_type,
                    Project.thickness_mm,
                    Project.id,
                    Project.project_code,
                    QueueItem.completed_at,
                    Project.estimated_cut_time,
                ).join(Project, Project.id == QueueItem.project_id)
            )
            .order_by(QueueItem.completed_at.desc())
            .limit(RECENT_SCAN)
        )
    ).all()
    by_sheet: dict[Sheet, list[Candidate]] = {}
    for material, thickness, pid, code, done, estimate in recent:
        if done is not None:
            by_sheet.setdefault((material, thickness), []).append((pid, code, done, int(estimate or 0)))
    everything = len(recent) < RECENT_SCAN
    if not everything:  # sheets seen rarely lately, or not at all, read their own newest jobs
        sheets = (
            await session.execute(
                select(Project.material_type, Project.thickness_mm).where(Project.estimated_cut_time > 0).distinct()
            )
        ).all()
        for material, thickness in sheets:
            if len(by_sheet.get((material, thickness), [])) < wanted:
                by_sheet[(material, thickness)] = await _newest_of_sheet(session, (material, thickness), wanted)
    chosen = {sheet: candidates[:wanted] for sheet, candidates in by_sheet.items()}
    actual = await _actual_minutes(session, [c[0] for candidates in chosen.values() for c in candidates])
    calibrations = []
    for sheet in sorted(chosen, key=lambda s: (s[0], s[1] or Decimal(0))):
        candidates = chosen[sheet]
        complete = everything or len(by_sheet[sheet]) < wanted
        found = await _measured(session, sheet, candidates, complete, actual)
        if found.jobs:
            calibrations.append(found)
    return calibrations


async def calibration_for(session: AsyncSession, material_type: str, thickness_mm: Decimal | None) -> Calibration:
    """The calibration pricing applies to a job of this material and thickness (1.0 without history)."""
    found = await calibration_factors(session, material_type, thickness_mm)
    return found[0] if found else Calibration(material_type, thickness_mm, [])
