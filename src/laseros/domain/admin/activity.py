"""The activity log as the admin reads it: filtered by who, what kind of record, which action and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.domain.admin.models import User
from laseros.domain.kernel.models import ActivityLog
from laseros.domain.kernel.paging import Export, Page, paginate

# Columns that lead an index of the activity log (ix_activity_log_entity, ix_activity_log_action_created).
_INDEXED_LEADING = frozenset({"entity_type", "action"})
ACTIVITY_EXPORT_COLUMNS = ("id", "created_at", "user_id", "actor", "action", "entity_type", "entity_id", "details")


@dataclass(frozen=True)
class ActivityFilters:
    user_id: int | None = None
    entity_type: str = ""
    action: str = ""
    start: datetime | None = None  # UTC, inclusive
    end: datetime | None = None  # UTC, exclusive


@dataclass(frozen=True)
class ActivityChoices:
    """What the filters offer: the users, and the entity types and actions the log holds."""

    users: list[tuple[int, str]]
    entity_types: list[str]
    actions: list[str]


class ActivityView:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def search_query(self, filters: ActivityFilters) -> Select[ActivityLog]:
        stmt = select(ActivityLog).order_by(ActivityLog.created_at.desc(), ActivityLog.id.desc())
        if filters.user_id is not None:
            stmt = stmt.where(ActivityLog.user_id == filters.user_id)
        if filters.entity_type:
            stmt = stmt.where(ActivityLog.entity_type == filters.entity_type)
        if filters.action:
            stmt = stmt.where(ActivityLog.action == filters.action)
        if filters.start is not None:
            stmt = stmt.where(ActivityLog.created_at >= filters.start)
        if filters.end is not None:
            stmt = stmt.where(ActivityLog.created_at < filters.end)
        return stmt

    async def page(self, filters: ActivityFilters, page: int, per_page: int) -> Page[ActivityLog]:
        return await paginate(self.session, self.search_query(filters), page, per_page)

    def export(self, filters: ActivityFilters) -> Export:
        columns = [getattr(ActivityLog, name) for name in ACTIVITY_EXPORT_COLUMNS]
        return Export("activity.csv", ACTIVITY_EXPORT_COLUMNS, self.search_query(filters).with_only_columns(*columns))

    async def choices(self) -> ActivityChoices:
        users = (
            await self.session.execute(select(User.id, User.display_name).order_by(func.lower(User.display_name)))
        ).all()
        types = await self.distinct_values("entity_type")
        actions = await self.distinct_values("action")
        return ActivityChoices([(row.id, row.display_name) for row in users], types, actions)

    async def distinct_values(self, column: str) -> list[str]:
        """The distinct values of an indexed column, in order, by a loose index scan.

        One index seek per value (``min(col) WHERE col > previous``) instead of SELECT DISTINCT,
        which reads the whole index: at a million rows 0.4 ms against 700 ms (docs/administration.md).
        """
        if column not in _INDEXED_LEADING:
            raise ValueError(f"no index leads with {column!r}")
        statement = text(
            f"WITH RECURSIVE seen(value) AS ("
            f" SELECT min({column}) FROM activity_log"
            f" UNION ALL"
            f" SELECT (SELECT min({column}) FROM activity_log WHERE {column} > seen.value)"
            f" FROM seen WHERE seen.value IS NOT NULL"
            f") SELECT value FROM seen WHERE value IS NOT NULL"
        )
        return [str(value) for value in await self.session.scalars(statement)]
