"""Production runs on a PC: the run log with filters, and the form to log a run after the fact."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from laseros.domain.admin.roles import Permission
from laseros.domain.kernel.errors import InvalidInput
from laseros.domain.kernel.shop import thickness_label
from laseros.domain.projects.stages import Stage
from laseros.domain.runs.schemas import RunLog
from laseros.domain.runs.services import RunFilters
from laseros.web.deps import Calendar, Db, Operators, PageSize, Presets, Projects, Runs, Totals
from laseros.web.export import csv_export
from laseros.web.forms import FormState, filter_date, filter_id, form_values
from laseros.web.guards import requires
from laseros.web.htmx import Page, redirect, render
from laseros.web.templating import number, sheets


def _filters(start: str, end: str, operator: str, project_id: str, q: str) -> RunFilters:
    return RunFilters(
        start=filter_date(start),
        end=filter_date(end),
        operator=operator[:14],
        project_id=filter_id(project_id),
        q=q[:100],
    )


class RunController(Controller):
    path = "/queue/runs"
    guards = [requires(Permission.PC_VIEW)]

    @get("/")
    async def index(
        self,
        request: Request,
        page_size: PageSize,
        db: Db,
        runs: Runs,
        totals: Totals,
        start: FromQuery[str] = "",
        end: FromQuery[str] = "",
        operator: FromQuery[str] = "",
        project_id: FromQuery[str] = "",
        q: FromQuery[str] = "",
        page: FromQuery[int] = 1,
        format: FromQuery[str] = "",
    ) -> Page | Stream:
        filters = _filters(start, end, operator, project_id, q)
        if format == "csv":
            return csv_export(request, db, runs.export(filters))
        listing = await runs.list(filters, page=page, per_page=page_size)
        context = {"page": listing, "filters": filters, "people": await totals.people()}
        return await render(request, "runs/index.html", context, block="results")

    @get("/new/{project_id:int}", guards=[requires(Permission.OFFICE_EDIT)])
    async def new_form(
        self,
        request: Request,
        calendar: Calendar,
        project_id: FromPath[int],
        projects: Projects,
        operators: Operators,
        presets: Presets,
        runs: Runs,
    ) -> Page:
        project = await projects.get(project_id)
        operator_id, extra_id = await runs.likely_operator(project_id, request.user.id)
        values = {
            "operator_id": operator_id,
            "extra_operator_id": extra_id or "",
            "preset_id": project.preset_id or "",
            "run_date": calendar.today().isoformat(),
            "sheets_used": "0",
        }
        return await self._form(request, project_id, projects, operators, presets, FormState(values))

    @post("/new/{project_id:int}", guards=[requires(Permission.OFFICE_EDIT)])
    async def create(
        self,
        request: Request,
        calendar: Calendar,
        project_id: FromPath[int],
        runs: Runs,
        projects: Projects,
        operators: Operators,
        presets: Presets,
    ) -> Response[Any]:
        values = await form_values(request)
        try:
            data = RunLog.parse(values, today=calendar.today())
            run = await runs.log(project_id, data)
        except InvalidInput as bad:
            form = FormState(values, bad.errors)
            return await self._form(request, project_id, projects, operators, presets, form, 422)
        message = f"Run logged on {run.project.project_code}: {sheets(run.sheets_used)}, {number(run.cut_minutes)} min."
        if run.job_finished:
            message += f" The job is {Stage(run.project.stage).label}."
        return redirect(request, f"/projects/{project_id}", message)

    @staticmethod
    async def _form(
        request: Request,
        project_id: int,
        projects: Projects,
        operators: Operators,
        presets: Presets,
        form: FormState,
        status_code: int = 200,
    ) -> Page:
        project = await projects.get(project_id)
        me = request.user.id
        context = {
            "project": project,
            "form": form,
            "operator_options": [
                (u.id, u.display_name + (" (You)" if u.id == me else "")) for u in await operators.run_capable_users()
            ],
            "extra_options": [(e.id, e.display_name) for e in await operators.active_extras()],
            "preset_options": [
                (p.id, f"{p.name} — {p.material_type} {thickness_label(p.thickness_mm)} mm")
                for p in await presets.choices()
            ],
        }
        return await render(request, "runs/form.html", context, status_code=status_code)
