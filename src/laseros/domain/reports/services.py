"""Read-only summaries across areas (the dashboard today; production reports later)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.db import UnitOfWork
from laseros.domain.clients.models import Client
from laseros.domain.clients.services import ClientService
from laseros.domain.inventory.models import InventoryItem
from laseros.domain.inventory.services import InventoryService
from laseros.domain.inventory.stock import StockBadge
from laseros.domain.kernel.actor import SYSTEM
from laseros.domain.kernel.models import ActivityLog
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.notifications.models import Notification, NotificationType
from laseros.domain.projects.models import Project
from laseros.domain.projects.services import ProjectService
from laseros.domain.projects.stages import Stage
from laseros.domain.queue.models import QueueItem
from laseros.domain.queue.services import QueueService
from laseros.domain.queue.state import JobState, running_by_project
from laseros.domain.reports.models import DailyReport
from laseros.domain.runs.models import LaserRun
from laseros.domain.runs.services import RunService


@dataclass(frozen=True)
class Attention:
    """The dashboard's attention cards: what needs someone today."""

    low_stock: int  # stock items below their minimum
    approval_wait: int  # open "waiting on client approval" notifications (quotes past their limit)
    ready: int  # projects ready for pickup
    waiting_material: int  # projects blocked by material


@dataclass(frozen=True)
class ReportHighlights:
    """The latest daily report, as the dashboard shows it."""

    id: int
    report_date: date
    highlights: dict[str, Any]


@dataclass(frozen=True)
class DashboardSummary:
    clients: int
    projects: int
    active_projects: int
    queue_length: int
    runs_going: int
    recent_clients: list[Client]
    recent_projects: list[Project]
    next_in_queue: list[QueueItem]
    next_states: dict[int, JobState]
    attention: Attention
    latest_report: ReportHighlights | None


async def attention_counts(session: AsyncSession, low_stock: int) -> Attention:
    """The three project counts in one statement (stage index; the open-notifications partial index)."""

    def in_stage(stage: Stage) -> Any:
        return select(func.count()).select_from(Project).where(Project.stage == stage.value).scalar_subquery()

    approval = (
        select(func.count())
        .select_from(Notification)
        .where(Notification.resolved_at.is_(None), Notification.notif_type == NotificationType.APPROVAL_WAIT.value)
        .scalar_subquery()
    )
    row = (await session.execute(select(approval, in_stage(Stage.READY), in_stage(Stage.WAITING_MATERIAL)))).one()
    return Attention(low_stock=low_stock, approval_wait=row[0], ready=row[1], waiting_material=row[2])


async def latest_report_highlights(session: AsyncSession) -> ReportHighlights | None:
    row = (
        await session.execute(
            select(DailyReport.id, DailyReport.report_date, DailyReport.highlights)
            .order_by(DailyReport.report_date.desc())
            .limit(1)
        )
    ).first()
    return ReportHighlights(row[0], row[1], row[2] or {}) if row else None


async def dashboard_summary(session: UnitOfWork, calendar: ShopCalendar) -> DashboardSummary:
    """Stat and attention cards, the latest daily report's highlights, five recent clients and projects,
    and the next five jobs to cut."""
    clients = ClientService(session, SYSTEM)
    projects = ProjectService(session, SYSTEM, calendar)
    queue = QueueService(session, SYSTEM, calendar)
    total, active = await projects.counts()
    runs = RunService(session, SYSTEM, calendar)
    low_stock = (await InventoryService(session, SYSTEM, calendar).summary()).low
    next_up = await queue.next_up()
    return DashboardSummary(
        clients=await clients.count(),
        projects=total,
        active_projects=active,
        queue_length=await queue.active_count(),
        runs_going=await runs.running_count(),
        recent_clients=await clients.recent(),
        recent_projects=await projects.recent(),
        next_in_queue=next_up,
        next_states=await queue.job_states(next_up),
        attention=await attention_counts(session, low_stock),
        latest_report=await latest_report_highlights(session),
    )


@dataclass(frozen=True)
class ProjectOverview:
    """Everything the project page shows beside the project itself."""

    project: Project
    position: int | None
    stock_badge: str | None
    state: JobState
    stock_item: InventoryItem | None
    runs: list[LaserRun]
    timeline: list[ActivityLog]


async def project_overview(session: UnitOfWork, calendar: ShopCalendar, project_id: int) -> ProjectOverview:
    """The project with its queue place and stock badge, the sheet's stock, recent runs and timeline."""
    projects = ProjectService(session, SYSTEM, calendar)
    queue = QueueService(session, SYSTEM, calendar)
    project = await projects.get(project_id)
    item = project.queue_item
    badge = await queue.stock_badge(project)
    running = await running_by_project(session, [project.id])
    return ProjectOverview(
        project=project,
        position=await queue.position(item) if item else None,
        stock_badge=badge,
        state=JobState(Stage(project.stage), StockBadge(badge) if badge else None, running.get(project.id)),
        stock_item=await InventoryService(session, SYSTEM, calendar).sheet_for(project),
        runs=await RunService(session, SYSTEM, calendar).for_project(project.id, limit=20),
        timeline=await projects.timeline(project),
    )
