"""The reports index: this period's headline figures, one from each report."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.projects.models import Project
from laseros.domain.reports.analytics import revenue
from laseros.domain.reports.analytics.efficiency import badge, completed_jobs
from laseros.domain.reports.analytics.inventory import low_stock_table, valuation_by_category
from laseros.domain.reports.analytics.period import Period
from laseros.domain.reports.analytics.production import Figures, production_totals
from laseros.domain.reports.analytics.tables import percent


@dataclass(frozen=True)
class Headlines:
    period: Period
    production: Figures
    completed_jobs: int
    measured_jobs: int
    efficiency: Decimal | None  # Σ estimated ÷ Σ actual over the measured jobs
    red_jobs: int
    projects_created: int
    quoted_value: Decimal  # Σ quotes sent in the period (revenue.py)
    invoiced: Decimal  # Σ invoices issued in the period
    paid: Decimal  # Σ payments dated in the period
    stock_value: Decimal
    low_stock: int

    @property
    def efficiency_badge(self) -> str:
        return badge(self.efficiency)


async def headlines(session: AsyncSession, calendar: ShopCalendar, period: Period) -> Headlines:
    first, last = period.utc_range(calendar)
    production = await production_totals(session, calendar, period)
    jobs = await completed_jobs(session, calendar, period)
    measured = [job for job in jobs if job.measurable]
    estimated = sum((Decimal(job.estimated_minutes or 0) for job in measured), Decimal(0))
    actual = sum((job.actual_minutes for job in measured), Decimal(0))
    created = await session.scalar(
        select(func.count(Project.id)).where(Project.created_at >= first, Project.created_at < last)
    )
    _, stock_value, _ = await valuation_by_category(session)
    low = await low_stock_table(session)
    money = (await revenue.client_revenue(session, calendar, period)).values()
    return Headlines(
        period=period,
        production=production,
        completed_jobs=len(jobs),
        measured_jobs=len(measured),
        efficiency=percent(estimated, actual),
        red_jobs=sum(1 for job in measured if job.badge == "red"),
        projects_created=int(created or 0),
        quoted_value=sum((m.quoted for m in money), revenue.ZERO),
        invoiced=sum((m.invoiced for m in money), revenue.ZERO),
        paid=sum((m.paid for m in money), revenue.ZERO),
        stock_value=stock_value,
        low_stock=len(low.rows),
    )
