"""Read-only summaries across areas (the dashboard today; production reports later)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from laseros.domain.admin.models import ActivityLog
from laseros.domain.admin.services import SYSTEM
from laseros.domain.clients.models import Client
from laseros.domain.clients.services import ClientService
from laseros.domain.inventory.models import InventoryItem
from laseros.domain.inventory.services import InventoryService
from laseros.domain.projects.models import Project
from laseros.domain.projects.services import ProjectService
from laseros.domain.queue.models import QueueItem
from laseros.domain.queue.services import QueueService
from laseros.domain.runs.models import LaserRun
from laseros.domain.runs.services import RunService
from laseros.domain.shop import ShopCalendar


@dataclass(frozen=True)
class DashboardSummary:
    clients: int
    projects: int
    active_projects: int
    queue_length: int
    low_stock: int
    runs_going: int
    recent_clients: list[Client]
    recent_projects: list[Project]
    next_in_queue: list[QueueItem]


async def dashboard_summary(session: AsyncSession, calendar: ShopCalendar) -> DashboardSummary:
    """Stat cards, five recent clients and projects, and the next five jobs to cut."""
    clients = ClientService(session, SYSTEM)
    projects = ProjectService(session, SYSTEM, calendar)
    queue = QueueService(session, SYSTEM, calendar)
    total, active = await projects.counts()
    runs = RunService(session, SYSTEM, calendar)
    return DashboardSummary(
        clients=await clients.count(),
        projects=total,
        active_projects=active,
        queue_length=await queue.active_count(),
        low_stock=(await InventoryService(session, SYSTEM, calendar).summary()).low,
        runs_going=await runs.running_count(),
        recent_clients=await clients.recent(),
        recent_projects=await projects.recent(),
        next_in_queue=await queue.next_up(),
    )


@dataclass(frozen=True)
class ProjectOverview:
    """Everything the project page shows beside the project itself."""

    project: Project
    position: int | None
    stock_badge: str | None
    stock_item: InventoryItem | None
    runs: list[LaserRun]
    timeline: list[ActivityLog]


async def project_overview(session: AsyncSession, calendar: ShopCalendar, project_id: int) -> ProjectOverview:
    """The project with its queue place and stock badge, the sheet's stock, recent runs and timeline."""
    projects = ProjectService(session, SYSTEM, calendar)
    queue = QueueService(session, SYSTEM, calendar)
    project = await projects.get(project_id)
    item = project.queue_item
    return ProjectOverview(
        project=project,
        position=await queue.position(item) if item else None,
        stock_badge=await queue.stock_badge(project),
        stock_item=await InventoryService(session, SYSTEM, calendar).sheet_for(project),
        runs=await RunService(session, SYSTEM, calendar).for_project(project.id, limit=20),
        timeline=await projects.timeline(project),
    )
