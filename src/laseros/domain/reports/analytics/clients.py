"""Clients over a period: their projects, quoted value, cut hours, average job value and last job;
invoiced and paid revenue once the revenue seam (``revenue.client_revenue``) has a source."""

from __future__ import annotations

from dataclasses import dataclass
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
from laseros.domain.reports.analytics.sql import hundredths, raw
from laseros.domain.reports.analytics.tables import Column, Kind, Row, Table, hours
from laseros.domain.runs.models import LaserRun, RunStatus

REVENUE_MISSING = "Invoiced and paid revenue are not shown yet: the reports have no invoice source (docs/reports.md)."


@dataclass(frozen=True)
class ClientLine:
    client_id: int
    client_code: str
    name: str
    projects: int = 0
    priced_projects: int = 0
    quoted_value: Decimal = Decimal(0)
    cut_minutes: Decimal = Decimal(0)
    last_job_at: datetime | None = None
    invoiced: Decimal | None = None
    paid: Decimal | None = None

    @property
    def average_job_value(self) -> Decimal | None:
        """Quoted value ÷ the period's projects that carry a quoted price (None without one)."""
        if not self.priced_projects:
            return None
        return (self.quoted_value / self.priced_projects).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class ClientsReport:
    period: Period
    lines: list[ClientLine]
    has_revenue: bool
    table: Table

    @property
    def quoted_value(self) -> Decimal:
        return sum((line.quoted_value for line in self.lines), Decimal(0))

    @property
    def tables(self) -> list[Table]:
        return [self.table]


async def clients_report(session: AsyncSession, calendar: ShopCalendar, period: Period) -> ClientsReport:
    """Every client with a project created, a run cut or (with a revenue source) revenue in the period."""
    first, last = period.utc_range(calendar)
    lines: dict[int, dict[str, Any]] = {}
    created = await session.execute(
        select(
            Project.client_id,
            func.count(Project.id),
            func.count(Project.quoted_price),
            func.sum(raw(Project.quoted_price)),
        )
        .where(Project.created_at >= first, Project.created_at < last)
        .group_by(Project.client_id)
    )
    for client_id, projects, priced, quoted in created:
        lines[client_id] = {
            "projects": int(projects),
            "priced_projects": int(priced),
            "quoted_value": hundredths(quoted),
        }
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
    money = await revenue.client_revenue(session, calendar, period, None)
    if money is not None:
        for client_id, figures in money.items():
            lines.setdefault(client_id, {}).update(invoiced=figures.invoiced, paid=figures.paid)
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
    result.sort(key=lambda line: (-line.quoted_value, -line.cut_minutes, line.name))
    return ClientsReport(period, result, money is not None, _table(result, money is not None, calendar))


def _table(lines: list[ClientLine], has_revenue: bool, calendar: ShopCalendar) -> Table:
    columns = [
        Column("client_code", "Code"),
        Column("client", "Client"),
        Column("projects", "Projects", Kind.COUNT),
        Column("quoted_value", "Quoted value", Kind.MONEY),
        Column("average_job_value", "Average job value", Kind.MONEY),
        Column("cut_hours", "Cut hours", Kind.HOURS),
    ]
    if has_revenue:
        columns += [Column("invoiced", "Invoiced", Kind.MONEY), Column("paid", "Paid", Kind.MONEY)]
    columns.append(Column("last_job_on", "Last job", Kind.DATE))
    rows = []
    for line in lines:
        values: list[Any] = [
            line.client_code,
            line.name,
            line.projects,
            line.quoted_value,
            line.average_job_value,
            hours(line.cut_minutes),
        ]
        if has_revenue:
            values += [line.invoiced or Decimal("0.00"), line.paid or Decimal("0.00")]
        values.append(calendar.local(line.last_job_at).date() if line.last_job_at else None)
        link = f"/clients/{line.client_id}"
        rows.append(Row(tuple(values), links={"client_code": link, "client": link}))
    return Table(
        key="clients",
        title="Clients",
        columns=tuple(columns),
        rows=rows,
        empty="No client had a project created or a run cut in this period.",
        note=(
            "Projects and quoted value: projects created in the period; cut hours: runs started in it; "
            "average job value: quoted value ÷ those projects with a quoted price; last job: the client's "
            "newest project, whenever it was created." + ("" if has_revenue else " " + REVENUE_MISSING)
        ),
    )
