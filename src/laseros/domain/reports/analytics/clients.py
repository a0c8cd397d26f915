"""Clients over a period: their projects, quoted value, invoiced and paid revenue (``revenue.py``),
average job value, cut hours and last job; and the period's revenue per month."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.domain.clients.models import Client
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.projects.models import Project
from laseros.domain.reports.analytics import revenue
from laseros.domain.reports.analytics.period import Period
from laseros.domain.reports.analytics.revenue import ZERO, ClientRevenue, MonthRevenue
from laseros.domain.reports.analytics.sql import hundredths, raw
from laseros.domain.reports.analytics.tables import Column, Kind, Row, Table, hours
from laseros.domain.runs.models import LaserRun, RunStatus


@dataclass(frozen=True)
class ClientLine:
    client_id: int
    client_code: str
    name: str
    projects: int = 0
    cut_minutes: Decimal = Decimal(0)
    last_job_at: datetime | None = None
    money: ClientRevenue = field(default_factory=ClientRevenue)

    @property
    def average_job_value(self) -> Decimal | None:
        """Invoiced ÷ the invoices issued in the period (None without one)."""
        return self.money.average_invoice


@dataclass(frozen=True)
class ClientsReport:
    period: Period
    lines: list[ClientLine]
    months: list[MonthRevenue]
    table: Table
    month_table: Table

    @property
    def quoted_value(self) -> Decimal:
        return sum((line.money.quoted for line in self.lines), Decimal(0))

    @property
    def invoiced(self) -> Decimal:
        return sum((line.money.invoiced for line in self.lines), Decimal(0))

    @property
    def paid(self) -> Decimal:
        return sum((line.money.paid for line in self.lines), Decimal(0))

    @property
    def tables(self) -> list[Table]:
        return [self.table, self.month_table]


async def clients_report(session: AsyncSession, calendar: ShopCalendar, period: Period) -> ClientsReport:
    """Every client with a project created, a run cut, a quote sent, an invoice issued or a payment in the period."""
    first, last = period.utc_range(calendar)
    lines: dict[int, dict[str, Any]] = {}
    created = await session.execute(
        select(
            Project.client_id,
            func.count(Project.id),
        )
        .where(Project.created_at >= first, Project.created_at < last)
        .group_by(Project.client_id)
    )
    for client_id, projects in created:
        lines[client_id] = {"projects": int(projects)}
    cut = await session.execute(
        select(Project.client_id, func.sum(raw(LaserRun.cut_minutes)))
        .join(Project, Project.id == LaserRun.project_id)
        .where(
            LaserRun.status == RunStatus.COMPLETED.value,
            LaserRun.started_at >= first,
            LaserRun.started_at < last,
        )
        .group_by(Project.client_id)
    )
    for client_id, minutes in cut:
        lines.setdefault(client_id, {})["cut_minutes"] = hundredths(minutes)
    for client_id, figures in (await revenue.client_revenue(session, calendar, period)).items():
        lines.setdefault(client_id, {})["money"] = figures
    ids = list(lines)
    clients: dict[int, tuple[str, str]] = {}
    last_job: dict[int, datetime] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for cid, code, name in await session.execute(
            select(Client.id, Client.client_code, Client.name).where(Client.id.in_(chunk))
        ):
            clients[cid] = (code, name)
        for cid, newest in await session.execute(
            select(Project.client_id, func.max(Project.created_at))
            .where(Project.client_id.in_(chunk))
            .group_by(Project.client_id)
        ):
            last_job[cid] = newest if isinstance(newest, datetime) else datetime.fromisoformat(str(newest))
    result = [
        ClientLine(
            client_id=cid,
            client_code=clients.get(cid, ("", ""))[0],
            name=clients.get(cid, ("", f"Client {cid}"))[1],
            last_job_at=last_job.get(cid),
            **values,
        )
        for cid, values in lines.items()
        if cid in clients
    ]
    result.sort(key=lambda line: (-line.money.invoiced, -line.money.quoted, -line.cut_minutes, line.name))
    months = await revenue.revenue_by_month(session, period)
    return ClientsReport(period, result, months, _table(result, calendar), _month_table(months))


def _table(lines: list[ClientLine], calendar: ShopCalendar) -> Table:
    columns = [
        Column("client_code", "Code"),
        Column("client", "Client"),
        Column("projects", "Projects", Kind.COUNT),
        Column("quoted_value", "Quoted value", Kind.MONEY),
        Column("average_job_value", "Average job value", Kind.MONEY),
        Column("cut_hours", "Cut hours", Kind.HOURS),
        Column("invoiced", "Invoiced", Kind.MONEY),
        Column("paid", "Paid", Kind.MONEY),
        Column("last_job_on", "Last job", Kind.DATE),
    ]
    rows = []
    for line in lines:
        values: list[Any] = [
            line.client_code,
            line.name,
            line.projects,
            line.money.quoted,
            line.average_job_value,
            hours(line.cut_minutes),
            line.money.invoiced,
            line.money.paid,
            calendar.local(line.last_job_at).date() if line.last_job_at else None,
        ]
        link = f"/clients/{line.client_id}"
        rows.append(Row(tuple(values), links={"client_code": link, "client": link}))
    return Table(
        key="clients",
        title="Clients",
        columns=tuple(columns),
        rows=rows,
        total=Row(
            (
                "",
                "Total",
                sum(line.projects for line in lines),
                sum((line.money.quoted for line in lines), ZERO),
                None,
                hours(sum((line.cut_minutes for line in lines), Decimal(0))),
                sum((line.money.invoiced for line in lines), ZERO),
                sum((line.money.paid for line in lines), ZERO),
                None,
            )
        ),
        empty=(
            "No client had a project created, a run cut, a quote sent, an invoice issued or a payment in this period."
        ),
        note=(
            "Projects: created in the period; quoted value: quotes sent in it (VAT included; a quote whose "
            "revision was sent counts once, as the revision); invoiced: invoices issued in it, VAT included "
            "(never drafts or void invoices); paid: payments dated in it; average job value: invoiced ÷ those "
            "invoices; cut hours: runs started in it; last job: the client's newest project, whenever it was created."
        ),
    )


def _month_table(months: list[MonthRevenue]) -> Table:
    return Table(
        key="revenue_by_month",
        title="Revenue per month",
        columns=(
            Column("month", "Month"),
            Column("invoiced", "Invoiced", Kind.MONEY),
            Column("paid", "Paid", Kind.MONEY),
        ),
        rows=[Row((m.month, m.invoiced, m.paid)) for m in months],
        total=Row(("Total", sum((m.invoiced for m in months), ZERO), sum((m.paid for m in months), ZERO))),
        note=(
            "Invoiced: invoices issued in the month; paid: payments dated in it. The first and last months "
            "count only their days inside the period."
        ),
    )
