"""The daily report pages: the latest report with its history, one report, its .txt, and "Generate now".

Both the page and the .txt are rendered from the report's stored data (``ReportData``): the page by
``templates/reports/daily.html``, the text by ``templates/reports/daily.txt``. A report stored
before there was data (migration 0004) shows and downloads its stored text.
"""

from __future__ import annotations

import json
import re
from typing import Any

import anyio.to_thread
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import FromPath, FromQuery

from laseros.domain.admin.roles import Permission
from laseros.domain.kernel.errors import NotFound
from laseros.domain.kernel.registry import DAILY_REPORT_TIME
from laseros.domain.kernel.settings import SettingsService
from laseros.domain.reports.daily import (
    BLOCKED_AND_STALLED,
    CLIENTS_TO_CONTACT,
    CUT_TODAY,
    MATERIAL_TO_ORDER,
    NOTHING,
    SECTIONS,
    YESTERDAYS_PRODUCTION,
    DailyReport,
    DailyReports,
    ReportData,
    generate_daily_report,
    history_page,
    report_data,
    section_count,
)
from laseros.web.deps import Calendar, CurrentActor, Db, DbSession
from laseros.web.guards import requires
from laseros.web.htmx import Page, is_fragment_request, render
from laseros.web.templating import render_text

HISTORY_PAGE = 30
_REF = re.compile(r"(\d{1,12})(\.txt)?")
# The headings by name, for both templates.
HEADINGS: dict[str, Any] = {
    "CUT_TODAY": CUT_TODAY,
    "MATERIAL_TO_ORDER": MATERIAL_TO_ORDER,
    "CLIENTS_TO_CONTACT": CLIENTS_TO_CONTACT,
    "BLOCKED_AND_STALLED": BLOCKED_AND_STALLED,
    "YESTERDAYS_PRODUCTION": YESTERDAYS_PRODUCTION,
    "NOTHING": NOTHING,
}


def daily_text(data: ReportData) -> str:
    """The report as plain text: a header, then the five sections in order."""
    return render_text("reports/daily.txt", {**HEADINGS, "report": data})


def report_text(report: DailyReport) -> str:
    """What the .txt of a stored report says: rendered from its data, or the text stored before 0004."""
    data = report_data(report)
    return daily_text(data) if data is not None else report.body_text or ""


async def download(report: DailyReport) -> Response[bytes]:
    """The report as a plain-text attachment named after its date."""
    text = await anyio.to_thread.run_sync(report_text, report)
    return Response(
        content=text.encode("utf-8"),
        media_type=MediaType.TEXT,  # Litestar adds "; charset=utf-8"
        headers={
            "Content-Disposition": f'attachment; filename="DailyReport_{report.report_date.isoformat()}.txt"',
            "Cache-Control": "no-store",
        },
    )


class DailyReportController(Controller):
    path = "/reports/daily"
    guards = [requires(Permission.PC_VIEW)]

    @get("/")
    async def index(self, request: Request, db_session: DbSession, page: FromQuery[int] = 1) -> Page:
        """The latest report and the history; an htmx request for a later page gets just those rows."""
        reports = DailyReports(db_session)
        history = await reports.history(page, HISTORY_PAGE)
        if is_fragment_request(request):
            return await render(request, "reports/daily.html", {"history": history}, block="history_rows")
        return await self._page(request, db_session, await reports.latest(), history)

    @get("/{ref:str}")
    async def show(self, request: Request, db_session: DbSession, ref: FromPath[str]) -> Response[Any]:
        """``/reports/daily/12`` shows report 12; ``/reports/daily/12.txt`` downloads it."""
        match = _REF.fullmatch(ref)
        if match is None:
            raise NotFound("There is no such daily report.")
        reports = DailyReports(db_session)
        report = await reports.get(int(match.group(1)))
        if match.group(2):
            return await download(report)
        return await self._page(request, db_session, report, await reports.history(1, HISTORY_PAGE))

    @post("/generate", guards=[requires(Permission.REPORTS_GENERATE)], status_code=200)
    async def generate(self, request: Request, db: Db, calendar: Calendar, actor: CurrentActor) -> Response[Any]:
        """Build today's report now (replacing today's if there is one) and hand it over as a .txt.

        It reads through its own read session and writes one upsert, so the write lock is held for
        a single statement, not for the whole report. An htmx request gets the new report's
        fragment (and the history) instead, with an event that starts the download (app.js).
        """
        report = await generate_daily_report(db, calendar, generated_by=actor.name)
        if not is_fragment_request(request):
            return await download(report)
        history = await history_page(db, 1, HISTORY_PAGE)
        context = {**self._report_context(report, report.id), "history": history, "oob_history": True}
        response = await render(request, "reports/daily.html", context, blocks=["report", "history"])
        response.headers["HX-Trigger"] = json.dumps(
            {"report-generated": {"download": f"/reports/daily/{report.id}.txt"}}
        )
        return response

    @staticmethod
    def _report_context(report: DailyReport | None, latest_id: int | None) -> dict[str, Any]:
        marks = (report.highlights or {}) if report else {}
        return {
            **HEADINGS,
            "report": report,
            "data": report_data(report) if report else None,
            "counts": {title: section_count(marks, title) for title in SECTIONS},
            "is_latest": report is not None and report.id == latest_id,
        }

    async def _page(self, request: Request, session: DbSession, report: DailyReport | None, history: Any) -> Page:
        latest = history.items[0].id if history.page == 1 and history.items else None
        if latest is None and report is not None:
            newest = await DailyReports(session).latest()
            latest = newest.id if newest else None
        context = {
            **self._report_context(report, latest),
            "history": history,
            "report_time": (await SettingsService(session).get(DAILY_REPORT_TIME)).strftime("%H:%M"),
        }
        return await render(request, "reports/daily.html", context)
