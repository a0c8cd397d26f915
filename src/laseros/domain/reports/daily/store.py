"""Storing daily reports (one row per shop date) and reading them back."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from laseros.db import Database, utcnow
from laseros.domain.kernel.errors import NotFound
from laseros.domain.kernel.paging import Page, paginate
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.reports.daily.data import ReportData, highlights
from laseros.domain.reports.daily.gather import gather
from laseros.domain.reports.models import DailyReport

# What regenerating a date replaces. ``body_text`` is set to NULL: a report with data is rendered
# from it, and a text stored before there was data must not outlive the data that replaced it.
_REPLACED = ("generated_at", "generated_by", "data", "body_text", "highlights")


async def _store(session: AsyncSession, data: ReportData) -> DailyReport:
    """Insert or replace the date's report in one statement, commit, and return the row."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {
        "report_date": data.report_date,
        "generated_at": data.generated_at,
        "generated_by": data.generated_by[:120],
        "data": data.to_json(),
        "body_text": None,
        "highlights": highlights(data),
    }
    row = insert(DailyReport).values(**values)
    upsert = row.on_conflict_do_update(
        index_elements=[DailyReport.report_date], set_={name: row.excluded[name] for name in _REPLACED}
    )
    # RETURNING hands back the stored row, so nothing is read after the commit.
    stmt = upsert.returning(DailyReport).execution_options(populate_existing=True)
    report = (await session.scalars(stmt)).one()
    await session.commit()
    return report


async def generate_daily_report(
    session: AsyncSession | Database,
    calendar: ShopCalendar,
    report_date: date | None = None,
    *,
    generated_by: str,
    now: datetime | None = None,
) -> DailyReport:
    """Build the report for ``report_date`` (default: the shop's today), store it (one row per
    date: regenerating replaces it), commit, and return it.

    Given a ``Database``, the reading happens in a read session and only the upsert takes the
    write lock (the job path). Given a write session, everything runs in it and it is committed.
    """
    report_date = report_date or calendar.today()
    now = now or utcnow()
    if isinstance(session, Database):
        async with session.session(write=False) as reader:
            data = await gather(reader, calendar, report_date, now=now, generated_by=generated_by)
        async with session.session(write=True) as writer:
            return await _store(writer, data)
    return await _store(session, await gather(session, calendar, report_date, now=now, generated_by=generated_by))


def report_data(report: DailyReport) -> ReportData | None:
    """What a stored report says, or None for a report stored as text only (before 0004)."""
    return ReportData.from_json(report.data) if report.data is not None else None


class DailyReports:
    """The stored reports: the latest, one by id, and the history list (newest date first)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def latest(self) -> DailyReport | None:
        return await self.session.scalar(select(DailyReport).order_by(DailyReport.report_date.desc()).limit(1))

    async def get(self, report_id: int) -> DailyReport:
        report = await self.session.get(DailyReport, report_id)
        if report is None:
            raise NotFound(f"There is no daily report #{report_id}.")
        return report

    async def history(self, page: int = 1, per_page: int = 30) -> Page[DailyReport]:
        """One page of reports by date (the unique index on ``report_date`` orders it), without their content."""
        stmt = select(DailyReport).options(
            defer(DailyReport.data, raiseload=True), defer(DailyReport.body_text, raiseload=True)
        )
        return await paginate(self.session, stmt.order_by(DailyReport.report_date.desc()), page, per_page)


async def history_page(db: Database, page: int = 1, per_page: int = 30) -> Page[DailyReport]:
    """One page of the history through its own read session (for a caller that holds none)."""
    async with db.session(write=False) as session:
        return await DailyReports(session).history(page, per_page)
