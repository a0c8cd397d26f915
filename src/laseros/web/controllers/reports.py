"""The daily report pages: the latest report with its history, one report, its .txt, and "Generate now"."""

from __future__ import annotations

import json
import re
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import FromPath, FromQuery

from laseros.domain.admin.roles import Permission
from laseros.domain.kernel.errors import NotFound
from laseros.domain.kernel.registry import DAILY_REPORT_TIME
from laseros.domain.kernel.settings import SettingsService
from laseros.domain.reports.daily import (
    DailyReport,
    DailyReports,
    generate_daily_report,
    history_page,
    section_count,
    split_sections,
)
from laseros.web.deps import Calendar, CurrentActor, Db, DbSession
from laseros.web.guards import requires
from laseros.web.htmx import Page, is_fragment_request, render

HISTORY_PAGE = 30
_REF = re.compile(r"(\d{1,12})(\.txt)?")


def download(report: DailyReport) -> Response[bytes]:
    """The report as a plain-text attachment named after its date."""
    return Response(
        content=report.body_text.encode("utf-8"),
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
            return download(report)
        return await self._page(request, db_session, report, await reports.history(1, HISTORY_PAGE))

    @post("/generate", guards=[requires(Permission.REPORTS_GENERATE)], status_code=200)
    async def generate(self, request: Request, db: Db, calendar: Calendar, actor: CurrentActor) -> Response[Any]:
        """Build today's report now (replacing today's if there is one) and hand it over as a .txt.

        It reads through its own read session and writes one upsert, so the write lock is held for
        a single statement, not for the whole report. An htmx request gets the new report's
        fragment (and the history) instead, with an event that starts the download.
        """
        report = await generate_daily_report(db, calendar, generated_by=actor.name)
        if not is_fragment_request(request):
            return download(report)
        history = await history_page(db, 1, HISTORY_PAGE)
        context = {**self._report_context(report, report.id), "history": history, "oob_history": True}
        response = await render(request, "reports/daily.html", context, blocks=["report", "history"])
        response.headers["HX-Trigger"] = json.dumps(
            {"report-generated": {"download": f"/reports/daily/{report.id}.txt"}}
        )
        return response

    @staticmethod
    def _report_context(report: DailyReport | None, latest_id: int | None) -> dict[str, Any]:
        header, sections = split_sections(report.body_text) if report else ([], [])
        marks = (report.highlights or {}) if report else {}
        return {
            "report": report,
            "header": header,
            "sections": [(title, text, section_count(marks, title)) for title, text in sections],
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
