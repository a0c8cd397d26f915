"""Listing and resolving notifications (the bell's dropdown and the full list)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from laseros.db import UnitOfWork, action, utcnow
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.errors import NotFound
from laseros.domain.kernel.paging import Export, Page, paginate
from laseros.domain.notifications.bell import announce_after_commit, is_open, open_count
from laseros.domain.notifications.models import Notification, NotificationType

EXPORT_COLUMNS = (
    "id", "notif_type", "subject_key", "project_id", "inventory_item_id", "message", "severity", "created_at",
    "resolved_at", "auto_cleared",
)  # fmt: skip


class NotificationService:
    def __init__(self, session: UnitOfWork, actor: Actor) -> None:
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

    @action
    async def resolve(self, notif_id: int) -> Notification:
        """Resolve by hand: it leaves the bell, and the same condition is not raised again until it ends. Commits."""
        found = await self.get(notif_id)
        if found.resolved_at is None:
            found.resolved_at = utcnow()
            found.resolved_by_id = self.actor.user_id
            record_activity(
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
                .where(is_open())
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

    def export(self, *, include_resolved: bool = False, notif_type: NotificationType | None = None) -> Export:
        columns = (getattr(Notification, name) for name in EXPORT_COLUMNS)
        stmt = self.list_query(include_resolved=include_resolved, notif_type=notif_type)
        return Export("notifications.csv", EXPORT_COLUMNS, stmt.with_only_columns(*columns))
