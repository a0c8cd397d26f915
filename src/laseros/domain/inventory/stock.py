"""Sheets on the shelf against sheets the queue needs: the stock check, releases and queue badges.

Claims: a job that is queued or being cut holds the sheets it still needs (required minus
already cut). A job waiting on material holds nothing, since it cannot be cut. A job may queue
when the shelf covers its need after every claim; stock arriving releases waiting jobs oldest
POP first. See docs/inventory_management.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, bindparam, case, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager, selectinload

from laseros.db import UnitOfWork, built_once
from laseros.domain.inventory.models import Category, InventoryItem
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.shop import sheet_label
from laseros.domain.projects.lifecycle import set_stage
from laseros.domain.projects.models import Project
from laseros.domain.projects.stages import CLAIMING_STAGES, Stage
from laseros.domain.queue.models import QueueItem


class StockBadge(StrEnum):
    OK = "ok"  # the shelf covers this job after every job ahead of it
    SHORT = "short"  # queued, but the jobs ahead will have used the sheets by the time it is cut
    BLOCKED = "blocked"  # waiting on material


@dataclass(frozen=True)
class SheetSpec:
    material_type: str
    thickness_mm: Decimal
    sheet_size: str

    @classmethod
    def of(cls, record: Any) -> SheetSpec | None:
        """The sheet a project or run needs (or an item holds); None when material, thickness or size is unset."""
        if not (record.material_type and record.thickness_mm is not None and record.sheet_size):
            return None
        return cls(record.material_type, record.thickness_mm, record.sheet_size)

    def label(self) -> str:
        return sheet_label(self.material_type, self.thickness_mm, self.sheet_size)


def _remaining_need() -> ColumnElement[int]:
    """SQL: the sheets a queued job still needs."""
    left = func.coalesce(Project.sheets_required, 0) - QueueItem.sheets_cut
    return case((left > 0, left), else_=0)


def _same_spec() -> ColumnElement[bool]:
    """SQL: the project needs the sheet in the ``material``, ``thickness`` and ``size`` parameters."""
    return (
        (Project.material_type == bindparam("material"))
        & (Project.thickness_mm == bindparam("thickness"))
        & (Project.sheet_size == bindparam("size"))
    )


def _spec_values(spec: SheetSpec) -> dict[str, Any]:
    return {"material": spec.material_type, "thickness": spec.thickness_mm, "size": spec.sheet_size}


@built_once
def _sheet_item_statement() -> Select[InventoryItem]:
    return select(InventoryItem).where(
        InventoryItem.category == Category.SHEET.value,
        InventoryItem.material_type == bindparam("material"),
        InventoryItem.thickness_mm == bindparam("thickness"),
        InventoryItem.sheet_size == bindparam("size"),
    )


async def sheet_item_for(session: AsyncSession, spec: SheetSpec) -> InventoryItem | None:
    return await session.scalar(_sheet_item_statement(), _spec_values(spec))


@built_once
def _claimed_statement() -> Select[Any]:
    return (
        select(func.sum(_remaining_need()))
        .select_from(QueueItem)
        .join(Project, Project.id == QueueItem.project_id)
        .where(
            QueueItem.is_active(),
            Project.stage.in_(CLAIMING_STAGES),
            Project.id != bindparam("excluding"),
            _same_spec(),
        )
    )


async def claimed_sheets(session: AsyncSession, spec: SheetSpec, *, excluding_project: int) -> int:
    """Sheets of ``spec`` still needed by queued or cutting jobs other than ``excluding_project``."""
    total = await session.scalar(_claimed_statement(), {**_spec_values(spec), "excluding": excluding_project})
    return int(total or 0)


def sheets_still_needed(project: Project, item: QueueItem | None) -> int:
    cut = item.sheets_cut if item is not None else 0
    return max((project.sheets_required or 0) - cut, 0)


@dataclass(frozen=True)
class Shortfall:
    """A job the shelf does not cover: ``free`` of the ``need`` sheets it still needs are free."""

    free: int
    need: int
    spec: SheetSpec

    @property
    def missing(self) -> int:
        return self.need - self.free

    def says(self) -> str:
        """How the phone and the activity log say it: "Stock says 0 of 3 sheets"."""
        return f"Stock says {self.free} of {self.need} sheet{'' if self.need == 1 else 's'} of {self.spec.label()}"


async def shortfall(session: AsyncSession, project: Project, item: QueueItem | None) -> Shortfall | None:
    """What the shelf lacks for what ``project`` still needs once every other claim is met (None: covered)."""
    spec = SheetSpec.of(project)
    need = sheets_still_needed(project, item)
    if spec is None or need == 0:
        return None
    stock = await sheet_item_for(session, spec)
    on_hand = stock.quantity_on_hand if stock else 0
    free = max(on_hand - await claimed_sheets(session, spec, excluding_project=project.id), 0)
    return None if free >= need else Shortfall(free, need, spec)


async def stock_is_available(session: AsyncSession, project: Project, item: QueueItem | None) -> bool:
    """Whether the shelf covers what ``project`` still needs once every other claim is met."""
    return await shortfall(session, project, item) is None


def _held_sheet(stock: InventoryItem) -> SheetSpec | None:
    return SheetSpec.of(stock) if stock.category == Category.SHEET.value else None


@built_once
def _on_the_sheet(stage: Stage) -> Select[Project]:
    """Active projects in ``stage`` needing the sheet in the parameters, with their queue items, in the order a
    change of stock moves them: waiting ones oldest POP first (then queue order), queued ones the reverse."""
    order = (Project.pop_received_date, QueueItem.rank, Project.id)
    return (
        select(Project)
        .join(Project.queue_item)
        .options(contains_eager(Project.queue_item))
        .where(Project.stage == stage.value, QueueItem.is_active(), _same_spec())
        .order_by(*(order if stage == Stage.WAITING_MATERIAL else (column.desc() for column in order)))
    )


@built_once
def _on_hand_statement() -> Select[int]:
    return select(InventoryItem.quantity_on_hand).where(InventoryItem.id == bindparam("item_id"))


async def jobs_waiting_on(session: AsyncSession, stock: InventoryItem, limit: int = 50) -> list[Project]:
    """Projects waiting on ``stock``'s sheet, in the order stock arriving releases them."""
    spec = _held_sheet(stock)
    if spec is None:
        return []
    stmt = _on_the_sheet(Stage.WAITING_MATERIAL).options(selectinload(Project.client)).limit(limit)
    return list((await session.scalars(stmt, _spec_values(spec))).unique())


@dataclass(frozen=True)
class Rebalanced:
    """What a change of stock did to the jobs on that sheet."""

    released: list[Project]  # waiting on material → queued (the sheets arrived)
    held_back: list[Project]  # queued → waiting on material (their sheets were taken: an adjustment, a run)


async def rebalance(session: UnitOfWork, stock: InventoryItem, actor: Actor, *, today: date) -> Rebalanced:
    """After any change to ``stock``'s on hand: queued jobs the shelf no longer covers go back to
    waiting on material (newest POP first: the mirror of a release), or waiting jobs it now covers
    are released. So "queued" always means "the sheets are there", everywhere it is shown.

    One aggregate when nothing has to move (the usual case after a run).
    """
    spec = _held_sheet(stock)
    if spec is None:
        return Rebalanced([], [])
    on_hand = int(await session.scalar(_on_hand_statement(), {"item_id": stock.id}) or 0)
    claimed = await claimed_sheets(session, spec, excluding_project=0)
    if claimed <= on_hand:
        return Rebalanced(await release_waiting(session, stock, actor, today=today), [])
    queued = (await session.scalars(_on_the_sheet(Stage.QUEUED), _spec_values(spec))).unique()
    held_back = []
    for project in queued:
        if claimed <= on_hand:
            break
        need = sheets_still_needed(project, project.queue_item)
        if need == 0:
            continue
        claimed -= need
        cause = f"{spec.label()}: stock no longer covers it ({on_hand} on hand)"
        await set_stage(session, project, Stage.WAITING_MATERIAL, actor, cause, today=today)
        held_back.append(project)
    return Rebalanced([], held_back)


async def release_waiting(session: UnitOfWork, stock: InventoryItem, actor: Actor, *, today: date) -> list[Project]:
    """Move jobs waiting on ``stock``'s sheet to Queued while the shelf covers them, oldest POP first.

    A job too big for what arrived stays waiting and a smaller one behind it may go: it cannot be
    cut anyway, and holding the sheets back would stop the machine for nothing. The free stock is
    read once; each job released claims its sheets from it.
    """
    spec = _held_sheet(stock)
    if spec is None:
        return []
    waiting = list((await session.scalars(_on_the_sheet(Stage.WAITING_MATERIAL), _spec_values(spec))).unique())
    if not waiting:
        return []
    on_hand = await session.scalar(_on_hand_statement(), {"item_id": stock.id})
    free = (on_hand or 0) - await claimed_sheets(session, spec, excluding_project=0)
    released = []
    for project in waiting:
        need = sheets_still_needed(project, project.queue_item)
        if need <= free:
            free -= need
            await set_stage(session, project, Stage.QUEUED, actor, f"{spec.label()} in stock", today=today)
            released.append(project)
    return released


# Up to this many different sheets among the listed items, the badges' statements name them (a project
# page, the phone); past it (a page of the queue) they read every sheet's jobs and shelves: an IN over
# dozens of (material, thickness, size) triples costs more to bind than the rows it leaves out.
NAMED_SHEETS_UP_TO = 4


@built_once
def _badge_statements(named: bool) -> tuple[Select[*tuple[Any, ...]], Select[*tuple[Any, ...]]]:
    """The queue badges' two statements: the running total of sheets needed by the claiming jobs up to and
    including each item ranked from ``first_rank`` to ``last_rank``, and the shelves. ``named``: only the
    sheets in ``keys``; else every sheet (the same totals: each sheet's jobs are added up on their own)."""
    spec_columns = (Project.material_type, Project.thickness_mm, Project.sheet_size)
    keys: BindParameter[Any] = bindparam("keys", expanding=True)
    running = (
        select(
            QueueItem.id.label("item_id"),
            QueueItem.rank.label("rank"),
            func.sum(_remaining_need())
            .over(partition_by=spec_columns, order_by=(QueueItem.rank, QueueItem.id))
            .label("needed"),
        )
        .join(Project, Project.id == QueueItem.project_id)
        .where(QueueItem.is_active(), Project.stage.in_(CLAIMING_STAGES), QueueItem.rank <= bindparam("last_rank"))
    )
    shelf_columns = (InventoryItem.material_type, InventoryItem.thickness_mm, InventoryItem.sheet_size)
    shelves = select(*shelf_columns, InventoryItem.quantity_on_hand).where(
        InventoryItem.category == Category.SHEET.value
    )
    if named:
        running = running.where(tuple_(*spec_columns).in_(keys))
        shelves = shelves.where(tuple_(*shelf_columns).in_(keys))
    totals = running.subquery()
    needed = select(totals.c.item_id, totals.c.needed).where(totals.c.rank >= bindparam("first_rank"))
    return needed, shelves


async def queue_badges(session: AsyncSession, items: list[QueueItem]) -> dict[int, StockBadge]:
    """The stock badge of each listed queue item (items needing no sheets get none).

    One windowed query (over the listed items' sheets, or over every sheet for a page of the queue) gives
    every item's running total of sheets needed by the claiming jobs up to and including it, in queue order.
    """
    badges: dict[int, StockBadge] = {}
    sheet_of: dict[int, tuple[str, Decimal, str]] = {}  # item id → (material, thickness, size) of its job
    for item in items:
        project = item.project
        spec = SheetSpec.of(project) if project.sheets_required else None
        if spec is None:  # needs no sheets, or none we can name
            continue
        if project.stage == Stage.WAITING_MATERIAL.value:
            badges[item.id] = StockBadge.BLOCKED
        else:
            sheet_of[item.id] = (spec.material_type, spec.thickness_mm, spec.sheet_size)
    if not sheet_of:
        return badges
    keys = list(set(sheet_of.values()))
    named = len(keys) <= NAMED_SHEETS_UP_TO
    ranks = [item.rank for item in items if item.id in sheet_of]
    values: dict[str, Any] = {"first_rank": min(ranks), "last_rank": max(ranks)} | ({"keys": keys} if named else {})
    needed_statement, shelves_statement = _badge_statements(named)
    # Every item ranked in between comes back (the listed ones, and on other lists some that are not).
    needed = dict((await session.execute(needed_statement, values)).all())
    shelves = {
        (row.material_type, row.thickness_mm, row.sheet_size): row.quantity_on_hand
        for row in (await session.execute(shelves_statement, {"keys": keys} if named else {})).all()
    }
    for item_id, sheet in sheet_of.items():
        if item_id in needed:
            covered = int(needed[item_id] or 0) <= shelves.get(sheet, 0)
            badges[item_id] = StockBadge.OK if covered else StockBadge.SHORT
    return badges
