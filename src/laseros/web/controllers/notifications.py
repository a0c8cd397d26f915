"""The bell: the list of open notifications, their count, resolving one, and the live stream."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from litestar import Controller, Request, Response, get, post
from litestar.params import FromQuery
from litestar.response import ServerSentEvent, Stream
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE

from laseros.domain.admin.roles import Permission
from laseros.domain.kernel.errors import NotFound
from laseros.domain.notifications.models import NotificationType
from laseros.domain.notifications.services import NotificationService
from laseros.web.deps import Db, Hub, Notifications, PageSize
from laseros.web.export import csv_export
from laseros.web.forms import filter_id, form_values
from laseros.web.guards import requires
from laseros.web.htmx import Page, is_fragment_request, redirect, render

LIST_URL = "/notifications/list"
# What the bell's dropdown shows; the rest are a click away on the full list.
DROPDOWN_SIZE = 8
# Addresses that are not pages: never a place to send someone back to after resolving.
_NOT_PAGES = ("/notifications/count", "/notifications/stream", "/notifications/resolve", "/static/")


def _back(request: Request) -> str:
    """The page of this site the user resolved from (without JS), else the full list."""
    parts = urlsplit(request.headers.get("referer", ""))
    if parts.netloc and parts.netloc != request.headers.get("host"):
        return LIST_URL
    path = parts.path
    if not path.startswith("/") or path.startswith("//") or path.startswith(_NOT_PAGES):
        return LIST_URL
    return urlunsplit(("", "", path, parts.query, ""))


class NotificationController(Controller):
    """Every logged-in role sees the bell; only admin and manager resolve (SPEC §2)."""

    path = "/notifications"

    @get("/list")
    async def index(
        self,
        request: Request,
        db: Db,
        notifications: Notifications,
        page_size: PageSize,
        status: FromQuery[str] = "open",
        type: FromQuery[str] = "",
        page: FromQuery[int] = 1,
        format: FromQuery[str] = "",
    ) -> Page | Stream:
        include_resolved = status == "all"
        # An unknown type shows every type (the filter is a convenience, not input to refuse).
        notif_type = NotificationType(type) if type in {t.value for t in NotificationType} else None
        if format == "csv":
            return csv_export(
                request, db, notifications.export(include_resolved=include_resolved, notif_type=notif_type)
            )
        return await self._list(
            request,
            notifications,
            include_resolved=include_resolved,
            notif_type=notif_type,
            page=page,
            page_size=page_size,
        )

    @get("/count")
    async def count(self, notifications: Notifications) -> Response[dict[str, int]]:
        """The bell's number from the database (what pages poll when the live stream is down)."""
        return Response({"count": await notifications.count()}, headers={"Cache-Control": "no-store"})

    @post("/resolve", guards=[requires(Permission.ALERTS_RESOLVE)])
    async def resolve(self, request: Request, notifications: Notifications) -> Response[Any]:
        notif_id = filter_id((await form_values(request)).get("notif_id", ""))
        if notif_id is None:
            return await self._list(request, notifications, error="Choose a notification to resolve.", status_code=422)
        try:
            resolved = await notifications.resolve(notif_id)
        except NotFound:
            error = "That notification does not exist (any more)."
            return await self._list(request, notifications, error=error, status_code=404)
        if is_fragment_request(request):
            # The dropdown, refreshed; render() adds the bell's new count out of band.
            return await self._list(request, notifications)
        return redirect(request, _back(request), f"Resolved: {resolved.type_label} — {resolved.message}")

    @get("/stream")
    async def stream(self, bell_hub: Hub) -> Response[Any]:
        """Server-sent events: the bell's badge now and on every change, from this process's one subscription."""
        hub = bell_hub
        if hub is None or not hub.live:
            # EventSource gives up on a non-200; the page polls /notifications/count meanwhile.
            return Response(
                {"error": "Live updates are unavailable; the count is polled instead."},
                status_code=HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": "5"},
            )
        return ServerSentEvent(hub.stream())

    @staticmethod
    async def _list(
        request: Request,
        notifications: NotificationService,
        *,
        page_size: int = DROPDOWN_SIZE,
        include_resolved: bool = False,
        notif_type: NotificationType | None = None,
        page: int = 1,
        error: str | None = None,
        status_code: int = 200,
    ) -> Page:
        """The full list page (PC or phone layout), or for htmx the bell's dropdown."""
        user = request.user
        dropdown = is_fragment_request(request)
        per_page = DROPDOWN_SIZE if dropdown else page_size
        listing = await notifications.page(
            include_resolved=include_resolved, notif_type=notif_type, page=page, per_page=per_page
        )
        phone = not user.can(Permission.PC_VIEW) or user.mode == "phone"
        context = {
            "layout": "phone/base.html" if phone else "base.html",
            "listing": listing,
            "open_count": listing.total if not include_resolved else await notifications.count(),
            "status": "all" if include_resolved else "open",
            "notif_type": notif_type,
            "dropdown": dropdown,
            "error": error,
        }
        return await render(request, "notifications/list.html", context, block="notif_list", status_code=status_code)
