"""Shop administration (admin only): the shop settings page, users, the role matrix and the activity log."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from litestar import Controller, Litestar, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery
from litestar.response import File, Stream

from laseros.db import UnitOfWork
from laseros.domain.admin.activity import ActivityFilters, ActivityView
from laseros.domain.admin.models import User
from laseros.domain.admin.roles import PERMISSION_LABELS, PERMISSIONS, ROLE_LABELS, Permission, Role
from laseros.domain.admin.users import UserAdmin, UserInput, parse_new_password, user_export
from laseros.domain.files.services import FileTooLarge
from laseros.domain.kernel.actor import SYSTEM
from laseros.domain.kernel.errors import Conflict, InvalidInput, NotFound
from laseros.domain.kernel.message_templates import PLACEHOLDERS
from laseros.domain.kernel.registry import BY_KEY, DAILY_REPORT_TIME, GROUPS, SETTINGS
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.notifications.rules import STAGE_ALERTS
from laseros.domain.shop_settings.logo import MAX_LOGO_BYTES, LogoService, LogoTooLarge
from laseros.domain.shop_settings.schemas import ShopSettingsInput
from laseros.domain.shop_settings.services import SavedSettings, ShopSettingsEditor
from laseros.web.deps import Calendar, CurrentActor, Db, DbSession, PageSize
from laseros.web.export import csv_export
from laseros.web.forms import FormState, filter_date, filter_id, filter_page, form_values
from laseros.web.guards import guard_permission, requires
from laseros.web.htmx import Page, redirect, render
from laseros.web.uploads import receive_file

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
        return await self._page(request, db_session, calendar, FormState(current.values), current.customised)

    # -- the company logo on quotes and invoices ----------------------------------------------------

    @get("/settings/logo/image")
    async def logo(self, db_session: DbSession, actor: CurrentActor, state: State) -> File:
        logo = await LogoService(db_session, actor, state.settings.uploads_dir).current()
        if logo is None:
            raise NotFound("No logo has been uploaded.")
        return File(path=logo.path, media_type=logo.media_type, content_disposition_type="inline",
                    headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-cache"})  # fmt: skip

    @post("/settings/logo", request_max_body_size=None, exclude_from_csrf=True)
    async def upload_logo(
        self, request: Request, db_session: DbSession, actor: CurrentActor, calendar: Calendar, state: State
    ) -> Response[Any]:
        """A PNG or JPEG for the documents' heading (streamed to disk; web/uploads.py checks the CSRF token)."""
        logos = LogoService(db_session, actor, state.settings.uploads_dir)
        try:
            upload = await receive_file(request, logos.staging_path(), MAX_LOGO_BYTES, field="logo")
            await logos.replace(upload.path, upload.filename)
        except (InvalidInput, FileTooLarge, LogoTooLarge) as refused:
            if isinstance(refused, InvalidInput):
                message, status = "; ".join(refused.errors.values()), 422
            else:
                message, status = f"{refused}".replace("The file", "The logo"), 413
            current = await ShopSettingsEditor(db_session, actor).current()
            return await self._page(request, db_session, calendar, FormState(current.values), current.customised,
                                    status_code=status, logo_error=message)  # fmt: skip
        return redirect(request, SETTINGS_URL + "#s-documents", "Logo uploaded: it is on every quote and invoice now.")

    @post("/settings/logo/delete")
    async def remove_logo(
        self, request: Request, db_session: DbSession, actor: CurrentActor, state: State
    ) -> Response[Any]:
        await LogoService(db_session, actor, state.settings.uploads_dir).remove()
        return redirect(request, SETTINGS_URL + "#s-documents", "Logo removed from the documents.")

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
            return await self._page(request, db_session, calendar, form, current.customised, status_code=422)
        level = "warning" if saved.still_used else "success" if saved.changed else "info"
        return redirect(request, SETTINGS_URL, saved_message(saved), level)

    @staticmethod
    async def _page(
        request: Request, session: UnitOfWork, calendar: ShopCalendar, form: FormState, customised: frozenset[str],
        status_code: int = 200, logo_error: str = "",
    ) -> Page:  # fmt: skip
        logo = await LogoService(session, SYSTEM, request.app.state.settings.uploads_dir).current()
        context = {
            "has_logo": logo is not None,
            "logo_error": logo_error,
            "max_logo_mb": MAX_LOGO_BYTES // (1024 * 1024),
            "form": form,
            "customised": customised,
            "groups": _GROUPED,
            "limit_stages": {alert.setting.key: stage for stage, alert in STAGE_ALERTS.items()},
            "placeholders": PLACEHOLDERS,
            "timezone": calendar.zone.key,
        }
        return await render(request, "admin/settings.html", context, status_code=status_code)


# -- users, the role matrix and the activity log (SPEC §8.6) ---------------------------------

USERS_URL = "/admin/users"
# Where an activity row's record lives, by the log's entity type ({id} is the row's entity_id).
# A type not listed (or an id of 0: a user unknown at the time) is shown without a link.
RECORD_URLS: dict[str, str] = {
    "client": "/clients/{id}",
    "project": "/projects/{id}",
    "queue": "/queue/{id}",
    "inventory": "/inventory/{id}",
    "preset": "/presets/{id}",
    "extra_operator": "/operators/extra/{id}",
    "user": "/admin/users/{id}/edit",
    "draft": "/comms/drafts/{id}",
    "notification": "/notifications/list?status=all",
    "settings": "/admin/settings",
    "product": "/products/{id}",
    "quote": "/quotes/{id}",
    "invoice": "/invoices/{id}",
    "communication": "/comms/{id}",
    "template": "/comms/templates/{id}/edit",
    "sage": "/sage",  # the one accounting connection: its page, whatever the row's id
}
# Entity types whose single record has no id of its own.
_NO_ID = frozenset({"settings", "notification"})


def record_url(entity_type: str, entity_id: int) -> str | None:
    """The page of the record an activity row is about, if it has one."""
    pattern = RECORD_URLS.get(entity_type)
    if pattern is None or (entity_id <= 0 and entity_type not in _NO_ID):
        return None
    return pattern.format(id=entity_id)


@dataclass(frozen=True)
class GuardedRoute:
    methods: str
    path: str
    writes_only: bool


def guarded_routes(app: Litestar) -> dict[Permission, list[GuardedRoute]]:
    """Every route's guards, read from the running app: which permission each route needs."""
    found: dict[Permission, set[GuardedRoute]] = defaultdict(set)
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            methods = ", ".join(sorted(getattr(handler, "http_methods", ()) or ()))
            for layer in handler.ownership_layers:
                for guard in getattr(layer, "guards", None) or []:
                    checked = guard_permission(guard)
                    if checked is not None:
                        permission, writes_only = checked
                        found[permission].add(GuardedRoute(methods, route.path, writes_only))
    return {permission: sorted(routes, key=lambda r: (r.path, r.methods)) for permission, routes in found.items()}


def _user_values(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "role": user.role,
        "is_active": user.is_active,
    }


def _without_password(values: dict[str, str]) -> dict[str, Any]:
    """A refused form is shown again with what was typed, except any password."""
    return {key: value for key, value in values.items() if key != "password"}


class UserAdminController(Controller):
    path = "/admin"
    guards = [requires(Permission.PC_VIEW), requires(Permission.USERS_MANAGE)]

    @get("/users")
    async def users(
        self, request: Request, db: Db, db_session: DbSession, actor: CurrentActor, format: FromQuery[str] = ""
    ) -> Page | Stream:
        if format == "csv":
            return csv_export(request, db, user_export())
        rows = await UserAdmin(db_session, actor).listing()
        return await render(request, "admin/users.html", {"rows": rows})

    @get("/users/new")
    async def new_user_form(self, request: Request) -> Page:
        return await self._form(request, FormState({"is_active": True, "role": Role.OPERATOR.value}), None)

    @post("/users/new")
    async def create_user(self, request: Request, db_session: DbSession, actor: CurrentActor) -> Response[Any]:
        values = await form_values(request)
        try:
            user = await UserAdmin(db_session, actor).create(UserInput.parse(values, creating=True))
        except InvalidInput as bad:
            form = FormState({**_without_password(values), "is_active": "is_active" in values}, bad.errors)
            return await self._form(request, form, None, status_code=422)
        return redirect(
            request, f"{USERS_URL}/{user.id}/edit", f"{user.display_name} can now sign in as {user.username}."
        )

    @get("/users/{user_id:int}/edit")
    async def edit_user_form(
        self, request: Request, user_id: FromPath[int], db_session: DbSession, actor: CurrentActor
    ) -> Page:
        admin = UserAdmin(db_session, actor)
        user = await admin.get(user_id)
        return await self._form(request, FormState(_user_values(user)), user, admin)

    @post("/users/{user_id:int}/edit")
    async def update_user(
        self, request: Request, user_id: FromPath[int], db_session: DbSession, actor: CurrentActor
    ) -> Response[Any]:
        values = await form_values(request)
        admin = UserAdmin(db_session, actor)
        try:
            user = await admin.update(user_id, UserInput.parse(values, creating=False))
        except (InvalidInput, Conflict) as refused:
            user = await admin.get(user_id)
            form = FormState({**_without_password(values), "is_active": "is_active" in values})
            status_code, problem = 409, str(refused)
            if isinstance(refused, InvalidInput):
                form.errors, status_code, problem = refused.errors, 422, ""
            return await self._form(request, form, user, admin, status_code=status_code, problem=problem)
        message = f"Saved {user.display_name}."
        if not user.is_active:
            message += " They are deactivated: signed out and unable to sign in."
        return redirect(request, f"{USERS_URL}/{user_id}/edit", message)

    @post("/users/{user_id:int}/reset-password")
    async def reset_password(
        self, request: Request, user_id: FromPath[int], db_session: DbSession, actor: CurrentActor
    ) -> Response[Any]:
        values = await form_values(request)
        admin = UserAdmin(db_session, actor)
        user = await admin.get(user_id)
        try:
            user = await admin.reset_password(user_id, parse_new_password(values, user.username))
        except InvalidInput as bad:
            user = await admin.get(user_id)
            form = FormState(_user_values(user))
            return await self._form(request, form, user, admin, status_code=422, password_errors=bad.errors)
        return redirect(
            request,
            f"{USERS_URL}/{user_id}/edit",
            f"{user.display_name}'s password was reset: they are signed out everywhere and sign in with the new one.",
        )

    @post("/users/{user_id:int}/unlock")
    async def unlock_user(
        self, request: Request, user_id: FromPath[int], db_session: DbSession, actor: CurrentActor
    ) -> Response[Any]:
        user, unlocked = await UserAdmin(db_session, actor).unlock(user_id)
        if unlocked:
            return redirect(request, f"{USERS_URL}/{user_id}/edit", f"{user.username} can sign in again.")
        return redirect(request, f"{USERS_URL}/{user_id}/edit", f"{user.username} was not locked.", "info")

    @get("/roles")
    async def roles(self, request: Request) -> Page:
        context = {
            "roles": list(Role),
            "role_labels": ROLE_LABELS,
            "permissions": list(Permission),
            "permission_labels": PERMISSION_LABELS,
            "matrix": PERMISSIONS,
            "routes": guarded_routes(request.app),
        }
        return await render(request, "admin/roles.html", context)

    @get("/activity")
    async def activity(
        self,
        request: Request,
        db: Db,
        db_session: DbSession,
        calendar: Calendar,
        page_size: PageSize,
        user: FromQuery[str] = "",
        entity_type: FromQuery[str] = "",
        action: FromQuery[str] = "",
        start: FromQuery[str] = "",
        end: FromQuery[str] = "",
        page: FromQuery[str] = "1",
        format: FromQuery[str] = "",
    ) -> Page | Stream:
        first, last = calendar.utc_range(filter_date(start), filter_date(end))
        filters = ActivityFilters(
            user_id=filter_id(user),
            entity_type=entity_type.strip()[:30],
            action=action.strip()[:40],
            start=first,
            end=last,
        )
        view = ActivityView(db_session)
        if format == "csv":
            return csv_export(request, db, view.export(filters))
        context = {
            "page": await view.page(filters, filter_page(page), page_size),
            "choices": await view.choices(),
            "record_url": record_url,
            "filters": {"user": user, "entity_type": entity_type, "action": action, "start": start, "end": end},
        }
        return await render(request, "admin/activity.html", context, block="results")

    @staticmethod
    async def _form(
        request: Request,
        form: FormState,
        user: User | None,
        admin: UserAdmin | None = None,
        *,
        status_code: int = 200,
        problem: str = "",
        password_errors: dict[str, str] | None = None,
    ) -> Page:
        context: dict[str, Any] = {
            "form": form,
            "person": user,
            "roles": [(role.value, ROLE_LABELS[role]) for role in Role],
            "problem": problem,
            "password_form": FormState({}, password_errors or {}),
            "locked_until": None,
            "open_sessions": 0,
        }
        if user is not None and admin is not None:
            context["locked_until"] = await admin.locked_until(user)
            context["open_sessions"] = await admin.open_sessions(user.id)
        template = "admin/users_form.html"
        return await render(request, template, context, status_code=status_code)
