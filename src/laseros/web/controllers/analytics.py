"""The business reports: /reports (headline figures), production, efficiency, inventory and clients.

Every report reads ``?start=&end=`` (shop dates; default this month), shows its tables and SVG
charts, prints, and answers ``?format=csv`` (admins and managers) with one of its tables — the
same rows the page shows (``?table=``; the first table by default). A date that does not parse,
or an end before the start, re-draws the page with the message beside the field (422).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.params import FromQuery

from laseros.domain.admin.roles import Permission
from laseros.domain.kernel.errors import InvalidInput, NotFound
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.reports.analytics.clients import clients_report
from laseros.domain.reports.analytics.efficiency import efficiency_report
from laseros.domain.reports.analytics.inventory import inventory_report
from laseros.domain.reports.analytics.overview import headlines
from laseros.domain.reports.analytics.period import Period, parse_period, preset_periods
from laseros.domain.reports.analytics.production import GROUPINGS, production_report
from laseros.domain.reports.analytics.tables import Table
from laseros.web.charts import Series, bar_chart
from laseros.web.deps import Calendar, DbSession
from laseros.web.export import cell
from laseros.web.guards import refuse_unless, requires
from laseros.web.htmx import Page, render

REPORTS = (
    ("/reports/production", "Production"),
    ("/reports/efficiency", "Efficiency"),
    ("/reports/inventory", "Inventory"),
    ("/reports/clients", "Clients"),
)


def table_csv(table: Table, name: str, period: Period) -> Response[bytes]:
    """One report table as a CSV download: its column keys, then its rows' values as stored."""
    buffer = io.StringIO()
    buffer.write("\ufeff")  # spreadsheet programs read UTF-8 reliably with a BOM
    writer = csv.writer(buffer)
    writer.writerow(table.header)
    for row in table.rows:
        writer.writerow(["" if value is None else cell(value) for value in row.values])
    filename = f"report-{name}-{table.key}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    return Response(
        content=buffer.getvalue().encode("utf-8"),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _period_context(request: Request, calendar: ShopCalendar, period: Period | None) -> dict[str, Any]:
    today = calendar.today()
    presets = preset_periods(today)
    chosen = next((key for key, _, p in presets if p == period), None)
    return {
        "period": period,
        "presets": presets,
        "chosen_preset": chosen,
        "reports_nav": REPORTS,
        "start_value": request.query_params.get("start", "") if period is None else period.start.isoformat(),
        "end_value": request.query_params.get("end", "") if period is None else period.end.isoformat(),
    }


async def _report_page(
    request: Request,
    calendar: ShopCalendar,
    template: str,
    name: str,
    build: Callable[[Period], Awaitable[dict[str, Any]]],
    format: str,
    table_key: str,
) -> Response[Any]:
    try:
        period = parse_period(request.query_params, calendar.today())
    except InvalidInput as bad:
        context = {**_period_context(request, calendar, None), "errors": bad.errors, "report_name": name}
        return await render(request, template, context, status_code=422)
    if format == "csv":
        refuse_unless(request, Permission.DATA_EXPORT)
    context = await build(period)
    if format == "csv":
        tables: list[Table] = context["tables"]
        chosen = next((t for t in tables if t.key == table_key), None) if table_key else tables[0]
        if chosen is None:
            raise NotFound("This report has no such table.")
        export = context.get("export_tables", {}).get(chosen.key, chosen)
        return table_csv(export, name, period)
    context.update(_period_context(request, calendar, period), errors={}, report_name=name)
    return await render(request, template, context)


def _short(day: date, period: Period) -> str:
    return day.strftime("%d %b") if period.days <= 62 else day.strftime("%d %b %y")


def _month_label(month: str) -> str:
    """'2026-03' as 'Mar 2026'."""
    return date(int(month[:4]), int(month[5:7]), 1).strftime("%b %Y")


class ReportsController(Controller):
    path = "/reports"
    guards = [requires(Permission.PC_VIEW)]

    @get("/")
    async def index(self, request: Request, db_session: DbSession, calendar: Calendar) -> Response[Any]:
        """This period's headline figures, one or two from each report."""

        async def build(period: Period) -> dict[str, Any]:
            return {"headlines": await headlines(db_session, calendar, period), "tables": []}

        try:
            period = parse_period(request.query_params, calendar.today())
        except InvalidInput as bad:
            context = {**_period_context(request, calendar, None), "errors": bad.errors, "report_name": "index"}
            return await render(request, "reports/index.html", context, status_code=422)
        context = await build(period)
        context.update(_period_context(request, calendar, period), errors={}, report_name="index")
        return await render(request, "reports/index.html", context)

    @get("/production")
    async def production(
        self,
        request: Request,
        db_session: DbSession,
        calendar: Calendar,
        by: FromQuery[str] = "",
        format: FromQuery[str] = "",
        table: FromQuery[str] = "",
    ) -> Response[Any]:
        """Runs, cut hours, sheets and parts by day or week, by operator and by material."""

        async def build(period: Period) -> dict[str, Any]:
            report = await production_report(db_session, calendar, period, by if by in GROUPINGS else None)
            labels = [
                _short(b.start, period) if report.grouping == "day" else "w/c " + _short(b.start, period)
                for b in report.buckets
            ]
            hours_chart = bar_chart(
                "chart-cut-hours",
                f"Cut hours per {report.grouping}, with the estimate",
                f"Actual cut hours and estimated hours per {report.grouping} from {period.label}; "
                "the same figures are in the table below the chart.",
                labels,
                [
                    Series("Cut hours", [b.figures.cut_hours for b in report.buckets], "bar-actual"),
                    Series("Estimated hours", [b.figures.estimated_hours for b in report.buckets], "bar-estimate"),
                ],
                unit="h",
            )
            sheets_chart = bar_chart(
                "chart-sheets",
                "Sheets per material",
                f"Sheets cut per material from {period.label}; the same figures are in the table beside the chart.",
                [m for m, _ in report.sheets_by_material],
                [Series("Sheets", [s for _, s in report.sheets_by_material], "bar-actual")],
                unit="sheets",
            )
            return {
                "report": report,
                "tables": report.tables,
                "hours_chart": hours_chart,
                "sheets_chart": sheets_chart,
            }

        return await _report_page(request, calendar, "reports/production.html", "production", build, format, table)

    @get("/efficiency")
    async def efficiency(
        self,
        request: Request,
        db_session: DbSession,
        calendar: Calendar,
        page: FromQuery[int] = 1,
        format: FromQuery[str] = "",
        table: FromQuery[str] = "",
    ) -> Response[Any]:
        """Each completed job's estimated against actual minutes; by material, by operator; calibration."""

        async def build(period: Period) -> dict[str, Any]:
            report = await efficiency_report(db_session, calendar, period, page)
            spread_chart = bar_chart(
                "chart-spread",
                "Efficiency spread",
                f"How many jobs completed from {period.label} fall in each efficiency band "
                "(red below 75 %, amber 75–90 %, green 90 % and over); the same figures are in the table beside.",
                [f"{label} ({mark})" for label, mark, _ in report.spread],
                [Series("Jobs", [count for _, _, count in report.spread], "bar-actual")],
                unit="jobs",
                bar_css=[f"bar-{mark}" for _, mark, _ in report.spread],
            )
            # The job list's CSV holds every job of the period; the page, one page of them.
            export = {"jobs": report.table("jobs", all_jobs=True)} if format == "csv" else {}
            return {"report": report, "tables": report.tables, "export_tables": export, "spread_chart": spread_chart}

        return await _report_page(request, calendar, "reports/efficiency.html", "efficiency", build, format, table)

    @get("/inventory")
    async def inventory(
        self,
        request: Request,
        db_session: DbSession,
        calendar: Calendar,
        format: FromQuery[str] = "",
        table: FromQuery[str] = "",
    ) -> Response[Any]:
        """Valuation by category, low stock, usage by material, purchases against usage."""

        async def build(period: Period) -> dict[str, Any]:
            report = await inventory_report(db_session, calendar, period)
            usage = report.usage.rows
            usage_chart = bar_chart(
                "chart-usage",
                "Stock used per material",
                f"Stock used per material from {period.label}; the same figures are in the table beside the chart.",
                [f"{r.values[0]} {r.values[1]}".strip() for r in usage],
                [Series("Used", [r.values[2] for r in usage], "bar-actual")],
                unit="used",
            )
            return {"report": report, "tables": report.tables, "usage_chart": usage_chart}

        return await _report_page(request, calendar, "reports/inventory.html", "inventory", build, format, table)

    @get("/clients")
    async def clients(
        self,
        request: Request,
        db_session: DbSession,
        calendar: Calendar,
        format: FromQuery[str] = "",
        table: FromQuery[str] = "",
    ) -> Response[Any]:
        """Per client: projects, quoted value, invoiced, paid, average job value, cut hours, last job;
        revenue per month (chart and table)."""

        async def build(period: Period) -> dict[str, Any]:
            report = await clients_report(db_session, calendar, period)
            revenue_chart = bar_chart(
                "chart-revenue",
                "Revenue per month: invoiced and paid",
                f"Rand invoiced (invoices issued, VAT included) and paid (payments received) per month "
                f"from {period.label}; the same figures are in the table beside the chart.",
                [_month_label(m.month) for m in report.months],
                [
                    Series("Invoiced", [m.invoiced for m in report.months], "bar-actual"),
                    Series("Paid", [m.paid for m in report.months], "bar-paid"),
                ],
                unit="R",
            )
            return {"report": report, "tables": report.tables, "revenue_chart": revenue_chart}

        return await _report_page(request, calendar, "reports/clients.html", "clients", build, format, table)


__all__ = ["Page", "ReportsController", "table_csv"]
