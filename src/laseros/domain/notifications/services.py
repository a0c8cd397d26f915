"""Evaluating, listing and resolving notifications; the watcher that re-evaluates after each action.

``evaluate`` is the one reconciler: it gathers facts for a scope (some projects and items, or
everything), asks the rules what should be live, and makes it so: new conditions are inserted,
changed ones updated in place, ended ones closed. Actions call ``watch_project``/``watch_item``
(``set_stage`` and ``move_stock`` do it for every caller); the watcher evaluates what was touched
just before the action's transaction commits, so the bell is right in the same response and
nothing depends on Redis. The hourly job evaluates everything and repairs whatever was missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Row, case, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.db import UnitOfWork, utcnow
from laseros.domain.admin.models import ShopSetting
from laseros.domain.admin.services import Actor, record_activity
from laseros.domain.clients.models import Client
from laseros.domain.comms.drafts import ensure_drafts, withdraw_outdated
from laseros.domain.errors import NotFound
from laseros.domain.inventory.models import InventoryItem, InventoryTransaction
from laseros.domain.notifications.models import Notification, NotificationType
from laseros.domain.notifications.rules import (
    STAGE_ALERTS,
    WATCHED_STAGES,
    DraftNeed,
    ItemFacts,
    Limits,
    ProjectFacts,
    Raised,
    item_alerts,
    next_check,
    project_alerts,
)
from laseros.domain.paging import Page, paginate, stream_rows
from laseros.domain.projects.models import Project
from laseros.domain.projects.stages import Stage
from laseros.domain.runs.models import LaserRun, RunStatus

log = logging.getLogger(__name__)

EXPORT_COLUMNS = (
    "id", "notif_type", "subject_key", "project_id", "inventory_item_id", "message", "severity", "created_at",
    "resolved_at", "auto_cleared",
)  # fmt: skip

_CHUNK = 400  # ids per IN list


# -- the bell signal: who hears that the open set changed (after commit) ---------------------------

BellListener = Callable[[], Awaitable[None]]
_bell_listeners: list[BellListener] = []


def on_bell_change(listener: BellListener) -> Callable[[], None]:
    """Call ``listener()`` after any commit that changed notifications; returns the unsubscriber."""
    _bell_listeners.append(listener)
    return lambda: _bell_listeners.remove(listener) if listener in _bell_listeners else None


async def _announce() -> None:
    for listener in list(_bell_listeners):
        try:
            await listener()
        except Exception:  # a push that fails leaves pages to poll; the data is committed
            log.warning("bell listener failed", exc_info=True)


def announce_after_commit(session: AsyncSession) -> None:
    uow = cast(UnitOfWork, session)
    if not uow.info.get("bell_announce"):
        uow.info["bell_announce"] = True
        uow.after_commit(_announce)


# -- waking the evaluator when a stage limit passes ---------------------------------------------------

WakeUpScheduler = Callable[[int, datetime], Awaitable[None]]
# One per event loop: an app's Redis client belongs to its loop (tests run several apps at once).
_wake_up_schedulers: dict[asyncio.AbstractEventLoop, WakeUpScheduler] = {}


def set_wake_up_scheduler(scheduler: WakeUpScheduler) -> Callable[[], None]:
    """Who schedules "evaluate project N at time T" for this event loop (the job runtime, on Redis).

    Returns the remover. Without one (no Redis), the hourly pass raises the alert instead, up to an
    hour late.
    """
    loop = asyncio.get_running_loop()
    _wake_up_schedulers[loop] = scheduler
    return lambda: _wake_up_schedulers.pop(loop, None) if _wake_up_schedulers.get(loop) is scheduler else None


def _schedule_after_commit(session: AsyncSession, wake_ups: list[tuple[int, datetime]]) -> None:
    scheduler = _wake_up_schedulers.get(asyncio.get_running_loop())
    if not wake_ups or scheduler is None:
        return

    async def schedule() -> None:
        for project_id, due in wake_ups:
            await scheduler(project_id, due)

    cast(UnitOfWork, session).after_commit(schedule)


# -- settings the rules read ------------------------------------------------------------------------


async def stage_limits(session: AsyncSession) -> Limits:
    keys = [alert.setting for alert in STAGE_ALERTS.values()]
    stored = dict(
        (await session.execute(select(ShopSetting.key, ShopSetting.value).where(ShopSetting.key.in_(keys)))).all()
    )
    return _limits(stored)


def _limit_columns() -> list[Any]:
    """The limit settings as columns of another query (one statement fewer in an action's transaction)."""
    return [
        select(ShopSetting.value).where(ShopSetting.key == alert.setting).scalar_subquery()
        for alert in STAGE_ALERTS.values()
    ]


def _limits(stored: dict[str, str | None]) -> Limits:
    limits: Limits = {}
    for stage, alert in STAGE_ALERTS.items():
        try:
            days = float(stored.get(alert.setting) or alert.default_days)
        except ValueError:  # the settings page refuses such values; a hand-edited row falls back
            days = alert.default_days
        limits[stage] = timedelta(days=days)
    return limits


# -- gathering facts --------------------------------------------------------------------------------


def _chunks(ids: Collection[int]) -> list[list[int]]:
    ordered = sorted(ids)
    return [ordered[i : i + _CHUNK] for i in range(0, len(ordered), _CHUNK)]


async def project_facts(session: AsyncSession, project_ids: Collection[int] | None) -> list[ProjectFacts]:
    """Facts for watched projects (all of them when ``project_ids`` is None)."""
    facts, _stored = await _project_facts(session, project_ids, with_limits=False)
    return facts


_FACT_COLUMNS = 15  # the ProjectFacts fields read by _project_facts, in order


async def _project_facts(
    session: AsyncSession, project_ids: Collection[int] | None, *, with_limits: bool
) -> tuple[list[ProjectFacts], dict[str, str | None] | None]:
    """Facts for watched projects, and (``with_limits``) the stage-limit settings read in the same statement."""
    # The latest completed run, only for cutting jobs (their stall clock restarts at each run).
    last_run = (
        select(func.max(LaserRun.ended_at))
        .where(LaserRun.project_id == Project.id, LaserRun.status == RunStatus.COMPLETED.value)
        .scalar_subquery()
    )
    base = (
        select(
            Project.id, Project.project_code, Project.name, Project.client_id, Client.name, Project.stage,
            Project.stage_changed_at, Project.material_type, Project.thickness_mm, Project.sheet_size,
            Project.sheets_required, Project.preset_id, Project.pop_deadline, Project.due_date,
            case((Project.stage == Stage.CUTTING.value, last_run), else_=None),
            *(_limit_columns() if with_limits else []),
        )
        .join(Client, Client.id == Project.client_id)
        .where(Project.stage.in_([s.value for s in WATCHED_STAGES]))
    )  # fmt: skip
    if project_ids is None:
        rows = list((await session.execute(base)).all())
    else:
        rows = []
        for chunk in _chunks(project_ids):
            rows.extend((await session.execute(base.where(Project.id.in_(chunk)))).all())
    ended_type = LaserRun.__table__.c.ended_at.type
    facts = []
    for row in rows:
        last = row[14]
        if isinstance(last, str):  # an aggregate inside CASE comes back raw on SQLite
            last = ended_type.process_result_value(datetime.fromisoformat(last), session.bind.dialect)  # type: ignore[union-attr]
        facts.append(ProjectFacts(*row[:5], Stage(row[5]), *row[6:14], last_run_ended_at=last))  # type: ignore[misc]
    stored = None
    if with_limits and rows:
        stored = dict(zip((a.setting for a in STAGE_ALERTS.values()), rows[0][_FACT_COLUMNS:], strict=True))
    return facts, stored


async def item_facts(session: AsyncSession, item_ids: Collection[int] | None) -> list[ItemFacts]:
    """Facts for items below their minimum (all of them when ``item_ids`` is None)."""
    last_shortfall = (
        select(InventoryTransaction.shortfall)
        .where(InventoryTransaction.item_id == InventoryItem.id)
        .order_by(InventoryTransaction.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    base = select(
        InventoryItem.id, InventoryItem.item_code, InventoryItem.name, InventoryItem.unit,
        InventoryItem.quantity_on_hand, InventoryItem.min_required, InventoryItem.reorder_quantity,
        func.coalesce(last_shortfall, 0),
    ).where(InventoryItem.quantity_on_hand < InventoryItem.min_required)  # fmt: skip
    if item_ids is None:
        rows = list((await session.execute(base)).all())
    else:
        rows = []
        for chunk in _chunks(item_ids):
            rows.extend((await session.execute(base.where(InventoryItem.id.in_(chunk)))).all())
    return [ItemFacts(*row) for row in rows]


# -- reconciling ------------------------------------------------------------------------------------


@dataclass
class Evaluation:
    raised: int = 0
    updated: int = 0
    cleared: int = 0
    drafts: int = 0
    drafts_withdrawn: int = 0
    # (project id, when its stage limit passes) for the projects evaluated one by one.
    wake_ups: list[tuple[int, datetime]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.raised or self.updated or self.cleared or self.drafts or self.drafts_withdrawn)


@dataclass
class Scope:
    """What an action touched: project and item ids, or everything."""

    projects: set[int] = field(default_factory=set)
    items: set[int] = field(default_factory=set)
    moved: set[int] = field(default_factory=set)  # projects whose stage changed
    everything: bool = False


async def evaluate(
    session: AsyncSession,
    *,
    projects: Collection[int] | None = None,
    items: Collection[int] | None = None,
    now: datetime | None = None,
    company_name: str | None = None,
    moved: Collection[int] | None = None,
    wake_all: bool = False,
) -> Evaluation:
    """Make the live notifications (and client drafts) match the rules for the given scope.

    ``None`` means every project / every item; an empty collection means none. ``moved`` names the
    projects in scope whose stage changed in this transaction (only their unsent drafts can be out
    of date, and only they get a wake-up at their new stage's limit); None: treat all as moved.
    ``wake_all``: every project in scope gets its wake-up (the limits themselves changed).
    Runs in the caller's transaction; announces the bell after commit when anything changed.
    """
    now = now or utcnow()
    company_name = company_name or session.info.get("company_name", "")
    desired: dict[tuple[str, str], Raised] = {}
    drafts: list[DraftNeed] = []
    current: dict[int, ProjectFacts] = {}
    wake_ups: list[tuple[int, datetime]] = []
    if projects is None or projects:
        # A scoped pass (an action's) reads the limits in the facts statement; the full pass apart.
        found, stored = await _project_facts(session, projects, with_limits=projects is not None)
        # (A scoped pass that found no watched project needs no limits.)
        limits = await stage_limits(session) if projects is None else _limits(stored or {})
        for facts in found:
            current[facts.id] = facts
            raised, needs = project_alerts(facts, limits, now)
            desired.update((r.key, r) for r in raised)
            drafts.extend(needs)
            # A project that just entered its stage gets woken when the stage's limit passes.
            due = next_check(facts, limits, now) if wake_all or (moved is not None and facts.id in moved) else None
            if due is not None:
                wake_ups.append((facts.id, due))
    if items is None or items:
        for item in await item_facts(session, items):
            desired.update((r.key, r) for r in item_alerts(item))

    live = await _live_in_scope(session, projects, items)
    result = Evaluation(wake_ups=wake_ups)
    changes: list[dict[str, Any]] = []
    closes: list[dict[str, Any]] = []
    for row in live:
        wanted = desired.pop((row.notif_type, row.subject_key), None)
        if wanted is None:
            closes.append({"id": row.id})
            continue
        if wanted.message != row.message or wanted.severity.value != row.severity:
            changes.append(
                {"id": row.id, "message": wanted.message, "severity": wanted.severity.value, "updated_at": now}
            )
    if changes:
        await session.execute(update(Notification), changes)
        result.updated = len(changes)
    for chunk in [closes[i : i + _CHUNK] for i in range(0, len(closes), _CHUNK)]:
        ids = [c["id"] for c in chunk]
        # Ones nobody resolved are auto-cleared; ones resolved by hand just stop being live.
        await session.execute(
            update(Notification)
            .where(Notification.id.in_(ids), Notification.resolved_at.is_(None))
            .values(resolved_at=now, auto_cleared=True)
        )
        await session.execute(
            update(Notification).where(Notification.id.in_(ids)).values(closed_at=now, updated_at=now)
        )
    result.cleared = len(closes)
    if desired:
        await session.execute(
            insert(Notification),
            [
                {
                    "notif_type": r.notif_type.value, "subject_key": r.subject_key, "project_id": r.project_id,
                    "inventory_item_id": r.inventory_item_id, "message": r.message, "severity": r.severity.value,
                    "created_at": now, "updated_at": now,
                }
                for r in desired.values()
            ],
        )  # fmt: skip
        result.raised = len(desired)
    stale_scope = projects if moved is None else [p for p in projects or () if p in moved]
    if projects is None or stale_scope:
        result.drafts_withdrawn = await withdraw_outdated(session, current, stale_scope)
    result.drafts = await ensure_drafts(session, drafts, company_name)
    if result.changed:
        announce_after_commit(session)
    return result


async def _live_in_scope(
    session: AsyncSession, projects: Collection[int] | None, items: Collection[int] | None
) -> list[Any]:
    columns = select(
        Notification.id, Notification.notif_type, Notification.subject_key, Notification.message, Notification.severity
    ).where(Notification.closed_at.is_(None))
    if projects is None and items is None:
        return list((await session.execute(columns)).all())
    if projects is not None and items is not None and len(projects) + len(items) <= _CHUNK:
        # What one action touched: a single statement (the write transaction is waiting on it).
        subjects = [Notification.project_id.in_(list(projects)), Notification.inventory_item_id.in_(list(items))]
        return list((await session.execute(columns.where(or_(*subjects)))).all())
    rows: list[Any] = []
    if projects is None:
        rows.extend((await session.execute(columns.where(Notification.project_id.is_not(None)))).all())
    else:
        for chunk in _chunks(projects):
            rows.extend((await session.execute(columns.where(Notification.project_id.in_(chunk)))).all())
    if items is None:
        rows.extend((await session.execute(columns.where(Notification.inventory_item_id.is_not(None)))).all())
    else:
        for chunk in _chunks(items):
            rows.extend((await session.execute(columns.where(Notification.inventory_item_id.in_(chunk)))).all())
    return rows


# -- the watcher: evaluate what an action touched, just before it commits ------------------------------


def _scope(session: AsyncSession) -> Scope:
    uow = cast(UnitOfWork, session)
    scope = uow.info.get("watch")
    if scope is None:
        scope = uow.info["watch"] = Scope()
        uow.before_commit("notifications", _evaluate_watched)
    return cast(Scope, scope)


def watch_project(session: AsyncSession, project_id: int, *, stage_changed: bool = False) -> None:
    """Re-evaluate this project's notifications before the caller's transaction commits."""
    scope = _scope(session)
    scope.projects.add(project_id)
    if stage_changed:
        scope.moved.add(project_id)


def watch_item(session: AsyncSession, item_id: int) -> None:
    """Re-evaluate this stock item's notifications before the caller's transaction commits."""
    _scope(session).items.add(item_id)


def watch_everything(session: AsyncSession) -> None:
    """Re-evaluate every project and item before commit, and re-schedule every wake-up (the stage
    limits changed: alerts due under the new limits appear at once, later ones on time)."""
    _scope(session).everything = True


async def _evaluate_watched(session: UnitOfWork) -> None:
    scope: Scope = session.info.pop("watch")
    await session.flush()
    if scope.everything:
        result = await evaluate(session, wake_all=True)
    else:
        result = await evaluate(session, projects=scope.projects, items=scope.items, moved=scope.moved)
    # Only once the action has committed: a rolled-back change schedules nothing.
    _schedule_after_commit(session, result.wake_ups)


# -- the bell and its list --------------------------------------------------------------------------


def _open() -> Any:
    return Notification.resolved_at.is_(None)


async def open_count(session: AsyncSession) -> int:
    """How many notifications are open (the bell's number), straight from the database."""
    return int(await session.scalar(select(func.count()).select_from(Notification).where(_open())) or 0)


class NotificationService:
    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def count(self) -> int:
        return await open_count(self.session)

    async def open(self, limit: int = 50) -> list[Notification]:
        """Open notifications, urgent first, then newest first."""
        return list(await self.session.scalars(self.list_query().limit(limit)))

    async def get(self, notif_id: int) -> Notification:
        found = await self.session.get(Notification, notif_id)
        if found is None:
            raise NotFound(f"Notification {notif_id} does not exist.")
        return found

    async def resolve(self, notif_id: int) -> Notification:
        """Resolve by hand: it leaves the bell, and the same condition is not raised again until it ends. Commits."""
        found = await self.get(notif_id)
        if found.resolved_at is None:
            found.resolved_at = utcnow()
            found.resolved_by_id = self.actor.user_id
            await record_activity(
                self.session, self.actor, "resolved", "notification", found.id,
                f"{found.type_label}: {found.message}"[:400],
            )  # fmt: skip
            announce_after_commit(self.session)
        await self.session.commit()
        return found

    def history_query(self) -> Any:
        return select(Notification).order_by(Notification.created_at.desc(), Notification.id.desc())

    def list_query(self, *, include_resolved: bool = False, notif_type: NotificationType | None = None) -> Any:
        """The bell's list: open ones urgent first, then newest; with the resolved ones, newest first."""
        if include_resolved:
            stmt = self.history_query()
        else:
            urgent_first = (Notification.severity == "urgent").desc()
            stmt = (
                select(Notification)
                .where(_open())
                .order_by(urgent_first, Notification.created_at.desc(), Notification.id.desc())
            )
        return stmt if notif_type is None else stmt.where(Notification.notif_type == notif_type.value)

    async def page(
        self,
        *,
        include_resolved: bool = False,
        notif_type: NotificationType | None = None,
        page: int = 1,
        per_page: int = 25,
    ) -> Page[Notification]:
        stmt = self.list_query(include_resolved=include_resolved, notif_type=notif_type)
        return await paginate(self.session, stmt, page, per_page)

    def export(
        self, *, include_resolved: bool = False, notif_type: NotificationType | None = None
    ) -> AsyncIterator[Row[Any]]:
        columns = (getattr(Notification, name) for name in EXPORT_COLUMNS)
        stmt = self.list_query(include_resolved=include_resolved, notif_type=notif_type)
        return stream_rows(self.session, stmt.with_only_columns(*columns))
