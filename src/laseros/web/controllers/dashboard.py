"""The office's start page."""

from __future__ import annotations

from litestar import Controller, Request, get

from laseros.domain.admin.roles import Permission
from laseros.domain.billing.summary import billing_counts
from laseros.domain.reports.services import dashboard_summary
from laseros.web.deps import Calendar, DbSession
from laseros.web.guards import requires
from laseros.web.htmx import Page, render


class DashboardController(Controller):
    path = "/dashboard"
    guards = [requires(Permission.PC_VIEW)]

    @get("/")
    async def index(self, request: Request, db_session: DbSession, calendar: Calendar) -> Page:
        summary = await dashboard_summary(db_session, calendar)
        billing = await billing_counts(db_session, calendar)
        return await render(request, "dashboard/index.html", {"summary": summary, "billing": billing})
