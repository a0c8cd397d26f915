"""The sign-in log (admins): every attempt with its address, the usernames locked now, and unlocking one."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromQuery
from litestar.response import Stream

from laseros.domain.admin.roles import Permission
from laseros.domain.admin.services import LoginFilters, LoginLog
from laseros.web.deps import Auth, Calendar, CurrentActor, Db, DbSession, PageSize
from laseros.web.export import csv_export
from laseros.web.forms import filter_date, form_values
from laseros.web.guards import requires
from laseros.web.htmx import Page, redirect, render

URL = "/admin/logins"


class LoginLogController(Controller):
    path = URL
    guards = [requires(Permission.PC_VIEW), requires(Permission.USERS_MANAGE)]

    @get("/")
    async def index(
        self,
        request: Request,
        db: Db,
        db_session: DbSession,
        auth_service: Auth,
        calendar: Calendar,
        page_size: PageSize,
        username: FromQuery[str] = "",
        success: FromQuery[str] = "",
        address: FromQuery[str] = "",
        start: FromQuery[str] = "",
        end: FromQuery[str] = "",
        page: FromQuery[int] = 1,
        format: FromQuery[str] = "",
    ) -> Page | Stream:
        first, last = calendar.utc_range(filter_date(start), filter_date(end))
        filters = LoginFilters(
            username=username.strip()[:80],
            success={"yes": True, "no": False}.get(success),
            address=address.strip()[:45],
            start=first,
            end=last,
        )
        log = LoginLog(db_session)
        if format == "csv":
            return csv_export(request, db, log.export(filters))
        context = {
            "page": await log.page(filters, page, page_size),
            "locked": await auth_service.locked_usernames(),
            "filters": {"username": username, "success": success, "address": address, "start": start, "end": end},
        }
        return await render(request, "admin/logins.html", context, block="results")

    @post("/unlock")
    async def unlock(self, request: Request, auth_service: Auth, actor: CurrentActor) -> Response[Any]:
        username = (await form_values(request)).get("username", "").strip()
        if await auth_service.unlock(username, actor):
            return redirect(request, URL, f"{username} can sign in again.")
        return redirect(request, URL, f"{username or 'That username'} was not locked.", "info")
