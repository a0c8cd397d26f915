"""Shop administration (admin only): the shop settings page."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post

from laseros.domain.admin.roles import Permission
from laseros.domain.admin.schemas import (
    EDITABLE_KEYS,
    PLACEHOLDERS,
    SETTING_LABELS,
    TEMPLATE_KEYS,
    ShopSettingsInput,
)
from laseros.domain.admin.shop_settings import SavedSettings, ShopSettingsEditor, default_value
from laseros.domain.errors import InvalidInput
from laseros.domain.notifications.rules import STAGE_ALERTS
from laseros.web.deps import CurrentActor, DbSession
from laseros.web.forms import FormState, form_values
from laseros.web.guards import requires
from laseros.web.htmx import Page, redirect, render

SETTINGS_URL = "/admin/settings"


def saved_message(saved: SavedSettings) -> str:
    if not saved.changed:
        return "Nothing changed: the settings were already like this."
    names = [SETTING_LABELS[key] for key in saved.changed]
    message = f"Settings saved: {', '.join(names)}." if len(names) <= 3 else f"Settings saved ({len(names)} changed)."
    if "daily_report_time" in saved.changed:
        message += " The new report time applies once the worker restarts."
    if saved.still_used:
        message += f" No longer listed but still in use: {'; '.join(saved.still_used)}."
    return message


class AdminController(Controller):
    path = "/admin"
    guards = [requires(Permission.PC_VIEW), requires(Permission.SETTINGS_EDIT)]

    @get("/settings")
    async def settings_form(self, request: Request, db_session: DbSession, actor: CurrentActor) -> Page:
        current = await ShopSettingsEditor(db_session, actor).current()
        return await self._page(request, FormState(current.values), current.customised)

    @post("/settings")
    async def save_settings(self, request: Request, db_session: DbSession, actor: CurrentActor) -> Response[Any]:
        values = await form_values(request)
        editor = ShopSettingsEditor(db_session, actor)
        try:
            saved = await editor.save(ShopSettingsInput.parse(values))
        except InvalidInput as bad:
            current = await editor.current()
            form = FormState({**current.values, **values}, bad.errors)
            return await self._page(request, form, current.customised, status_code=422)
        level = "warning" if saved.still_used else "success" if saved.changed else "info"
        return redirect(request, SETTINGS_URL, saved_message(saved), level)

    @staticmethod
    async def _page(request: Request, form: FormState, customised: frozenset[str], status_code: int = 200) -> Page:
        context = {
            "form": form,
            "customised": customised,
            "defaults": {key: default_value(key) for key in EDITABLE_KEYS},
            "labels": SETTING_LABELS,
            # (setting, stage, notification type) in the order of the stage-alert table
            "limits": [(alert.setting, stage, alert.notif_type) for stage, alert in STAGE_ALERTS.items()],
            "templates": list(TEMPLATE_KEYS.items()),
            "placeholders": PLACEHOLDERS,
            "timezone": request.app.state.settings.shop_timezone,
        }
        return await render(request, "admin/settings.html", context, status_code=status_code)
