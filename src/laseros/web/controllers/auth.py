"""Log in, choose PC or Phone mode, log out."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import PermissionDeniedException
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER

from laseros.domain.admin.roles import pc_mode_refusal
from laseros.domain.admin.services import LoginRefused, TooManyAttempts
from laseros.web.auth import SESSION_COOKIE, CurrentUser
from laseros.web.deps import AppSettings, Auth
from laseros.web.forms import form_values
from laseros.web.htmx import Page, redirect, render

MODES = ("pc", "phone")
MODE_HOME = {"pc": "/dashboard", "phone": "/phone/home"}


def home_for(user: CurrentUser) -> str:
    if user.mode in MODE_HOME and not (user.mode == "pc" and pc_mode_refusal(user.role)):
        return MODE_HOME[user.mode]
    return "/auth/select-mode"


@get("/", include_in_schema=False)
async def root(request: Request) -> Redirect:
    return Redirect(path=home_for(request.user), status_code=HTTP_303_SEE_OTHER)


@get("/favicon.ico", include_in_schema=False)
async def favicon() -> Redirect:
    return Redirect(path="/static/img/favicon.svg", status_code=301)


class AuthController(Controller):
    path = "/auth"

    @get("/login")
    async def login_page(self, request: Request) -> Page:
        return await render(request, "auth/login.html", {"username": "", "error": None})

    @post("/login")
    async def login(self, request: Request, auth_service: Auth, app_settings: AppSettings) -> Response[Any]:
        values = await form_values(request)
        username = values.get("username", "")
        client_ip = request.client.host if request.client else None
        try:
            token = await auth_service.login(
                username, values.get("password", ""), client_ip, request.headers.get("user-agent")
            )
        except LoginRefused as refusal:
            page = await render(
                request,
                "auth/login.html",
                {"username": username[:80], "error": refusal.message},
                status_code=429 if isinstance(refusal, TooManyAttempts) else 401,
            )
            if isinstance(refusal, TooManyAttempts):
                page.headers["Retry-After"] = str(refusal.retry_after)
            return page
        response = redirect(request, "/auth/select-mode")
        response.cookies.append(
            Cookie(
                key=SESSION_COOKIE,
                value=token,
                path="/",
                httponly=True,
                samesite="lax",
                secure=request.url.scheme == "https",
                max_age=app_settings.session_days * 86400,
            )
        )
        return response

    @get("/select-mode")
    async def select_mode_page(self, request: Request) -> Page:
        user: CurrentUser = request.user
        return await render(request, "auth/select_mode.html", {"pc_refusal": pc_mode_refusal(user.role)})

    @post("/select-mode")
    async def select_mode(self, request: Request, auth_service: Auth) -> Response[Any]:
        user: CurrentUser = request.user
        mode = (await form_values(request)).get("mode", "")
        if mode not in MODES:
            return await render(
                request,
                "auth/select_mode.html",
                {"pc_refusal": pc_mode_refusal(user.role), "error": "Choose PC mode or Phone mode."},
                status_code=422,
            )
        if mode == "pc" and (reason := pc_mode_refusal(user.role)):
            raise PermissionDeniedException(reason)
        await auth_service.set_mode(user.session_id, mode)
        return redirect(request, MODE_HOME[mode])

    @post("/logout")
    async def logout(self, request: Request, auth_service: Auth) -> Response[Any]:
        user: CurrentUser = request.user
        await auth_service.logout(user.session_id, user.actor)
        response = redirect(request, "/auth/login", "You have logged out.", "info")
        response.cookies.append(Cookie(key=SESSION_COOKIE, value="", path="/", max_age=0))
        return response
