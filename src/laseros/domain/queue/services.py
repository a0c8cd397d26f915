"""The cutting queue: ordering with gapped ranks, status changes that drive the project stage."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, bindparam, case, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager, defaultload, load_only
from sqlalchemy.orm.attributes import set_committed_value

from laseros.db import UnitOfWork, action, built_once, quick_reads, utcnow
from laseros.domain.clients.models import Client
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.errors import Conflict, NotFound
from laseros.domain.kernel.paging import Export, Page, paginate
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.projects.lifecycle import set_stage
from laseros.domain.projects.models import Project
from laseros.domain.projects.stages import (
    ACTIVE_QUEUE_STATUSES,
    QUEUE_STATUS_TO_STAGE,
    QUEUE_TRANSITIONS,
    QueueStatus,
    Stage,
)
from laseros.domain.queue.models import Priority, QueueItem
from laseros.domain.queue.schemas import QueueEdit
from laseros.domain.queue.state import JobState, running_by_project

# Distance between neighbouring ranks after a renumber: 20 moves into the same gap before the
# (rare, O(n)) renumber is needed again.
RANK_GAP = 1 << 20
_ACTIVE = [s.value for s in ACTIVE_QUEUE_STATUSES]


EXPORT_COLUMNS = (
    "id", "project_id", "project_code", "client_name", "material_type", "thickness_mm", "sheet_size", "status",
    "priority", "scheduled_date", "estimated_minutes", "notes", "started_at", "completed_at", "created_at",
    "updated_at",
)  # fmt: skip
_JOINED_EXPORT_COLUMNS = {
    "project_code": Project.project_code,
    "client_name": Client.name,
    "material_type": Project.material_type,
    "thickness_mm": Project.thickness_mm,
    "sheet_size": Project.sheet_size,
}


async def apply_queue_status(
    session: UnitOfWork, item: QueueItem, status: QueueStatus, actor: Actor, *, today: date, cause: str
) -> None:
    """Set a queue item's status and move its project to the matching stage, in the caller's transaction."""
    previous = QueueStatus(item.status)
    if previous == status:
        return
    now = utcnow()
    if status == QueueStatus.IN_PROGRESS and item.started_at is None:
        item.started_at = now
    if status == QueueStatus.COMPLETED:
        item.completed_at = now
    if status == QueueStatus.QUEUED:
        item.completed_at = None
        if previous in (QueueStatus.COMPLETED, QueueStatus.CANCELLED):
            item.rank = await _last_rank(session) + RANK_GAP
    item.status = status.value
    record_activity(session, actor, "status_changed", "queue", item.id, f"{previous.value} → {status.value} ({cause})")
    target = QUEUE_STATUS_TO_STAGE[status]
    if target == Stage.QUEUED:
        from laseros.domain.inventory.stock import shortfall  # inventory builds on the queue

        if await shortfall(session, item.project, item) is not None:
            target = Stage.WAITING_MATERIAL  # "queued" means the sheets are there
    await set_stage(session, item.project, target, actor, "queue sync", today=today)


async def _last_rank(session: AsyncSession) -> int:
    return await session.scalar(select(func.max(QueueItem.rank))) or 0


@dataclass(frozen=True)
class DayLoad:
    """One scheduled day of the active queue (``day`` None: jobs with no date)."""

    day: date | None
    jobs: int
    minutes: int
    sheets: int


# What a queue row shows of its item, job and client (``job_states`` reads the stage and the sheet): loading only
# these keeps a page of a hundred rows from converting every column of 200 more objects. Anything else
# raises, so a row that starts showing more fails its tests instead of loading row by row.
_ROW_ITEM_COLUMNS = (
    QueueItem.id, QueueItem.project_id, QueueItem.rank, QueueItem.status, QueueItem.priority, QueueItem.scheduled_date,
    QueueItem.estimated_minutes, QueueItem.notes, QueueItem.sheets_cut,
)  # fmt: skip
_ROW_PROJECT_COLUMNS = (
    Project.id, Project.project_code, Project.name, Project.client_id, Project.stage, Project.material_type,
    Project.thickness_mm, Project.sheet_size, Project.sheets_required,
)  # fmt: skip


_ROW_ITEM_NAMES = tuple(column.key for column in _ROW_ITEM_COLUMNS)
_ROW_PROJECT_NAMES = tuple(column.key for column in _ROW_PROJECT_COLUMNS)


def row_values(item: QueueItem) -> tuple[Any, ...]:
    """Everything a queue page row can show of its item, its job and the job's client (the page's statement
    loads these columns alone and raises on any other): the row's HTML is a function of them and its state."""
    project = item.project
    return (
        tuple(getattr(item, name) for name in _ROW_ITEM_NAMES),
        tuple(getattr(project, name) for name in _ROW_PROJECT_NAMES),
        project.client.name,
    )


def _listing(show_all: bool) -> Select[QueueItem]:
    """The queue in order, each item with its job and client."""
    stmt = (
        select(QueueItem)
        .join(QueueItem.project)
        .join(Project.client)
        .options(contains_eager(QueueItem.project).contains_eager(Project.client))
        .order_by(QueueItem.rank, QueueItem.id)
    )
    return stmt if show_all else stmt.where(QueueItem.is_active())


@built_once
def _page_statements(show_all: bool) -> tuple[Select[QueueItem], Select[int]]:
    """The queue page's listing (with what its rows show of the jobs and clients) and its count."""
    listing = _listing(show_all).options(
        load_only(*_ROW_ITEM_COLUMNS, raiseload=True),
        defaultload(QueueItem.project).load_only(*_ROW_PROJECT_COLUMNS, raiseload=True),
        defaultload(QueueItem.project).defaultload(Project.client).load_only(Client.name, raiseload=True),
    )
    # Counted on the queue alone (every item has its project and client): no join for the total.
    count = select(func.count(QueueItem.id))
    return listing, count if show_all else count.where(QueueItem.is_active())


@built_once
def _day_loads_statement(days: int) -> Select[*tuple[Any, ...]]:
    left = func.coalesce(Project.sheets_required, 0) - QueueItem.sheets_cut
    # Only the first ``days`` dates (and the undated) are added up, not the whole queue's.
    first_days = (
        select(QueueItem.scheduled_date)
        .where(QueueItem.is_active(), QueueItem.scheduled_date.is_not(None))
        .distinct()
        .order_by(QueueItem.scheduled_date)
        .limit(days)
    )
    return (
        select(
            QueueItem.scheduled_date,
            func.count(QueueItem.id),
            func.coalesce(func.sum(QueueItem.estimated_minutes), 0),
            func.coalesce(func.sum(case((left > 0, left), else_=0)), 0),
        )
        .join(Project, Project.id == QueueItem.project_id)
        .where(
            QueueItem.is_active(),
            QueueItem.scheduled_date.is_(None) | QueueItem.scheduled_date.in_(first_days.scalar_subquery()),
        )
        .group_by(QueueItem.scheduled_date)
        .order_by(QueueItem.scheduled_date.is_(None), QueueItem.scheduled_date)
        .limit(days)
    )


class QueueService:
    def __init__(self, session: UnitOfWork, actor: Actor, calendar: ShopCalendar) -> None:
        self.session = session
        self.actor = actor
        self.calendar = calendar

    def listing_query(self, show_all: bool) -> Select[QueueItem]:
        return _listing(show_all)

    def export(self, show_all: bool = False) -> Export:
        """The queue in order as ``EXPORT_COLUMNS`` rows, streamed."""
        columns: builtins.list[Any] = [
            _JOINED_EXPORT_COLUMNS.get(name, getattr(QueueItem, name, None)) for name in EXPORT_COLUMNS
        ]
        return Export("queue.csv", EXPORT_COLUMNS, self.listing_query(show_all).with_only_columns(*columns))

    async def list(self, show_all: bool = False, page: int = 1, per_page: int = 100) -> Page[QueueItem]:
        """A page of the queue in order, each item with what its row shows of the job and the client."""
        listing, count = _page_statements(show_all)
        if show_all:  # ten years of items: may read far, so on a thread
            return await paginate(self.session, listing, page, per_page, count=count)
        with quick_reads():  # the active queue: its partial index bounds both statements
            return await paginate(self.session, listing, page, per_page, count=count)

    async def stock_badges(self, items: builtins.list[QueueItem]) -> dict[int, str]:
        """ok / short / blocked per listed item (see ``inventory.stock.queue_badges``)."""
        from laseros.domain.inventory.stock import queue_badges  # inventory builds on the queue

        return {item_id: badge.value for item_id, badge in (await queue_badges(self.session, items)).items()}

    async def day_loads(self, days: int = 10) -> builtins.list[DayLoad]:
        """What each scheduled day holds: jobs, estimated minutes and sheets still to cut (one GROUP BY)."""
        with quick_reads():  # bounded by the active queue's day index
            rows = await self.session.execute(_day_loads_statement(days))
        return [DayLoad(day, int(jobs), int(minutes or 0), int(sheets or 0)) for day, jobs, minutes, sheets in rows]

    async def job_states(self, items: builtins.list[QueueItem]) -> dict[int, JobState]:
        """Each listed item's job state (stage, stock, the run going), in two queries for the whole list."""
        from laseros.domain.inventory.stock import StockBadge, queue_badges  # inventory builds on the queue

        with quick_reads():  # both bounded: the active queue up to the listed items, the listed projects' runs
            badges = await queue_badges(self.session, items)
            running = await running_by_project(self.session, (item.project_id for item in items))
        return {
            item.id: JobState(
                Stage(item.project.stage),
                StockBadge(badges[item.id]) if item.id in badges else None,
                running.get(item.project_id),
            )
            for item in items
        }

    async def stock_badge(self, project: Project) -> str | None:
        """The badge of a project's queue item, if it has one."""
        item = project.queue_item
        if item is None:
            return None
        set_committed_value(item, "project", project)  # known already: no load, and nothing to write
        return (await self.stock_badges([item])).get(item.id)

    async def next_up(self, limit: int = 5) -> builtins.list[QueueItem]:
        return list((await self.session.scalars(self.listing_query(False).limit(limit))).unique())

    async def active_count(self) -> int:
        return await self.session.scalar(select(func.count(QueueItem.id)).where(QueueItem.is_active())) or 0

    async def position(self, item: QueueItem) -> int | None:
        """1-based place among active items, or None if the item is not active."""
        if item.status not in _ACTIVE:
            return None
        ahead = await self.session.scalar(
            select(func.count(QueueItem.id)).where(
                QueueItem.is_active(),
                (QueueItem.rank < item.rank) | ((QueueItem.rank == item.rank) & (QueueItem.id < item.id)),
            )
        )
        return (ahead or 0) + 1

    async def get(self, item_id: int) -> QueueItem:
        item = (await self.session.scalars(self.listing_query(True).where(QueueItem.id == item_id))).unique().first()
        if item is None:
            raise NotFound(f"Queue item {item_id} does not exist.")
        return item

    async def enqueue(self, project: Project) -> QueueItem:
        """Add a paid project at the end of the queue (caller's transaction)."""
        item = QueueItem(
            project_id=project.id,
            rank=await _last_rank(self.session) + RANK_GAP,
            status=QueueStatus.QUEUED.value,
            priority=Priority.NORMAL.value,
            scheduled_date=self.calendar.next_business_day(self.calendar.today()),
            estimated_minutes=project.estimated_cut_time,
        )
        item.project = project
        self.session.add(item)
        await self.session.flush()
        record_activity(
            self.session, self.actor, "queued", "queue", item.id, f"{project.project_code} added to the queue"
        )
        return item

    @action
    async def set_status(self, item_id: int, status: QueueStatus) -> QueueItem:
        """Start / complete / cancel / re-queue an item; the project stage follows. Commits."""
        item = await self.get(item_id)
        current = QueueStatus(item.status)
        if status not in QUEUE_TRANSITIONS[current]:
            allowed = ", ".join(s.value for s in QUEUE_TRANSITIONS[current])
            raise Conflict(f"A queue item that is {current.value} cannot become {status.value} (allowed: {allowed}).")
        await apply_queue_status(
            self.session, item, status, self.actor, today=self.calendar.today(), cause="queue button"
        )
        await self.session.commit()
        return item

    @action
    async def edit(self, item_id: int, data: QueueEdit) -> QueueItem:
        """Change priority, scheduled date and notes. Commits."""
        item = await self.get(item_id)
        changes = []
        for field in ("priority", "scheduled_date", "notes"):
            new = getattr(data, field)
            if getattr(item, field) != new:
                changes.append(f"{field}: {getattr(item, field) or '—'} → {new or '—'}")
                setattr(item, field, new)
        if changes:
            record_activity(self.session, self.actor, "updated", "queue", item.id, "; ".join(changes))
            await self.session.commit()
        return item

    @action
    async def reorder(self, ordered_ids: builtins.list[int]) -> int | None:
        """Apply one drag: ``ordered_ids`` is the shown list in its new order.

        Only the moved item gets a new rank (between its new neighbours), so a move writes one
        queue row and one activity row whatever the queue length. Returns the moved id, or None.
        Commits.
        """
        if len(ordered_ids) != len(set(ordered_ids)):
            raise Conflict("The same queue item was sent twice; reload the queue and try again.")
        if len(ordered_ids) < 2:
            return None
        # Looked up by primary key only; the status is checked here rather than in SQL so SQLite
        # never walks the whole active queue through the (status, rank) index.
        rows = (
            await self.session.execute(
                select(QueueItem.id, QueueItem.rank, QueueItem.status).where(QueueItem.id.in_(ordered_ids))
            )
        ).all()
        rows = [row for row in rows if row.status in _ACTIVE]
        ranks = {row.id: row.rank for row in rows}
        if len(ranks) != len(ordered_ids):
            raise Conflict("The queue changed since this page was loaded; it has been reloaded.")
        current = sorted(ordered_ids, key=lambda i: (ranks[i], i))
        moved = _single_move(current, ordered_ids)
        if moved is None:
            return None
        index = ordered_ids.index(moved)
        before = ordered_ids[index - 1] if index > 0 else None
        after = ordered_ids[index + 1] if index + 1 < len(ordered_ids) else None
        new_rank = await self._rank_between(moved, before, after, ranks)
        if new_rank is None:
            await self._renumber()
            ranks = dict(
                (
                    await self.session.execute(
                        select(QueueItem.id, QueueItem.rank).where(QueueItem.id.in_(ordered_ids))
                    )
                ).all()
            )
            new_rank = await self._rank_between(moved, before, after, ranks)
            assert new_rank is not None
        await self.session.execute(
            update(QueueItem).where(QueueItem.id == moved).values(rank=new_rank, updated_at=utcnow())
        )
        detail = f"moved {'after #' + str(before) if before else 'before #' + str(after)}"
        record_activity(self.session, self.actor, "reordered", "queue", moved, detail)
        await self.session.commit()
        return moved

    async def _rank_between(
        self, moved: int, before: int | None, after: int | None, ranks: dict[int, int]
    ) -> int | None:
        low = ranks[before] if before is not None else None
        high = ranks[after] if after is not None else None
        if low is None and high is None:  # no neighbour named: nothing to place it between
            return None
        if (
            low is None and high is not None
        ):  # dropped first in the shown list: the neighbour above may be on an earlier page
            low = await self.session.scalar(
                select(func.max(QueueItem.rank)).where(
                    QueueItem.is_active(), QueueItem.rank < high, QueueItem.id != moved
                )
            )
            low = high - 2 * RANK_GAP if low is None else low
        if high is None and low is not None:
            high = await self.session.scalar(
                select(func.min(QueueItem.rank)).where(
                    QueueItem.is_active(), QueueItem.rank > low, QueueItem.id != moved
                )
            )
            high = low + 2 * RANK_GAP if high is None else high
        if low is None or high is None or high - low < 2:
            return None
        return (low + high) // 2

    async def _renumber(self) -> None:
        """Spread active items RANK_GAP apart again in one statement; needed only when a gap is used up."""
        await self.session.execute(
            text(
                "UPDATE queue_items SET rank = spaced.new_rank FROM ("
                "  SELECT id, (row_number() OVER (ORDER BY rank, id)) * :gap AS new_rank"
                "  FROM queue_items WHERE status IN :active"
                ") AS spaced WHERE queue_items.id = spaced.id"
            ).bindparams(bindparam("active", expanding=True)),
            {"gap": RANK_GAP, "active": _ACTIVE},
        )


def _single_move(current: builtins.list[int], wanted: builtins.list[int]) -> int | None:
    """The one item whose move turns ``current`` into ``wanted``; None if nothing moved."""
    if current == wanted:
        return None
    first = next(i for i, (a, b) in enumerate(zip(current, wanted, strict=True)) if a != b)
    last = next(i for i in range(len(current) - 1, -1, -1) if current[i] != wanted[i])
    if wanted[first] == current[last] and wanted[first + 1 : last + 1] == current[first:last]:
        return wanted[first]  # moved up
    if wanted[last] == current[first] and wanted[first:last] == current[first + 1 : last + 1]:
        return wanted[last]  # moved down
    raise Conflict("The queue changed since this page was loaded; it has been reloaded.")
