"""The Sage page: connect (South Africa with a login, international with Sage's sign-in), the company,
disconnect, "Sync customers now" and "Sync invoices now"; the last syncs and the audit log of every call
(docs/accounting.md)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect
from litestar.status_codes import HTTP_302_FOUND

from laseros.domain.accounting.client import SageError
from laseros.domain.accounting.services import SageConnections
from laseros.domain.admin.roles import Permission
from laseros.domain.kernel.errors import Conflict, InvalidInput
from laseros.web.deps import AppSettings, Jobs, Sage
from laseros.web.forms import FormState, form_values
from laseros.web.guards import requires
from laseros.web.htmx import Page, redirect, render

# What each "Sync … now" button queues, and what the page then says.
SYNC_JOBS = {
    "customers": ("sage-sync-customers", "Customer sync queued"),
    "invoices": ("sage-sync-invoices", "Invoice sync queued"),
}


def _redirect_uri(request: Request, settings: AppSettings) -> str:
    configured = settings.sage.redirect_url
    return configured or str(request.base_url).rstrip("/") + "/sage/callback"


class SageController(Controller):
    path = "/sage"
    guards = [requires(Permission.SAGE_VIEW)]

    @get("/")
    async def index(self, request: Request, sage: Sage) -> Page:
        return await self._page(request, sage)

    @post("/za", guards=[requires(Permission.SAGE_MANAGE)])
    async def connect_za(self, request: Request, sage: Sage) -> Response[Any]:
        """South Africa: check the login against ``Company/Get`` and keep it (encrypted)."""
        values = await form_values(request)
        try:
            connection = await sage.connect_za(
                values.get("username", ""), values.get("password", ""), values.get("api_key", "")
            )
        except InvalidInput as bad:
            # The password and key are never echoed back into the form.
            form = FormState({"username": values.get("username", "")}, bad.errors)
            return await self._page(request, sage, za_form=form, status_code=422)
        except SageError as failed:
            form = FormState({"username": values.get("username", "")}, {"username": str(failed)})
            return await self._page(request, sage, za_form=form, status_code=503)
        message = (
            f"Connected to Sage as {connection.connected_as}, company {connection.company_name}."
            if connection.connected
            else f"Signed in to Sage as {connection.connected_as}: choose the company."
        )
        return redirect(request, "/sage", message)

    @post("/company", guards=[requires(Permission.SAGE_MANAGE)])
    async def choose_company(self, request: Request, sage: Sage) -> Response[Any]:
        values = await form_values(request)
        try:
            connection = await sage.choose_company(values.get("company_id", ""))
        except InvalidInput as bad:
            return await self._page(request, sage, company_form=FormState(values, bad.errors), status_code=422)
        return redirect(request, "/sage", f"Sage company: {connection.company_name}.")

    @get("/connect", guards=[requires(Permission.SAGE_MANAGE)])
    async def connect(self, request: Request, sage: Sage, app_settings: AppSettings) -> Response[Any]:
        """International (v3.1): off to Sage's sign-in with a fresh ``state``."""
        try:
            url = await sage.start_sign_in(_redirect_uri(request, app_settings))
        except Conflict as refused:
            return redirect(request, "/sage", str(refused), level="error")
        return Redirect(path=url, status_code=HTTP_302_FOUND)

    @get("/callback", guards=[requires(Permission.SAGE_MANAGE)])
    async def callback(self, request: Request, sage: Sage, app_settings: AppSettings) -> Response[Any]:
        # Read by hand: "state" is a name Litestar keeps for the app's state.
        params = request.query_params
        code, state = str(params.get("code") or ""), str(params.get("state") or "")
        if params.get("error"):
            return redirect(request, "/sage", "Sage's sign-in was cancelled or refused.", level="error")
        try:
            connection = await sage.finish_sign_in(code, state, _redirect_uri(request, app_settings))
        except Conflict as refused:
            return redirect(request, "/sage", str(refused), level="error")
        except SageError as failed:
            return redirect(request, "/sage", f"Sage's sign-in did not finish: {failed}", level="error")
        message = (
            f"Connected to Sage as {connection.connected_as}, business {connection.company_name}."
            if connection.connected
            else f"Signed in to Sage as {connection.connected_as}: choose the business."
        )
        return redirect(request, "/sage", message)

    @post("/disconnect", guards=[requires(Permission.SAGE_MANAGE)])
    async def disconnect(self, request: Request, sage: Sage) -> Response[Any]:
        forgot = await sage.disconnect()
        message = "Disconnected from Sage; its credentials are forgotten." if forgot else "Sage was not connected."
        return redirect(request, "/sage", message)

    @post("/sync/customers", guards=[requires(Permission.SAGE_MANAGE)])
    async def sync_customers(self, request: Request, sage: Sage, jobs: Jobs) -> Response[Any]:
        return await self._queue_sync(request, sage, jobs, "customers")

    @post("/sync/invoices", guards=[requires(Permission.SAGE_MANAGE)])
    async def sync_invoices(self, request: Request, sage: Sage, jobs: Jobs) -> Response[Any]:
        return await self._queue_sync(request, sage, jobs, "invoices")

    @staticmethod
    async def _queue_sync(request: Request, sage: SageConnections, jobs: Jobs, what: str) -> Response[Any]:
        connection = await sage.status()
        if connection is None or not connection.connected:
            return redirect(request, "/sage", "Connect to Sage first.", level="error")
        job, queued = SYNC_JOBS[what]
        if await jobs.enqueue(job, key=job):
            return redirect(request, "/sage", f"{queued}: the list below shows it when it has run.")
        return redirect(
            request,
            "/sage",
            "The job queue is not reachable just now; the hourly sync will run when it is back.",
            level="error",
        )

    @staticmethod
    async def _page(
        request: Request,
        sage: SageConnections,
        *,
        za_form: FormState | None = None,
        company_form: FormState | None = None,
        status_code: int = 200,
    ) -> Page:
        connection = await sage.status()
        context = {
            "connection": connection,
            "calls": await sage.recent_calls(),
            "syncs": await sage.recent_syncs(),
            "v31_configured": sage.v31_configured,
            "za_form": za_form or FormState(),
            "company_form": company_form or FormState({"company_id": connection.company_id if connection else ""}),
        }
        return await render(request, "sage/index.html", context, status_code=status_code)
