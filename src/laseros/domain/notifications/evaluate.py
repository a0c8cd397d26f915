"""The one reconciler: make the live notifications (and client drafts) match the rules for a scope.

``evaluate`` gathers facts for a scope (some projects and items, or everything), asks the rules
what should be live, and makes it so: new conditions are inserted, changed ones updated in place,
ended ones closed. Actions reach it through the watcher (``watch``) just before they commit; the
hourly job evaluates everything and repairs whatever was missed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.db import UnitOfWork, built_once, utcnow
from laseros.domain.notifications.bell import announce_after_commit
from laseros.domain.notifications.drafting import ensure_drafts, withdraw_outdated
from laseros.domain.notifications.facts import CHUNK, chunks, item_facts, project_facts_with_limits, stage_limits
from laseros.domain.notifications.models import Notification, NotificationType
from laseros.domain.notifications.rules import (
    EVALUATED_TYPES,
    DraftNeed,
    ProjectFacts,
    Raised,
    item_alerts,
    limits_from,
    next_check,
    project_alerts,
)


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
    session: UnitOfWork,
    *,
    projects: Collection[int] | None = None,
    items: Collection[int] | None = None,
    now: datetime | None = None,
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
    desired: dict[tuple[str, str], Raised] = {}
    drafts: list[DraftNeed] = []
    current: dict[int, ProjectFacts] = {}
    wake_ups: list[tuple[int, datetime]] = []
    if projects is None or projects:
        # A scoped pass (an action's) reads the limits in the facts statement; the full pass apart.
        found, stored = await project_facts_with_limits(session, projects, with_limits=projects is not None)
        # (A scoped pass that found no watched project needs no limits.)
        limits = await stage_limits(session) if projects is None else limits_from(stored or {})
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
    for chunk in [closes[i : i + CHUNK] for i in range(0, len(closes), CHUNK)]:
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
    result.drafts = await ensure_drafts(session, drafts)
    if result.changed:
        announce_after_commit(session)
    return result


@built_once
def _live_statement(scope: str) -> Select[*tuple[Any, ...]]:
    """Live notifications the evaluator owns: of the ``projects`` and ``items`` parameters (scope "action",
    "projects", "items"), of any project or any item ("any project", "any item"), or all ("everything")."""
    columns = select(
        Notification.id, Notification.notif_type, Notification.subject_key, Notification.message, Notification.severity
    ).where(
        Notification.closed_at.is_(None),
        # Raised by an inbound email, not by a rule: the evaluator never closes it.
        Notification.notif_type != NotificationType.POP_CANDIDATE.value,
    )
    of_projects = Notification.project_id.in_(bindparam("projects", expanding=True))
    of_items = Notification.inventory_item_id.in_(bindparam("items", expanding=True))
    wheres = {
        # Everything the evaluator owns: billing's notifications (quote_expiring, invoice_overdue) are its own.
        "everything": Notification.notif_type.in_([t.value for t in EVALUATED_TYPES]),
        "action": or_(of_projects, of_items),
        "projects": of_projects,
        "items": of_items,
        "any project": Notification.project_id.is_not(None),
        "any item": Notification.inventory_item_id.is_not(None),
    }
    return columns.where(wheres[scope])


async def _live_in_scope(
    session: AsyncSession, projects: Collection[int] | None, items: Collection[int] | None
) -> list[Any]:
    if projects is None and items is None:
        return list((await session.execute(_live_statement("everything"))).all())
    if projects is not None and items is not None and len(projects) + len(items) <= CHUNK:
        # What one action touched: a single statement (the write transaction is waiting on it).
        subjects = {"projects": sorted(projects), "items": sorted(items)}
        return list((await session.execute(_live_statement("action"), subjects)).all())
    rows: list[Any] = []
    if projects is None:
        rows.extend((await session.execute(_live_statement("any project"))).all())
    else:
        for chunk in chunks(projects):
            rows.extend((await session.execute(_live_statement("projects"), {"projects": chunk})).all())
    if items is None:
        rows.extend((await session.execute(_live_statement("any item"))).all())
    else:
        for chunk in chunks(items):
            rows.extend((await session.execute(_live_statement("items"), {"items": chunk})).all())
    return rows
