"""One page of a list, counted and sliced in SQL; and a whole list as an export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.total, self.page * self.per_page)


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    page: int,
    per_page: int,
    *,
    count: Select[Any] | None = None,
    total: int | None = None,
) -> Page[Any]:
    """Run ``stmt`` for one page, with a COUNT over the same filters; a page past the last shows the last.

    ``count``: a cheaper statement giving the same total (the rows without the joins that only add columns);
    ``total``: the total, already counted by the caller.
    """
    if total is None:
        if count is None:
            count = select(func.count()).select_from(stmt.order_by(None).subquery())
        total = await session.scalar(count) or 0
    page = min(max(1, page), max(1, -(-total // per_page)))
    rows = (await session.scalars(stmt.limit(per_page).offset((page - 1) * per_page))).unique().all()
    return Page(items=list(rows), total=total, page=page, per_page=per_page)


async def stream_rows(session: AsyncSession, stmt: Select[Any]) -> AsyncIterator[Row[Any]]:
    """Every row of ``stmt``, fetched 500 at a time from a server-side cursor (for exports)."""
    result = await session.stream(stmt.execution_options(yield_per=500))
    async for row in result:
        yield row


@dataclass(frozen=True)
class Export:
    """A list as a spreadsheet: its file name, its header row and the statement whose rows follow.

    Built by a service for its list's filters; streamed by the web layer (``web.export``) through a
    read session of its own, so the rows are read after the request's session has closed.
    """

    filename: str
    header: tuple[str, ...]
    statement: Select[Any]

    def rows(self, session: AsyncSession) -> AsyncIterator[Row[Any]]:
        return stream_rows(session, self.statement)
