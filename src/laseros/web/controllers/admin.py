"""Shop administration (admin only): the shop settings page."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Controller, Request, Response, get, post

from laseros.domain.admin.roles import Permission
from laseros.domain.kernel.errors import InvalidInput
from laseros.domain.kernel.message_templates import PLACEHOLDERS
from laseros.domain.kernel.registry import BY_KEY, DAILY_REPORT_TIME, GROUPS, SETTINGS
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.notifications.rules import STAGE_ALERTS
from laseros.domain.shop_settings.schemas import ShopSettingsInput
from laseros.domain.shop_settings.services import SavedSettings, ShopSettingsEditor
from laseros.web.deps import Calendar, CurrentActor, DbSession
from laseros.web.forms import FormState, form_values
from laseros.web.guards import requires
from laseros.web.htmx import Page, redirect, render

SETTINGS_URL = "/admin/settings"
# The page's sections, each with its settings in the registry's order.
_GROUPED = [(group, [s for s in SETTINGS if s.group == group]) for group in GROUPS]


def saved_message(saved: SavedSettings) -> str:
    if not saved.changed:
        return "Nothing changed: the settings were already like this."
    names = [BY_KEY[key].label for key in saved.changed]
    message = f"Settings saved: {', '.join(names)}." if len(names) <= 3 else f"Settings saved ({len(names)} changed)."
    if DAILY_REPORT_TIME.key in saved.changed:
        message += " The new report time takes effect within a minute."
    if saved.still_used:
        message += f" No longer listed but still in use: {'; '.join(saved.still_used)}."
    return message


class AdminController(Controller):
    path = "/admin"
    guards = [requires(Permission.PC_VIEW), requires(Permission.SETTINGS_EDIT)]

    @get("/settings")
    async def settings_form(
        self, request: Request, db_session: DbSession, actor: CurrentActor, calendar: Calendar
    ) -> Page:
        current = await ShopSettingsEditor(db_session, actor).current()
        return await self._page(request, calendar, FormState(current.values), current.customised)

    @post("/settings")
    async def save_settings(
        self, request: Request, db_session: DbSession, actor: CurrentActor, calendar: Calendar
    ) -> Response[Any]:
        values = await form_values(request)
        editor = ShopSettingsEditor(db_session, actor)
        try:
            # Off the event loop: checking a message template renders it (up to its time limit).
            data = await anyio.to_thread.run_sync(ShopSettingsInput.parse, values)
            saved = await editor.save(data)
        except InvalidInput as bad:
            current = await editor.current()
            form = FormState({**current.values, **values}, bad.errors)
            return await self._page(request, calendar, form, current.customised, status_code=422)
        level = "warning" if saved.still_used else "success" if saved.changed else "info"
        return redirect(request, SETTINGS_URL, saved_message(saved), level)

    @staticmethod
    async def _page(
        request: Request, calendar: ShopCalendar, form: FormState, customised: frozenset[str], status_code: int = 200
    ) -> Page:
        context = {
            "form": form,
            "customised": customised,
            "groups": _GROUPED,
            "limit_stages": {alert.setting.key: stage for stage, alert in STAGE_ALERTS.items()},
            "placeholders": PLACEHOLDERS,
            "timezone": calendar.zone.key,
        }
        return await render(request, "admin/settings.html", context, status_code=status_code)
