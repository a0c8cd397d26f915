"""Operators: phone logins and extra operators (who never log in), with what each has cut."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from laseros.domain.admin.models import User
from laseros.domain.admin.roles import Permission
from laseros.domain.kernel.errors import InvalidInput
from laseros.domain.operators.models import ExtraOperator
from laseros.domain.operators.schemas import ExtraOperatorInput, OperatorLoginInput
from laseros.web.deps import Operators, Runs, Totals
from laseros.web.forms import FormState, form_values
from laseros.web.guards import requires
from laseros.web.htmx import Page, redirect, render

RECENT_RUNS = 20
_manage = [requires(Permission.USERS_MANAGE)]


def _without_password(values: dict[str, str]) -> dict[str, str]:
    """A refused form is shown again with what was typed, except the password."""
    return {k: v for k, v in values.items() if k != "password"}


class OperatorController(Controller):
    path = "/operators"
    guards = [requires(Permission.PC_VIEW)]

    @get("/")
    async def index(self, request: Request, totals: Totals) -> Page:
        return await render(request, "operators/index.html", {"people": await totals.people()})

    # -- operator logins ---------------------------------------------------------------------

    @get("/new", guards=_manage)
    async def new_login_form(self, request: Request) -> Page:
        return await self._form(request, "login", FormState(), None)

    @post("/new", guards=_manage)
    async def create_login(self, request: Request, operators: Operators) -> Response[Any]:
        values = await form_values(request)
        try:
            user = await operators.create_login(OperatorLoginInput.parse(values, creating=True))
        except InvalidInput as bad:
            return await self._form(request, "login", FormState(_without_password(values), bad.errors), None, 422)
        return redirect(
            request, f"/operators/{user.id}", f"{user.display_name} can now log in on the phone as {user.username}."
        )

    @get("/{user_id:int}")
    async def login_detail(
        self, request: Request, user_id: FromPath[int], operators: Operators, runs: Runs, totals: Totals
    ) -> Page:
        user = await operators.get_user(user_id)
        return await self._detail(request, "login", user, f"u{user.id}", totals, runs)

    @get("/{user_id:int}/edit", guards=_manage)
    async def edit_login_form(self, request: Request, user_id: FromPath[int], operators: Operators) -> Page:
        user = await operators.get_login(user_id)
        return await self._form(request, "login", FormState({"display_name": user.display_name}), user)

    @post("/{user_id:int}/edit", guards=_manage)
    async def update_login(self, request: Request, user_id: FromPath[int], operators: Operators) -> Response[Any]:
        values = await form_values(request)
        try:
            data = OperatorLoginInput.parse(values, creating=False)
            user = await operators.update_login(user_id, data)
        except InvalidInput as bad:
            user = await operators.get_login(user_id)
            return await self._form(request, "login", FormState(_without_password(values), bad.errors), user, 422)
        message = "Saved."
        if data.password:
            message += f" {user.display_name}'s password was reset: they must log in again."
        return redirect(request, f"/operators/{user_id}", message)

    @post("/{user_id:int}/toggle", guards=_manage)
    async def toggle_login(self, request: Request, user_id: FromPath[int], operators: Operators) -> Response[Any]:
        user = await operators.toggle_login(user_id)
        if user.is_active:
            message = f"{user.display_name} is active again and can log in."
        else:
            message = f"{user.display_name} is deactivated: they are logged out and can no longer log in."
        return redirect(request, f"/operators/{user_id}", message)

    # -- extra operators ---------------------------------------------------------------------

    @get("/extra/new", guards=_manage)
    async def new_extra_form(self, request: Request) -> Page:
        return await self._form(request, "extra", FormState(), None)

    @post("/extra/new", guards=_manage)
    async def create_extra(self, request: Request, operators: Operators) -> Response[Any]:
        values = await form_values(request)
        try:
            extra = await operators.create_extra(ExtraOperatorInput.parse(values))
        except InvalidInput as bad:
            return await self._form(request, "extra", FormState(values, bad.errors), None, 422)
        return redirect(
            request, f"/operators/extra/{extra.id}", f"{extra.display_name} added: runs can now be logged for them."
        )

    @get("/extra/{extra_id:int}")
    async def extra_detail(
        self, request: Request, extra_id: FromPath[int], operators: Operators, runs: Runs, totals: Totals
    ) -> Page:
        extra = await operators.get_extra(extra_id)
        return await self._detail(request, "extra", extra, f"x{extra.id}", totals, runs)

    @get("/extra/{extra_id:int}/edit", guards=_manage)
    async def edit_extra_form(self, request: Request, extra_id: FromPath[int], operators: Operators) -> Page:
        extra = await operators.get_extra(extra_id)
        values = {"display_name": extra.display_name, "notes": extra.notes}
        return await self._form(request, "extra", FormState(values), extra)

    @post("/extra/{extra_id:int}/edit", guards=_manage)
    async def update_extra(self, request: Request, extra_id: FromPath[int], operators: Operators) -> Response[Any]:
        values = await form_values(request)
        try:
            await operators.update_extra(extra_id, ExtraOperatorInput.parse(values))
        except InvalidInput as bad:
            extra = await operators.get_extra(extra_id)
            return await self._form(request, "extra", FormState(values, bad.errors), extra, 422)
        return redirect(request, f"/operators/extra/{extra_id}", "Saved.")

    @post("/extra/{extra_id:int}/toggle", guards=_manage)
    async def toggle_extra(self, request: Request, extra_id: FromPath[int], operators: Operators) -> Response[Any]:
        extra = await operators.toggle_extra(extra_id)
        if extra.is_active:
            message = f"{extra.display_name} is active again: runs can be logged for them."
        else:
            message = f"{extra.display_name} is deactivated: new runs can no longer be logged for them."
        return redirect(request, f"/operators/extra/{extra_id}", message)

    @staticmethod
    async def _detail(
        request: Request,
        kind: str,
        person: User | ExtraOperator,
        key: str,
        totals: Totals,
        runs: Runs,
    ) -> Page:
        """Who they are, what they have cut in total, and their latest runs (``key`` as runs attribute it)."""
        context = {
            "kind": kind,
            "person": person,
            "totals": await totals.totals(key),
            "runs": await runs.recent(key, RECENT_RUNS),
        }
        return await render(request, "operators/detail.html", context)

    @staticmethod
    async def _form(
        request: Request,
        kind: str,
        form: FormState,
        person: User | ExtraOperator | None,
        status_code: int = 200,
    ) -> Page:
        context = {"kind": kind, "form": form, "person": person}
        return await render(request, "operators/form.html", context, status_code=status_code)
