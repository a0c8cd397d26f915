"""Projects: filtered list, create/edit, detail with timeline, stage changes and POP received."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from laseros.domain.admin.roles import Permission
from laseros.domain.billing.summary import project_billing
from laseros.domain.kernel.errors import Conflict, InvalidInput
from laseros.domain.kernel.registry import MATERIALS, SHEET_SIZES
from laseros.domain.kernel.settings import SettingsService
from laseros.domain.projects.models import Project
from laseros.domain.projects.schemas import ProjectInput
from laseros.domain.projects.services import ProjectFilters
from laseros.domain.projects.stages import Stage
from laseros.domain.reports.services import project_overview
from laseros.web.controllers.files import project_file_context
from laseros.web.deps import Clients, Db, PageSize, Projects, Queue, ShopSettings
from laseros.web.export import csv_export
from laseros.web.forms import FormState, filter_flag, filter_id, form_values
from laseros.web.guards import requires, unsafe_methods_require
from laseros.web.htmx import Page, for_whole_page, redirect, render


def _filters(stage: str, client_id: str, q: str, pop_expiring: str) -> ProjectFilters:
    return ProjectFilters(
        stage=stage if stage in {s.value for s in Stage} else "",
        client_id=filter_id(client_id),
        q=q[:200],
        pop_expiring=filter_flag(pop_expiring),
    )


class ProjectController(Controller):
    path = "/projects"
    guards = [requires(Permission.PC_VIEW), unsafe_methods_require(Permission.OFFICE_EDIT)]

    @get("/")
    async def index(
        self,
        request: Request,
        page_size: PageSize,
        db: Db,
        projects: Projects,
        clients: Clients,
        stage: FromQuery[str] = "",
        client_id: FromQuery[str] = "",
        q: FromQuery[str] = "",
        pop_expiring: FromQuery[str] = "",
        page: FromQuery[int] = 1,
        format: FromQuery[str] = "",
    ) -> Page | Stream:
        filters = _filters(stage, client_id, q, pop_expiring)
        if format == "csv":
            return csv_export(request, db, projects.export(filters))
        listing = await projects.list(filters, page=page, per_page=page_size)
        context = {
            "page": listing,
            "filters": filters,
            "client_choices": await for_whole_page(request, clients.choices),
        }
        return await render(request, "projects/index.html", context, block="results")

    @get("/new", guards=[requires(Permission.OFFICE_EDIT)])
    async def new_form(
        self,
        request: Request,
        clients: Clients,
        shop_settings: ShopSettings,
        client_id: FromQuery[str] = "",
    ) -> Page:
        materials = await shop_settings.choices(MATERIALS)
        sizes = await shop_settings.choices(SHEET_SIZES)
        values = {
            "client_id": client_id,
            "material_type": materials[0] if materials else "",
            "sheet_size": sizes[0] if sizes else "",
        }
        return await self._form(request, clients, shop_settings, FormState(values), None)

    @post("/new")
    async def create(
        self,
        request: Request,
        projects: Projects,
        clients: Clients,
        shop_settings: ShopSettings,
    ) -> Response[Any]:
        values = await form_values(request)
        try:
            project = await projects.create(await self._parse(values, shop_settings))
        except InvalidInput as bad:
            return await self._form(request, clients, shop_settings, FormState(values, bad.errors), None, 422)
        return redirect(request, f"/projects/{project.id}", f"Project {project.project_code} created.")

    @get("/{project_id:int}")
    async def detail(
        self,
        request: Request,
        project_id: FromPath[int],
        projects: Projects,
    ) -> Page:
        return await self._detail(request, project_id, projects)

    @staticmethod
    async def _detail(
        request: Request,
        project_id: int,
        projects: Projects,
        error: str | None = None,
        status_code: int = 200,
    ) -> Page:
        overview = await project_overview(projects.session, projects.calendar, project_id)
        context = {
            "project": overview.project,
            "item": overview.project.queue_item,
            "position": overview.position,
            "badge": overview.stock_badge,
            "state": overview.state,
            "stock_item": overview.stock_item,
            "runs": overview.runs,
            "timeline": overview.timeline,
            "error": error,
            "billing": await project_billing(projects.session, projects.calendar, project_id),
        }
        context.update(await project_file_context(request, projects.session, projects.actor, project_id))
        return await render(request, "projects/detail.html", context, status_code=status_code)

    @get("/{project_id:int}/edit", guards=[requires(Permission.OFFICE_EDIT)])
    async def edit_form(
        self,
        request: Request,
        project_id: FromPath[int],
        projects: Projects,
        clients: Clients,
        shop_settings: ShopSettings,
    ) -> Page:
        project = await projects.get(project_id)
        values = {k: getattr(project, k) for k in ProjectInput.__dataclass_fields__}
        return await self._form(request, clients, shop_settings, FormState(values), project)

    @post("/{project_id:int}/edit")
    async def update(
        self,
        request: Request,
        project_id: FromPath[int],
        projects: Projects,
        clients: Clients,
        shop_settings: ShopSettings,
    ) -> Response[Any]:
        values = await form_values(request)
        project = await projects.get(project_id)
        try:
            await projects.update(project_id, await self._parse(values, shop_settings, project))
        except InvalidInput as bad:
            return await self._form(request, clients, shop_settings, FormState(values, bad.errors), project, 422)
        return redirect(request, f"/projects/{project_id}", "Project saved.")

    @post("/{project_id:int}/delete")
    async def delete(
        self,
        request: Request,
        project_id: FromPath[int],
        projects: Projects,
    ) -> Response[Any]:
        try:
            label = await projects.delete(project_id)
        except Conflict as refused:
            return await self._detail(request, project_id, projects, str(refused), 409)
        return redirect(request, "/projects", f"Deleted project {label}.")

    @post("/{project_id:int}/status")
    async def change_stage(
        self,
        request: Request,
        project_id: FromPath[int],
        projects: Projects,
    ) -> Response[Any]:
        raw = (await form_values(request)).get("stage", "")
        if not raw:
            return await self._detail(request, project_id, projects, "Choose the stage to move the job to.", 422)
        if raw not in {s.value for s in Stage}:
            return await self._detail(request, project_id, projects, f"{raw[:40]!r} is not a stage.", 422)
        try:
            project = await projects.change_stage(project_id, Stage(raw))
        except Conflict as refused:
            return await self._detail(request, project_id, projects, str(refused), 409)
        return redirect(request, f"/projects/{project_id}", f"{project.project_code} is now {Stage(raw).label}.")

    @post("/{project_id:int}/pop")
    async def pop_received(
        self,
        request: Request,
        project_id: FromPath[int],
        projects: Projects,
        queue: Queue,
    ) -> Response[Any]:
        try:
            project = await projects.mark_pop_received(project_id)
        except Conflict as refused:
            return await self._detail(request, project_id, projects, str(refused), 409)
        position = await queue.position(project.queue_item) if project.queue_item else None
        message = f"POP received: {project.project_code} is {Stage(project.stage).label}, #{position} in the queue."
        if project.stage == Stage.WAITING_MATERIAL:
            message += " Not enough sheets in stock: it will queue itself when the stock arrives."
        return redirect(
            request,
            f"/projects/{project_id}",
            message,
            "warning" if project.stage == Stage.WAITING_MATERIAL else "success",
        )

    @staticmethod
    async def _parse(
        values: dict[str, str], shop_settings: SettingsService, project: Project | None = None
    ) -> ProjectInput:
        """The submitted project, checked against the shop's materials and sheet sizes (and its own)."""
        return ProjectInput.parse(
            values,
            materials=await shop_settings.choices(MATERIALS, keep=project.material_type if project else None),
            sheet_sizes=await shop_settings.choices(SHEET_SIZES, keep=project.sheet_size if project else None),
        )

    @staticmethod
    async def _form(
        request: Request,
        clients: Clients,
        shop_settings: ShopSettings,
        form: FormState,
        project: Project | None,
        status_code: int = 200,
    ) -> Page:
        context = {
            "form": form,
            "project": project,
            "client_choices": await clients.choices(),
            "materials": await shop_settings.choices(MATERIALS, keep=project.material_type if project else None),
            "sheet_sizes": await shop_settings.choices(SHEET_SIZES, keep=project.sheet_size if project else None),
        }
        return await render(request, "projects/form.html", context, status_code=status_code)
