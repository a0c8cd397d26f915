"""Projects: create and edit, stage changes through the transition table, and POP received."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager, load_only, selectinload

from laseros.db import UnitOfWork, action
from laseros.domain.clients.models import Client
from laseros.domain.comms.services import queue_pop_confirmation
from laseros.domain.inventory.stock import shortfall, stock_is_available
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.errors import Conflict, InvalidInput, NotFound
from laseros.domain.kernel.models import ActivityLog
from laseros.domain.kernel.paging import Export, Page, paginate
from laseros.domain.kernel.search import contains, has_index, indexed_contains, indexed_count
from laseros.domain.kernel.shop import POP_PAYMENT_DAYS, ShopCalendar
from laseros.domain.notifications.watch import watch_project
from laseros.domain.presets.services import active_preset_id
from laseros.domain.projects.lifecycle import set_stage
from laseros.domain.projects.models import Project
from laseros.domain.projects.schemas import ProjectInput
from laseros.domain.projects.stages import (
    ACTIVE_STAGES,
    POP_FROM,
    STAGE_TO_QUEUE_STATUS,
    Stage,
    can_move,
    refusal,
)
from laseros.domain.queue.services import QueueService, apply_queue_status
from laseros.domain.runs.models import LaserRun

# The projects' trigram index (migration 0017), and the number of matches up to which a search's page
# is fetched through it rather than by the newest-first walk (measured on 50 000 projects: 4 000
# matches take 9 ms through the index and 0.2 ms by the walk; none take 0.02 ms and 25 ms).
SEARCH_INDEX = "projects_search"
FEW_MATCHES = 300

EXPORT_COLUMNS = (
    "id", "project_code", "client_id", "client_code", "client_name", "name", "description", "material_type",
    "thickness_mm", "sheet_size", "sheets_required", "parts_quantity", "estimated_cut_time", "quoted_price",
    "due_date", "stage", "stage_changed_at", "pop_received", "pop_received_date", "pop_deadline",
    "completion_date", "created_at", "updated_at",
)  # fmt: skip
_CLIENT_EXPORT_COLUMNS = {"client_code": Client.client_code, "client_name": Client.name}


# What a row of the projects list shows (anything else raises: a row that starts showing more must say so).
_LIST_COLUMNS = (
    Project.id, Project.project_code, Project.name, Project.client_id, Project.stage, Project.material_type,
    Project.thickness_mm, Project.sheets_required, Project.due_date, Project.quoted_price,
)  # fmt: skip


def _list_rows(filtered: Select[Project]) -> Select[Project]:
    """``filtered`` as the list's rows: those columns, and the client's name from a join (one statement)."""
    return (
        filtered.join(Project.client)
        .options(load_only(*_LIST_COLUMNS, raiseload=True))
        .options(contains_eager(Project.client).load_only(Client.name, raiseload=True))
    )


def _counted(filtered: Select[Project]) -> Select[int]:
    """How many projects ``filtered`` finds: a COUNT on its own filters (no join, no subquery)."""
    return filtered.with_only_columns(func.count(Project.id)).order_by(None)


@dataclass(frozen=True)
class ProjectFilters:
    stage: str = ""
    client_id: int | None = None
    q: str = ""
    pop_expiring: bool = False


async def add_project(
    session: AsyncSession, actor: Actor, calendar: ShopCalendar, client: Client, data: ProjectInput
) -> Project:
    """A new project in Request with the client's next JB code, in the caller's transaction.

    The one place a project is made: the projects page, and an email from a known client
    (``comms.inbound``).
    """
    seq = await session.scalar(
        update(Client)
        .where(Client.id == client.id)
        .values(project_seq=Client.project_seq + 1)
        .returning(Client.project_seq)
    )
    today = calendar.today()
    project = Project(
        project_code=f"JB-{today:%Y-%m}-{client.compact_code}-{seq:03d}",
        stage=Stage.REQUEST.value,
        preset_id=await active_preset_id(session, data.material_type, data.thickness_mm),
        **data.as_dict(),
    )
    session.add(project)
    await session.flush()
    record_activity(session, actor, "created", "project", project.id, f"{project.project_code} {project.name}")
    return project


class ProjectService:
    def __init__(self, session: UnitOfWork, actor: Actor, calendar: ShopCalendar) -> None:
        self.session = session
        self.actor = actor
        self.calendar = calendar

    # -- reading -----------------------------------------------------------------------------

    def search_query(self, filters: ProjectFilters, *, indexed: bool = True) -> Select[Project]:
        """The filtered projects, newest first. ``indexed=False``: the text term as a plain LIKE (see ``list``)."""
        stmt = select(Project).order_by(Project.created_at.desc(), Project.id.desc())
        if filters.stage:
            stmt = stmt.where(Project.stage == filters.stage)
        if filters.client_id:
            stmt = stmt.where(Project.client_id == filters.client_id)
        if term := filters.q.strip():
            searched = [Project.name, Project.project_code]
            if indexed:
                stmt = stmt.where(indexed_contains(self.session, SEARCH_INDEX, Project.id, searched, term))
            else:
                stmt = stmt.where(or_(*(contains(self.session, column, term) for column in searched)))
        if filters.pop_expiring:
            today = self.calendar.today()
            stmt = stmt.where(
                Project.pop_received.is_(False),
                Project.pop_deadline.is_not(None),
                Project.pop_deadline <= today + timedelta(days=3),
            )
        return stmt

    def export(self, filters: ProjectFilters) -> Export:
        """The filtered projects as ``EXPORT_COLUMNS`` rows (with their client's code and name), streamed."""
        columns: builtins.list[Any] = [
            _CLIENT_EXPORT_COLUMNS.get(name, getattr(Project, name, None)) for name in EXPORT_COLUMNS
        ]
        stmt = self.search_query(filters).join(Project.client).with_only_columns(*columns)
        return Export("projects.csv", EXPORT_COLUMNS, stmt)

    async def list(self, filters: ProjectFilters, page: int = 1, per_page: int = 25) -> Page[Project]:
        """A page of the filtered projects, each with what its row shows of it and of its client."""
        term = filters.q.strip()
        if not term or not has_index(self.session, term):
            filtered = self.search_query(filters)
            return await paginate(self.session, _list_rows(filtered), page, per_page, count=_counted(filtered))
        # A text search: counted from the trigram index. The page then comes from the index when the
        # matches are few; when they are many, the newest-first walk meets a page of them at once,
        # sooner than fetching and sorting thousands of matches (docs/performance.md).
        only_text = replace(filters, q="") == ProjectFilters()  # no other filter: the index counts alone
        if only_text:
            total = await self.session.scalar(indexed_count(SEARCH_INDEX, term)) or 0
        else:
            total = await self.session.scalar(_counted(self.search_query(filters))) or 0
        stmt = _list_rows(self.search_query(filters, indexed=total <= FEW_MATCHES))
        return await paginate(self.session, stmt, page, per_page, total=total)

    async def get(self, project_id: int) -> Project:
        project = await self.session.scalar(
            select(Project)
            .where(Project.id == project_id)
            .options(selectinload(Project.client), selectinload(Project.queue_item), selectinload(Project.preset))
        )
        if project is None:
            raise NotFound(f"Project {project_id} does not exist.")
        return project

    async def for_client(self, client_id: int, limit: int = 200) -> builtins.list[Project]:
        return list(
            await self.session.scalars(
                select(Project)
                .where(Project.client_id == client_id)
                .order_by(Project.created_at.desc(), Project.id.desc())
                .limit(limit)
            )
        )

    async def recent(self, limit: int = 5) -> builtins.list[Project]:
        return list(
            await self.session.scalars(
                select(Project).options(selectinload(Project.client)).order_by(Project.id.desc()).limit(limit)
            )
        )

    async def counts(self) -> tuple[int, int]:
        """(all projects, active projects)."""
        total = await self.session.scalar(select(func.count(Project.id))) or 0
        active = (
            await self.session.scalar(
                select(func.count(Project.id)).where(Project.stage.in_([s.value for s in ACTIVE_STAGES]))
            )
            or 0
        )
        return total, active

    async def timeline(self, project: Project, limit: int = 100) -> builtins.list[ActivityLog]:
        """Activity on the project and its queue item, newest first."""
        conditions = [(ActivityLog.entity_type == "project") & (ActivityLog.entity_id == project.id)]
        if project.queue_item is not None:
            conditions.append((ActivityLog.entity_type == "queue") & (ActivityLog.entity_id == project.queue_item.id))
        return list(
            await self.session.scalars(
                select(ActivityLog)
                .where(or_(*conditions))
                .order_by(ActivityLog.created_at.desc(), ActivityLog.id.desc())
                .limit(limit)
            )
        )

    # -- writing -----------------------------------------------------------------------------

    async def _require_client(self, client_id: int) -> Client:
        client = await self.session.get(Client, client_id)
        if client is None:
            raise InvalidInput({"client_id": "Choose a client from the list."})
        return client

    @action
    async def create(self, data: ProjectInput) -> Project:
        """Create a project in Request with the client's next JB code. Commits."""
        client = await self._require_client(data.client_id)
        project = await add_project(self.session, self.actor, self.calendar, client, data)
        await self.session.commit()
        return project

    @action
    async def update(self, project_id: int, data: ProjectInput) -> Project:
        """Save edited project details (not its stage). Commits."""
        project = await self.get(project_id)
        if data.client_id != project.client_id:
            await self._require_client(data.client_id)
        changed = [k for k, v in data.as_dict().items() if getattr(project, k) != v]
        for key, value in data.as_dict().items():
            setattr(project, key, value)
        if project.queue_item is not None and "estimated_cut_time" in changed:
            project.queue_item.estimated_minutes = data.estimated_cut_time
        if "material_type" in changed or "thickness_mm" in changed:
            project.preset_id = await active_preset_id(self.session, data.material_type, data.thickness_mm)
        record_activity(
            self.session,
            self.actor,
            "updated",
            "project",
            project.id,
            "Changed: " + (", ".join(changed) or "nothing"),
        )
        watch_project(self.session, project.id)  # e.g. a material change attaching (or losing) a preset
        await self.session.commit()
        return project

    @action
    async def delete(self, project_id: int) -> str:
        """Delete a project with its queue item; one with production runs is kept (cancel it instead). Commits."""
        project = await self.get(project_id)
        runs = await self.session.scalar(select(func.count(LaserRun.id)).where(LaserRun.project_id == project_id))
        if runs:
            raise Conflict(
                f"{project.project_code} has {runs} production run(s) on record, so it cannot be deleted; "
                "cancel it instead to keep the production history."
            )
        label = f"{project.project_code} {project.name}"
        await self.session.delete(project)
        record_activity(self.session, self.actor, "deleted", "project", project_id, label)
        await self.session.commit()
        return label

    @action
    async def change_stage(self, project_id: int, target: Stage) -> Project:
        """A manual stage change through the transition table; the queue item follows. Commits."""
        project = await self.get(project_id)
        current = Stage(project.stage)
        if not can_move(current, target):
            raise Conflict(refusal(current, target))
        if target == Stage.QUEUED and (short := await shortfall(self.session, project, project.queue_item)):
            raise Conflict(
                f"{short.says()}: {project.project_code} waits on material until the sheets are recorded "
                "(a purchase or an adjustment on the stock item queues it by itself)."
            )
        today = self.calendar.today()
        await set_stage(self.session, project, target, self.actor, "changed by hand", today=today)
        item = project.queue_item
        follow = STAGE_TO_QUEUE_STATUS.get(target)
        if item is not None and follow is not None and item.status != follow.value:
            item.project = project
            await apply_queue_status(self.session, item, follow, self.actor, today=today, cause="project stage")
        await self.session.commit()
        return project

    @action
    async def mark_pop_received(self, project_id: int) -> Project:
        """POP received: payment dates, a queue item at the end, and queued or waiting_material. Commits."""
        project = await self.get(project_id)
        if project.pop_received:
            raise Conflict(f"POP was already received for {project.project_code} on {project.pop_received_date}.")
        current = Stage(project.stage)
        if current not in POP_FROM:
            raise Conflict(
                f"POP can only be marked for a project in {' or '.join(s.label for s in POP_FROM)}; "
                f"{project.project_code} is in {current.label}."
            )
        today = self.calendar.today()
        project.pop_received = True
        project.pop_received_date = today
        project.pop_deadline = today + timedelta(days=POP_PAYMENT_DAYS)
        record_activity(self.session, self.actor, "pop_received", "project", project.id, f"POP received {today}")
        item = await QueueService(self.session, self.actor, self.calendar).enqueue(project)
        in_stock = await stock_is_available(self.session, project, item)
        target = Stage.QUEUED if in_stock else Stage.WAITING_MATERIAL
        await set_stage(self.session, project, target, self.actor, "POP received", today=today)
        # The client's confirmation email, queued in this transaction and sent after it commits.
        await queue_pop_confirmation(self.session, self.actor, project)
        await self.session.commit()
        return project
