"""Clients: list with active search, create, view, edit, delete."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from laseros.domain.admin.roles import Permission
from laseros.domain.clients.schemas import ClientInput
from laseros.domain.kernel.errors import InvalidInput
from laseros.web.deps import Clients, Db, PageSize, Projects
from laseros.web.export import csv_export
from laseros.web.forms import FormState, form_values
from laseros.web.guards import requires, unsafe_methods_require
from laseros.web.htmx import Page, redirect, render


class ClientController(Controller):
    path = "/clients"
    guards = [requires(Permission.PC_VIEW), unsafe_methods_require(Permission.OFFICE_EDIT)]

    @get("/")
    async def index(
        self,
        request: Request,
        page_size: PageSize,
        db: Db,
        clients: Clients,
        q: FromQuery[str] = "",
        page: FromQuery[int] = 1,
        format: FromQuery[str] = "",
    ) -> Page | Stream:
        if format == "csv":
            return csv_export(request, db, clients.export(q))
        listing = await clients.list(q=q, page=page, per_page=page_size)
        return await render(request, "clients/index.html", {"page": listing, "q": q}, block="results")

    @get("/new", guards=[requires(Permission.OFFICE_EDIT)])
    async def new_form(self, request: Request) -> Page:
        return await self._form(request, FormState(), None)

    @post("/new")
    async def create(self, request: Request, clients: Clients) -> Response[Any]:
        values = await form_values(request)
        try:
            client = await clients.create(ClientInput.parse(values))
        except InvalidInput as bad:
            return await self._form(request, FormState(values, bad.errors), None, status_code=422)
        return redirect(request, f"/clients/{client.id}", f"Client {client.client_code} {client.name} created.")

    @get("/{client_id:int}")
    async def detail(
        self,
        request: Request,
        client_id: FromPath[int],
        clients: Clients,
        projects: Projects,
    ) -> Page:
        client = await clients.get(client_id)
        client_projects = await projects.for_client(client_id)
        return await render(
            request,
            "clients/detail.html",
            {
                "client": client,
                "projects": client_projects,
                "project_count": await clients.project_count(client_id),
            },
        )

    @get("/{client_id:int}/edit", guards=[requires(Permission.OFFICE_EDIT)])
    async def edit_form(self, request: Request, client_id: FromPath[int], clients: Clients) -> Page:
        client = await clients.get(client_id)
        values = {k: getattr(client, k) for k in ClientInput.__dataclass_fields__}
        return await self._form(request, FormState(values), client)

    @post("/{client_id:int}/edit")
    async def update(self, request: Request, client_id: FromPath[int], clients: Clients) -> Response[Any]:
        values = await form_values(request)
        try:
            await clients.update(client_id, ClientInput.parse(values))
        except InvalidInput as bad:
            client = await clients.get(client_id)
            return await self._form(request, FormState(values, bad.errors), client, status_code=422)
        return redirect(request, f"/clients/{client_id}", "Client details saved.")

    @post("/{client_id:int}/delete")
    async def delete(self, request: Request, client_id: FromPath[int], clients: Clients) -> Response[Any]:
        name, projects = await clients.delete(client_id)
        return redirect(request, "/clients", f"Deleted {name} and {projects} project(s).")

    @staticmethod
    async def _form(request: Request, form: FormState, client: Any, status_code: int = 200) -> Page:
        return await render(request, "clients/form.html", {"form": form, "client": client}, status_code=status_code)
