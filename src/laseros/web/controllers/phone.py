"""Phone mode: the jobs to cut, Start Run, the running run with its timer, and End Run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from laseros.db import utcnow
from laseros.domain.admin.roles import Permission
from laseros.domain.kernel.errors import Conflict, InvalidInput
from laseros.domain.projects.stages import Stage
from laseros.domain.runs.models import DISCARD_WITHIN_MINUTES
from laseros.domain.runs.schemas import RunEnd
from laseros.domain.runs.services import StartNeedsConfirmation, may_end
from laseros.web.controllers.files import run_previews
from laseros.web.deps import Operators, Queue, Runs
from laseros.web.forms import FormState, filter_id, form_values
from laseros.web.guards import requires
from laseros.web.htmx import Page, redirect, render
from laseros.web.templating import duration, sheets


class PhoneController(Controller):
    path = "/phone"
    guards = [requires(Permission.PHONE_USE)]

    @get("/home")
    async def home(self, request: Request, queue: Queue, runs: Runs, operators: Operators) -> Page:
        return await self._home(request, queue, runs, operators)

    @staticmethod
    async def _home(
        request: Request,
        queue: Queue,
        runs: Runs,
        operators: Operators,
        error: str | None = None,
        status_code: int = 200,
        confirm: dict[str, Any] | None = None,
    ) -> Page:
        jobs = await queue.list(show_all=False, page=1, per_page=50)
        context = {
            "jobs": jobs.items,
            "total": jobs.total,
            "states": await queue.job_states(jobs.items),
            "running": await runs.running_for(request.user.id),
            "extras": await operators.active_extras(),
            "error": error,
            "confirm": confirm,
        }
        return await render(request, "phone/home.html", context, status_code=status_code)

    @post("/run/start", guards=[requires(Permission.RUNS_LOG)])
    async def start(self, request: Request, queue: Queue, runs: Runs, operators: Operators) -> Response[Any]:
        values = await form_values(request)
        project_id = filter_id(values.get("project_id", ""))
        if project_id is None:
            return await self._home(request, queue, runs, operators, "Choose a job to start.", 422)
        extra_id = filter_id(values.get("extra_operator_id", ""))
        try:
            run = await runs.start(project_id, extra_id, cut_anyway=values.get("cut_anyway") == "1")
        except StartNeedsConfirmation as ask:
            confirm = {"project_id": project_id, "extra_operator_id": extra_id, "message": str(ask)}
            return await self._home(request, queue, runs, operators, status_code=409, confirm=confirm)
        except (Conflict, InvalidInput) as refused:
            status = 409 if isinstance(refused, Conflict) else 422
            message = str(refused) if isinstance(refused, Conflict) else "; ".join(refused.errors.values())
            return await self._home(request, queue, runs, operators, message, status)
        return redirect(request, f"/phone/run/{run.id}", f"Run started on {run.project.project_code}.")

    @get("/run/{run_id:int}")
    async def run_page(self, request: Request, run_id: FromPath[int], runs: Runs) -> Page:
        return await self._run_page(request, run_id, runs, FormState({"sheets_used": "0"}))

    @staticmethod
    async def _run_page(
        request: Request,
        run_id: int,
        runs: Runs,
        form: FormState,
        error: str | None = None,
        status_code: int = 200,
    ) -> Page:
        run = await runs.get(run_id)
        user = request.user
        now = utcnow()
        allowed = run.is_running and may_end(run, user.id, user.role)
        context = {
            "run": run,
            "form": form,
            "error": error,
            "server_now": now,
            "may_end": allowed,
            "may_discard": allowed and now - run.started_at <= timedelta(minutes=DISCARD_WITHIN_MINUTES),
            "discard_minutes": DISCARD_WITHIN_MINUTES,
            "part_previews": await run_previews(request, runs.session, runs.actor, run.project_id),
        }
        return await render(request, "phone/run.html", context, status_code=status_code)

    @post("/run/{run_id:int}/discard", guards=[requires(Permission.RUNS_LOG)])
    async def discard(self, request: Request, run_id: FromPath[int], runs: Runs) -> Response[Any]:
        """Take back a run started by mistake (within minutes): nothing is deducted."""
        try:
            run = await runs.discard(run_id, role=request.user.role)
        except Conflict as refused:
            return await self._run_page(request, run_id, runs, FormState({"sheets_used": "0"}), str(refused), 409)
        return redirect(
            request, "/phone/home", f"Run #{run.id} on {run.project.project_code} taken back: nothing was deducted."
        )

    @post("/run/end", guards=[requires(Permission.RUNS_LOG)])
    async def end(self, request: Request, runs: Runs) -> Response[Any]:
        values = await form_values(request)
        run_id = filter_id(values.get("run_id", ""))
        if run_id is None:
            raise InvalidInput({"run_id": "This form does not say which run to end; open the run and try again."})
        try:
            report = RunEnd.parse(values)
            run = await runs.end(run_id, report, role=request.user.role)
        except InvalidInput as bad:
            return await self._run_page(request, run_id, runs, FormState(values, bad.errors), status_code=422)
        except Conflict as refused:
            return await self._run_page(request, run_id, runs, FormState(values), str(refused), 409)
        message = f"Run ended on {run.project.project_code}: {sheets(run.sheets_used)} in {duration(run.cut_minutes)}."
        if run.job_finished:
            message += f" The job is {Stage(run.project.stage).label}."
        if run.stock_shortfall:
            message += (
                f" Stock ran out: {run.stock_shortfall} more sheet{'s' if run.stock_shortfall != 1 else ''} "
                "were used than were on record — the office has been told to order."
            )
        return redirect(request, "/phone/home", message, "warning" if run.stock_shortfall else "success")
