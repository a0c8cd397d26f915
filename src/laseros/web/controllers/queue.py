"""The cutting queue: ordered list, drag-and-drop reorder, inline edits and status buttons."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Stream
from litestar.status_codes import HTTP_204_NO_CONTENT

from laseros.domain.admin.roles import Permission
from laseros.domain.kernel.errors import Conflict, InvalidInput, PermissionDenied
from laseros.domain.projects.lifecycle import running_runs
from laseros.domain.projects.stages import QueueStatus
from laseros.domain.queue.models import QueueItem
from laseros.domain.queue.schemas import QueueEdit
from laseros.domain.runs.schemas import RunEnd
from laseros.web.deps import Db, Projects, Queue, Runs
from laseros.web.export import csv_export
from laseros.web.forms import FormState, filter_page, form_list, form_values
from laseros.web.guards import requires, unsafe_methods_require
from laseros.web.htmx import Page, is_fragment_request, redirect, render


def _safe_next(raw: str | None, default: str) -> str:
    return raw if raw and raw.startswith("/") and not raw.startswith("//") else default


class QueueController(Controller):
    path = "/queue"
    guards = [requires(Permission.PC_VIEW), unsafe_methods_require(Permission.OFFICE_EDIT)]

    @get("/")
    async def index(
        self,
        request: Request,
        db: Db,
        queue: Queue,
        filter: FromQuery[str] = "active",
        page: FromQuery[int] = 1,
        format: FromQuery[str] = "",
    ) -> Page | Stream:
        show_all = filter == "all"
        if format == "csv":
            return csv_export(request, db, queue.export(show_all))
        return await self._list(request, queue, show_all, page)

    @staticmethod
    async def _list(
        request: Request,
        queue: Queue,
        show_all: bool,
        page: int,
        error: str | None = None,
        status_code: int = 200,
    ) -> Page:
        listing = await queue.list(show_all=show_all, page=page)
        context = {
            "page": listing,
            "show_all": show_all,
            "error": error,
            "states": await queue.job_states(listing.items),
            "days": [] if show_all else await queue.day_loads(),
        }
        return await render(request, "queue/index.html", context, block="queue_section", status_code=status_code)

    @staticmethod
    async def _row(
        request: Request,
        queue: Queue,
        item: QueueItem,
        *,
        editing: bool = False,
        form: FormState | None = None,
        saved: bool = False,
        status_code: int = 200,
    ) -> Page:
        """One row of the queue, to read or to edit (the htmx row editor)."""
        context = {
            "item": item,
            "row_form": form or FormState(),
            "show_all": False,
            "editing": editing,
            "saved": saved,
            "position": await queue.position(item),
            "states": await queue.job_states([item]),
        }
        return await render(request, "queue/index.html", context, block="queue_row", status_code=status_code)

    @get("/{item_id:int}/row")
    async def row(self, request: Request, item_id: FromPath[int], queue: Queue, edit: FromQuery[str] = "") -> Page:
        """The row alone: ``edit=1`` opens its editor, without it the row as the list shows it."""
        item = await queue.get(item_id)
        can_edit = request.user.can(Permission.OFFICE_EDIT)
        return await self._row(request, queue, item, editing=edit == "1" and can_edit)

    @get("/{item_id:int}/cancel", guards=[requires(Permission.OFFICE_EDIT)])
    async def cancel_form(self, request: Request, item_id: FromPath[int], queue: Queue, projects: Projects) -> Page:
        return await self._cancel_page(request, item_id, queue, projects, FormState({"sheets_used": "0"}))

    @post("/{item_id:int}/cancel")
    async def cancel(
        self, request: Request, item_id: FromPath[int], queue: Queue, projects: Projects, runs: Runs
    ) -> Response[Any]:
        """Cancel a job, once confirmed: a run going is ended with the sheets reported, in the same action."""
        values = await form_values(request)
        item = await queue.get(item_id)
        try:
            if values.get("end_run") == "1":
                report = RunEnd.parse(values)
                await runs.end_and_cancel(item.project_id, report, role=request.user.role)
            else:
                await queue.set_status(item_id, QueueStatus.CANCELLED)
        except InvalidInput as bad:
            return await self._cancel_page(request, item_id, queue, projects, FormState(values, bad.errors), None, 422)
        except (Conflict, PermissionDenied) as refused:
            status = 403 if isinstance(refused, PermissionDenied) else 409
            return await self._cancel_page(request, item_id, queue, projects, FormState(values), str(refused), status)
        if is_fragment_request(request):
            return await self._list(request, queue, values.get("filter") == "all", 1)
        return redirect(request, "/queue", f"{item.project.project_code} cancelled.")

    @staticmethod
    async def _cancel_page(
        request: Request,
        item_id: int,
        queue: Queue,
        projects: Projects,
        form: FormState,
        error: str | None = None,
        status_code: int = 200,
    ) -> Page:
        item = await queue.get(item_id)
        context = {
            "item": item,
            "project": item.project,
            "going": await running_runs(queue.session, item.project_id),
            "form": form,
            "error": error,
        }
        return await render(request, "queue/cancel.html", context, status_code=status_code)

    @get("/{item_id:int}")
    async def detail(
        self,
        request: Request,
        item_id: FromPath[int],
        queue: Queue,
        projects: Projects,
    ) -> Page:
        return await self._detail(request, item_id, queue, projects, FormState())

    @staticmethod
    async def _detail(
        request: Request,
        item_id: FromPath[int],
        queue: Queue,
        projects: Projects,
        form: FormState,
        error: str | None = None,
        status_code: int = 200,
    ) -> Page:
        item = await queue.get(item_id)
        project = await projects.get(item.project_id)
        context = {
            "item": item,
            "project": project,
            "state": (await queue.job_states([item]))[item.id],
            "position": await queue.position(item),
            "timeline": await projects.timeline(project),
            "form": form,
            "error": error,
        }
        return await render(request, "queue/detail.html", context, status_code=status_code)

    @post("/reorder")
    async def reorder(self, request: Request, queue: Queue) -> Response[Any]:
        values = await form_values(request)
        # The drag posts the page's ids in their new order; a ↑ or ↓ without JavaScript posts "a-b" (a before b).
        raw_ids = values["swap"].split("-", 1) if values.get("swap") else await form_list(request, "item")
        show_all, page = values.get("filter") == "all", filter_page(values.get("page", ""))
        if not all(v.isdigit() and len(v) < 12 for v in raw_ids):
            return await self._list(request, queue, show_all, page, "The new order was not understood.", 422)
        try:
            moved = await queue.reorder([int(v) for v in raw_ids])
        except Conflict as refused:
            return await self._list(request, queue, show_all, page, str(refused), 409)
        if is_fragment_request(request):
            # The browser already shows the new order (app.js renumbers the rows): nothing to swap.
            return Response(content=None, status_code=HTTP_204_NO_CONTENT)
        return redirect(request, "/queue", "Queue order saved." if moved else None)

    @post("/{item_id:int}/status")
    async def set_status(
        self,
        request: Request,
        item_id: FromPath[int],
        queue: Queue,
        projects: Projects,
    ) -> Response[Any]:
        values = await form_values(request)
        back = _safe_next(values.get("next"), f"/queue/{item_id}")
        raw = values.get("status", "")
        if raw not in {s.value for s in QueueStatus}:
            return await self._detail(
                request, item_id, queue, projects, FormState(), f"{raw[:40]!r} is not a queue status.", 422
            )
        if raw == QueueStatus.CANCELLED.value:
            # Cancelling is asked about first (and says when a run is going).
            return redirect(request, f"/queue/{item_id}/cancel")
        try:
            item = await queue.set_status(item_id, QueueStatus(raw))
        except Conflict as refused:
            return await self._detail(request, item_id, queue, projects, FormState(), str(refused), 409)
        if is_fragment_request(request):
            return await self._list(request, queue, values.get("filter") == "all", 1)
        return redirect(request, back, f"{item.project.project_code}: queue item is now {item.status}.")

    @post("/{item_id:int}/edit")
    async def edit(
        self,
        request: Request,
        item_id: FromPath[int],
        queue: Queue,
        projects: Projects,
    ) -> Response[Any]:
        values = await form_values(request)
        try:
            item = await queue.edit(item_id, QueueEdit.parse(values))
        except InvalidInput as bad:
            item = await queue.get(item_id)
            form = FormState(values, bad.errors)
            if is_fragment_request(request):
                return await self._row(request, queue, item, editing=True, form=form, status_code=422)
            return await self._detail(request, item_id, queue, projects, form, status_code=422)
        if is_fragment_request(request):
            return await self._row(request, queue, item, saved=True)
        return redirect(request, _safe_next(values.get("next"), f"/queue/{item_id}"), "Queue item saved.")
