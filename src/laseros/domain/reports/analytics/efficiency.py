"""Efficiency: each job completed in the period, its estimated against its actual cut time.

A job is completed in the period when its queue item went Completed in it. Its actual minutes are
the cut minutes of all its completed runs; efficiency % = estimated ÷ actual × 100, so a job cut
faster than estimated is above 100 %. Badge: green at 90 % or more, red below 75 %, amber between.
Jobs without an estimate or without logged cut time have no efficiency and are counted apart.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.domain.admin.models import User
from laseros.domain.clients.models import Client
from laseros.domain.kernel.shop import ShopCalendar, thickness_label
from laseros.domain.operators.models import ExtraOperator
from laseros.domain.projects.models import Project
from laseros.domain.projects.stages import QueueStatus
from laseros.domain.queue.models import QueueItem
from laseros.domain.reports.analytics.period import Period
from laseros.domain.reports.analytics.sql import hundredths, raw
from laseros.domain.reports.analytics.tables import Column, Kind, Row, Table, one_place, percent
from laseros.domain.runs.calibration import CALIBRATION_JOBS, CALIBRATION_MINIMUM, Calibration, calibration_factors
from laseros.domain.runs.models import LaserRun, RunStatus

GREEN_FROM = Decimal(90)  # efficiency % at or above: on estimate
RED_BELOW = Decimal(75)  # below: well over the estimate
JOBS_PER_PAGE = 50
# The efficiency spread's bars: [low, high) in percent, and the badge they fall under.
SPREAD = (
    ("under 50 %", None, Decimal(50)),
    ("50–75 %", Decimal(50), Decimal(75)),
    ("75–90 %", Decimal(75), Decimal(90)),
    ("90–110 %", Decimal(90), Decimal(110)),
    ("110–130 %", Decimal(110), Decimal(130)),
    ("130 % and over", Decimal(130), None),
)


def badge(efficiency: Decimal | None) -> str:
    """green ≥ 90 %, red < 75 %, amber between (none without an efficiency)."""
    if efficiency is None:
        return ""
    if efficiency >= GREEN_FROM:
        return "green"
    return "red" if efficiency < RED_BELOW else "amber"


@dataclass(frozen=True)
class Job:
    project_id: int
    project_code: str
    name: str
    client_id: int
    client_name: str
    material_type: str
    thickness_mm: Decimal | None
    completed_at: datetime
    estimated_minutes: int | None
    actual_minutes: Decimal
    runs: int

    @property
    def measurable(self) -> bool:
        return bool(self.estimated_minutes) and self.actual_minutes > 0

    @property
    def variance_minutes(self) -> Decimal:
        """Actual minus estimated: positive when the job took longer than estimated."""
        return self.actual_minutes - Decimal(self.estimated_minutes or 0)

    @property
    def variance_percent(self) -> Decimal | None:
        return percent(self.variance_minutes, self.estimated_minutes or 0)

    @cached_property
    def efficiency(self) -> Decimal | None:
        return percent(self.estimated_minutes or 0, self.actual_minutes) if self.measurable else None

    @property
    def badge(self) -> str:
        return badge(self.efficiency)


@dataclass(frozen=True)
class Group:
    label: str
    jobs: int
    estimated_minutes: Decimal
    actual_minutes: Decimal
    red: int
    link: str | None = None

    @property
    def efficiency(self) -> Decimal | None:
        return percent(self.estimated_minutes, self.actual_minutes)


@dataclass(frozen=True)
class EfficiencyReport:
    period: Period
    jobs: list[Job]  # the measurable jobs, worst efficiency first
    unmeasured: int  # completed in the period without an estimate or without cut time
    page: int
    pages: int
    job_table: Table  # this page of jobs
    by_material: Table
    by_operator: Table
    calibration: Table
    calibrations: list[Calibration]
    spread: list[tuple[str, str, int]]  # label, badge, jobs
    calendar: ShopCalendar

    @property
    def estimated_minutes(self) -> Decimal:
        return sum((Decimal(j.estimated_minutes or 0) for j in self.jobs), Decimal(0))

    @property
    def actual_minutes(self) -> Decimal:
        return sum((j.actual_minutes for j in self.jobs), Decimal(0))

    @property
    def efficiency(self) -> Decimal | None:
        return percent(self.estimated_minutes, self.actual_minutes)

    @property
    def efficiency_badge(self) -> str:
        return badge(self.efficiency)

    @property
    def red(self) -> int:
        return sum(1 for j in self.jobs if j.badge == "red")

    def table(self, key: str, *, all_jobs: bool = False) -> Table | None:
        if key == "jobs" and all_jobs:
            return _job_table(self.jobs, "All jobs", self.calendar)
        return {t.key: t for t in self.tables}.get(key)

    @property
    def tables(self) -> list[Table]:
        return [self.job_table, self.by_material, self.by_operator, self.calibration]


async def completed_jobs(session: AsyncSession, calendar: ShopCalendar, period: Period) -> list[Job]:
    """Every job whose queue item went Completed in the period, with its actual cut minutes and runs."""
    first, last = period.utc_range(calendar)
    done = (
        select(QueueItem.project_id)
        .where(
            QueueItem.status == QueueStatus.COMPLETED.value,
            QueueItem.completed_at >= first,
            QueueItem.completed_at < last,
        )
        .scalar_subquery()
    )
    actual = (
        select(
            LaserRun.project_id.label("project_id"),
            func.sum(raw(LaserRun.cut_minutes)).label("minutes"),
            func.count(LaserRun.id).label("runs"),
        )
        .where(LaserRun.status == RunStatus.COMPLETED.value, LaserRun.project_id.in_(done))
        .group_by(LaserRun.project_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            Project.id,
            Project.project_code,
            Project.name,
            Client.id,
            Client.name,
            Project.material_type,
            Project.thickness_mm,
            QueueItem.completed_at,
            Project.estimated_cut_time,
            actual.c.minutes,
            actual.c.runs,
        )
        .select_from(QueueItem)
        .join(Project, Project.id == QueueItem.project_id)
        .join(Client, Client.id == Project.client_id)
        .outerjoin(actual, actual.c.project_id == Project.id)
        .where(
            QueueItem.status == QueueStatus.COMPLETED.value,
            QueueItem.completed_at >= first,
            QueueItem.completed_at < last,
        )
    )
    return [
        Job(pid, code, name, cid, cname, material, thickness, completed, estimate, hundredths(minutes), int(runs or 0))
        for pid, code, name, cid, cname, material, thickness, completed, estimate, minutes, runs in rows
    ]


JOB_COLUMNS = (
    Column("project_code", "Job"),
    Column("project_name", "Name"),
    Column("client", "Client"),
    Column("material_type", "Material"),
    Column("thickness_mm", "Thickness (mm)"),
    Column("completed_on", "Completed", Kind.DATE),
    Column("runs", "Runs", Kind.COUNT),
    Column("estimated_minutes", "Estimated min", Kind.MINUTES),
    Column("actual_minutes", "Actual min", Kind.MINUTES),
    Column("variance_minutes", "Variance min", Kind.MINUTES),
    Column("variance_percent", "Variance %", Kind.PERCENT),
    Column("efficiency_percent", "Efficiency %", Kind.PERCENT),
    Column("badge", "Badge", Kind.BADGE),
)


def _job_row(job: Job, calendar: ShopCalendar) -> Row:
    completed = calendar.local(job.completed_at).date()
    return Row(
        (
            job.project_code,
            job.name,
            job.client_name,
            job.material_type,
            thickness_label(job.thickness_mm) if job.thickness_mm is not None else "",
            completed,
            job.runs,
            one_place(Decimal(job.estimated_minutes or 0)),
            one_place(job.actual_minutes),
            one_place(job.variance_minutes),
            job.variance_percent,
            job.efficiency,
            job.badge,
        ),
        links={"project_code": f"/projects/{job.project_id}", "client": f"/clients/{job.client_id}"},
        badge=job.badge,
    )


def _job_table(jobs: list[Job], title: str, calendar: ShopCalendar) -> Table:
    return Table(
        key="jobs",
        title=title,
        columns=JOB_COLUMNS,
        rows=[_job_row(job, calendar) for job in jobs],
        empty="No job with an estimate and logged cut time was completed in this period.",
    )


GROUP_COLUMNS = (
    Column("jobs", "Jobs", Kind.COUNT),
    Column("estimated_minutes", "Estimated min", Kind.MINUTES),
    Column("actual_minutes", "Actual min", Kind.MINUTES),
    Column("efficiency_percent", "Efficiency %", Kind.PERCENT),
    Column("badge", "Badge", Kind.BADGE),
    Column("red_jobs", "Red jobs", Kind.COUNT),
)


def _group_row(first: tuple[Any, ...], group: Group, links: dict[str, str] | None = None) -> Row:
    return Row(
        (
            *first,
            group.jobs,
            one_place(group.estimated_minutes),
            one_place(group.actual_minutes),
            group.efficiency,
            badge(group.efficiency),
            group.red,
        ),
        links=links or {},
        badge=badge(group.efficiency),
    )


def _by_material(jobs: list[Job]) -> Table:
    groups: dict[tuple[str, Decimal | None], list[Job]] = defaultdict(list)
    for job in jobs:
        groups[(job.material_type, job.thickness_mm)].append(job)
    rows = []
    for (material, thickness), members in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        group = Group(
            material,
            len(members),
            sum((Decimal(j.estimated_minutes or 0) for j in members), Decimal(0)),
            sum((j.actual_minutes for j in members), Decimal(0)),
            sum(1 for j in members if j.badge == "red"),
        )
        rows.append(_group_row((material or "(no material)", thickness_label(thickness) if thickness else ""), group))
    return Table(
        key="by_material",
        title="By material and thickness",
        columns=(Column("material_type", "Material"), Column("thickness_mm", "Thickness (mm)"), *GROUP_COLUMNS),
        rows=rows,
        empty="No measured jobs in this period.",
        note="A group's efficiency is its jobs' estimated minutes ÷ their actual minutes.",
    )


async def _by_operator(session: AsyncSession, jobs: list[Job]) -> Table:
    """Each operator's cut minutes on the period's measured jobs, earning each job's estimate in
    proportion to their part of its cut time (so a shared job counts for both, fairly)."""
    by_id = {job.project_id: job for job in jobs}
    minutes: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    earned: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    worked: dict[tuple[str, int], set[int]] = defaultdict(set)
    red_jobs: dict[tuple[str, int], set[int]] = defaultdict(set)
    ids = list(by_id)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = await session.execute(
            select(
                LaserRun.project_id,
                LaserRun.extra_operator_id,
                LaserRun.operator_id,
                func.sum(raw(LaserRun.cut_minutes)),
            )
            .where(LaserRun.status == RunStatus.COMPLETED.value, LaserRun.project_id.in_(chunk))
            .group_by(LaserRun.project_id, LaserRun.extra_operator_id, LaserRun.operator_id)
        )
        for project_id, extra_id, user_id, total in rows:
            job = by_id[project_id]
            key = ("x", extra_id) if extra_id is not None else ("u", user_id)
            cut = hundredths(total)
            minutes[key] += cut
            earned[key] += Decimal(job.estimated_minutes or 0) * cut / job.actual_minutes
            if job.badge == "red":
                red_jobs[key].add(project_id)
            worked[key].add(project_id)
    users = dict(
        (
            await session.execute(
                select(User.id, User.display_name).where(User.id.in_([k[1] for k in minutes if k[0] == "u"]))
            )
        ).all()
    )
    extras = dict(
        (
            await session.execute(
                select(ExtraOperator.id, ExtraOperator.display_name).where(
                    ExtraOperator.id.in_([k[1] for k in minutes if k[0] == "x"])
                )
            )
        ).all()
    )
    people = []
    for key in minutes:
        kind, number = key
        name = (users if kind == "u" else extras).get(number, f"Operator {number}")
        url = f"/operators/{number}" if kind == "u" else f"/operators/extra/{number}"
        people.append((name, url, Group(name, len(worked[key]), earned[key], minutes[key], len(red_jobs[key]))))
    people.sort(key=lambda p: (p[2].efficiency if p[2].efficiency is not None else Decimal(0), p[0]))
    return Table(
        key="by_operator",
        title="By operator",
        columns=(Column("operator", "Operator"), *GROUP_COLUMNS),
        rows=[_group_row((name,), group, {"operator": url}) for name, url, group in people],
        empty="No measured jobs in this period.",
        note=(
            "Each operator's minutes on a job earn that job's estimate in proportion to their part of its cut "
            "time; jobs: the jobs they cut on."
        ),
    )


def _calibration_table(calibrations: list[Calibration]) -> Table:
    rows = [
        Row(
            (
                c.material_type or "(no material)",
                thickness_label(c.thickness_mm) if c.thickness_mm is not None else "",
                len(c.jobs),
                c.factor,
                "median" if c.applied else f"1.0 (fewer than {CALIBRATION_MINIMUM} jobs)",
                ", ".join(job.project_code for job in c.jobs),
            )
        )
        for c in sorted(calibrations, key=lambda c: (c.material_type, c.thickness_mm or 0))
    ]
    return Table(
        key="calibration",
        title="Calibration factors used by pricing",
        columns=(
            Column("material_type", "Material"),
            Column("thickness_mm", "Thickness (mm)"),
            Column("jobs", "Jobs", Kind.COUNT),
            Column("factor", "Factor", Kind.FACTOR),
            Column("basis", "Basis"),
            Column("job_codes", "Jobs (newest first)"),
        ),
        rows=rows,
        empty="No completed job has an estimate and logged cut time yet: every factor is 1.0.",
        note=(
            f"The median of actual ÷ estimated cut time over the last {CALIBRATION_JOBS} completed jobs of each "
            f"material and thickness, whatever the period; 1.0 with fewer than {CALIBRATION_MINIMUM}."
        ),
    )


async def efficiency_report(
    session: AsyncSession, calendar: ShopCalendar, period: Period, page: int = 1
) -> EfficiencyReport:
    """The efficiency report for ``period``; ``page`` pages the job list (worst efficiency first)."""
    everything = await completed_jobs(session, calendar, period)
    jobs = sorted(
        (job for job in everything if job.measurable),
        key=lambda j: (j.efficiency or Decimal(0), j.completed_at, j.project_id),
    )
    pages = max(1, -(-len(jobs) // JOBS_PER_PAGE))
    page = min(max(1, page), pages)
    shown = jobs[(page - 1) * JOBS_PER_PAGE : page * JOBS_PER_PAGE]
    spread = []
    for label, low, high in SPREAD:
        count = sum(
            1
            for j in jobs
            if j.efficiency is not None
            and (low is None or j.efficiency >= low)
            and (high is None or j.efficiency < high)
        )
        spread.append((label, badge(low if low is not None else Decimal(0)), count))
    calibrations = await calibration_factors(session)
    title = "Jobs, worst efficiency first" + (f" (page {page} of {pages})" if pages > 1 else "")
    return EfficiencyReport(
        period=period,
        jobs=jobs,
        unmeasured=len(everything) - len(jobs),
        page=page,
        pages=pages,
        job_table=_job_table(shown, title, calendar),
        by_material=_by_material(jobs),
        by_operator=await _by_operator(session, jobs),
        calibration=_calibration_table(calibrations),
        calibrations=calibrations,
        spread=spread,
        calendar=calendar,
    )
