"""Client message drafts: read them, edit them inline, send them by hand, mark them sent or delete them."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from laseros.domain.admin.roles import Permission
from laseros.domain.kernel.errors import Conflict, InvalidInput
from laseros.domain.notifications.drafts import (
    DEFAULT_VIEW,
    DRAFT_VIEWS,
    DraftFilters,
    DraftService,
    check_editable,
)
from laseros.web.deps import Db, Drafts, PageSize
from laseros.web.export import csv_export
from laseros.web.forms import FormState, form_values
from laseros.web.guards import requires, unsafe_methods_require
from laseros.web.htmx import Page, is_fragment_request, redirect, render

TEMPLATE = "comms/drafts.html"


def _view(raw: str | None) -> str:
    """The list tab a request came from (lenient: anything unknown is the default tab)."""
    return raw if raw in DRAFT_VIEWS else DEFAULT_VIEW


def _list_url(view: str) -> str:
    return "/comms/drafts" if view == DEFAULT_VIEW else f"/comms/drafts?status={view}"


async def _note(request: Request, draft_id: int, message: str, level: str = "info", status_code: int = 200) -> Page:
    """The one-line note an htmx action leaves where a draft's card was."""
    context = {"note_id": draft_id, "message": message, "level": level}
    return await render(request, TEMPLATE, context, block="draft_note", status_code=status_code)


class DraftController(Controller):
    path = "/comms/drafts"
    guards = [requires(Permission.PC_VIEW), unsafe_methods_require(Permission.DRAFTS_MANAGE)]

    @get("/")
    async def index(
        self,
        request: Request,
        page_size: PageSize,
        db: Db,
        drafts: Drafts,
        status: FromQuery[str] = DEFAULT_VIEW,
        page: FromQuery[int] = 1,
        format: FromQuery[str] = "",
    ) -> Page | Stream:
        filters = DraftFilters(status=_view(status))
        if format == "csv":
            return csv_export(request, db, drafts.export(filters))
        listing = await drafts.list(filters, page=page, per_page=page_size)
        context = {"page": listing, "view": filters.status, "counts": await drafts.counts()}
        return await render(request, TEMPLATE, context, block="results")

    @get("/{draft_id:int}")
    async def detail(
        self, request: Request, draft_id: FromPath[int], drafts: Drafts, view: FromQuery[str] = ""
    ) -> Page:
        """One draft's card: its own page, or (htmx) the card that replaces an edit form on Cancel."""
        return await self._card(request, drafts, draft_id, _view(view))

    @get("/{draft_id:int}/edit", guards=[requires(Permission.DRAFTS_MANAGE)])
    async def edit_form(
        self, request: Request, draft_id: FromPath[int], drafts: Drafts, view: FromQuery[str] = ""
    ) -> Page:
        """The card with its message in a textarea (htmx swaps it in place of the card)."""
        try:
            card = await drafts.card(draft_id)
            check_editable(card.draft)
        except Conflict as refused:  # sent (the card says why) or withdrawn (a note says why)
            return await self._card(request, drafts, draft_id, _view(view), error=str(refused), status_code=409)
        form = FormState({"body_text": card.draft.body_text})
        return await self._card(request, drafts, draft_id, _view(view), form=form)

    @post("/{draft_id:int}/edit")
    async def edit(self, request: Request, draft_id: FromPath[int], drafts: Drafts) -> Response[Any]:
        values = await form_values(request)
        view = _view(values.get("view"))
        try:
            draft = await drafts.edit(draft_id, values.get("body_text", ""))
        except InvalidInput as bad:
            form = FormState(values, bad.errors)
            return await self._card(request, drafts, draft_id, view, form=form, status_code=422)
        except Conflict as refused:
            return await self._card(request, drafts, draft_id, view, error=str(refused), status_code=409)
        if is_fragment_request(request):
            return await self._card(request, drafts, draft_id, view, saved=True)
        return redirect(request, _list_url(view), f"Message for {draft.project.project_code} saved.")

    @post("/{draft_id:int}/sent")
    async def mark_sent(self, request: Request, draft_id: FromPath[int], drafts: Drafts) -> Response[Any]:
        view = _view((await form_values(request)).get("view"))
        try:
            draft = await drafts.mark_sent(draft_id)
        except Conflict as refused:
            return await self._card(request, drafts, draft_id, view, error=str(refused), status_code=409)
        if is_fragment_request(request):
            return await self._card(request, drafts, draft_id, view, saved=True)
        return redirect(request, _list_url(view), f"{draft.kind_label} for {draft.project.project_code} marked sent.")

    @post("/{draft_id:int}/delete")
    async def delete(self, request: Request, draft_id: FromPath[int], drafts: Drafts) -> Response[Any]:
        view = _view((await form_values(request)).get("view"))
        try:
            draft = await drafts.delete(draft_id)
        except Conflict as refused:
            return await self._card(request, drafts, draft_id, view, error=str(refused), status_code=409)
        message = f"{draft.kind_label} for {draft.project.project_code} deleted."
        if is_fragment_request(request):
            # The card makes way for a one-line note, so the list does not jump under the pointer.
            return await _note(request, draft_id, message)
        return redirect(request, _list_url(view), message)

    @staticmethod
    async def _card(
        request: Request,
        drafts: DraftService,
        draft_id: int,
        view: str,
        *,
        form: FormState | None = None,
        error: str | None = None,
        saved: bool = False,
        status_code: int = 200,
    ) -> Page:
        """One draft's card (htmx), or a page showing just that card (without JS, e.g. a 422 form)."""
        try:
            card = await drafts.card(draft_id)
        except Conflict as gone:  # withdrawn while the page was open: there is no card to show
            if not is_fragment_request(request):
                raise
            return await _note(request, draft_id, str(gone), level="error", status_code=409)
        context = {
            "card": card,
            "single": True,
            "view": view,
            "form": form,
            "error": error,
            "saved": saved,
        }
        return await render(request, TEMPLATE, context, block="draft_card", status_code=status_code)
