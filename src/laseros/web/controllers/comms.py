"""Communications: the log (/comms), sending email, one message's page, and the client message drafts.

Drafts are read, edited inline, sent as email or by hand, marked sent or deleted (``DraftController``);
the log, sending and retrying are ``CommsController``.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from laseros.domain.admin.roles import Permission
from laseros.domain.comms import mail, outbox
from laseros.domain.comms.models import Channel, CommStatus, Direction
from laseros.domain.comms.services import CommFilters, parse_log, parse_send
from laseros.domain.comms.templates import TemplateInput, TemplateService
from laseros.domain.kernel.errors import Conflict, InvalidInput, NotFound
from laseros.domain.kernel.message_templates import PLACEHOLDERS
from laseros.domain.notifications.drafts import (
    DEFAULT_VIEW,
    DRAFT_VIEWS,
    DraftFilters,
    DraftService,
    check_editable,
)
from laseros.web.deps import AppSettings, Calendar, Comms, Db, Drafts, Inbound, MessageTemplates, PageSize
from laseros.web.export import csv_export
from laseros.web.forms import FormState, filter_date, filter_id, form_values
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

    @post("/{draft_id:int}/email")
    async def send_as_email(self, request: Request, draft_id: FromPath[int], comms: Comms) -> Response[Any]:
        """The draft really sent by email (to the client's address, or the one typed over it) and marked sent."""
        values = await form_values(request)
        view = _view(values.get("view"))
        try:
            comm = await comms.send_draft(
                draft_id, values.get("recipient", ""), values.get("subject", ""), values.get("body_text", "")
            )
        except InvalidInput as bad:
            message = " ".join(bad.errors.values())
            return redirect(request, _list_url(view), message, level="error")
        except (Conflict, NotFound) as refused:  # sent, withdrawn or deleted meanwhile
            return redirect(request, _list_url(view), str(refused), level="error")
        return redirect(request, f"/comms/{comm.id}", f"Email to {comm.recipient} queued; the draft is marked sent.")

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


# -- the communication log, sending, one message ----------------------------------------------------

CHANNEL_CHOICES = [(c.value, c.label) for c in Channel]
DIRECTION_CHOICES = [(Direction.OUT.value, "Out"), (Direction.IN.value, "In")]
STATUS_CHOICES = [(s.value, s.label) for s in CommStatus]
LOG_CHANNELS = [(c.value, c.label) for c in Channel if c != Channel.EMAIL]


def _comm_filters(
    channel: str, direction: str, status: str, client_id: str, project_id: str, start: str, end: str
) -> CommFilters:
    return CommFilters(
        channel=channel,
        direction=direction,
        status=status,
        client_id=filter_id(client_id),
        project_id=filter_id(project_id),
        start=filter_date(start),
        end=filter_date(end),
    )


class CommsController(Controller):
    path = "/comms"
    guards = [requires(Permission.PC_VIEW), unsafe_methods_require(Permission.COMMS_SEND)]

    @get("/")
    async def index(
        self,
        request: Request,
        page_size: PageSize,
        db: Db,
        comms: Comms,
        calendar: Calendar,
        channel: FromQuery[str] = "",
        direction: FromQuery[str] = "",
        status: FromQuery[str] = "",
        client_id: FromQuery[str] = "",
        project_id: FromQuery[str] = "",
        start: FromQuery[str] = "",
        end: FromQuery[str] = "",
        page: FromQuery[int] = 1,
        format: FromQuery[str] = "",
    ) -> Page | Stream:
        filters = _comm_filters(channel, direction, status, client_id, project_id, start, end)
        if format == "csv":
            return csv_export(request, db, comms.export(filters, calendar))
        listing = await comms.list(filters, page=page, per_page=page_size, calendar=calendar)
        context = {
            "page": listing,
            "filters": filters,
            "clients": await comms.clients(),
            "client_choices": [(c.id, c.name) for c in await comms.clients()],
            "channels": CHANNEL_CHOICES,
            "directions": DIRECTION_CHOICES,
            "statuses": STATUS_CHOICES,
            "log_channels": LOG_CHANNELS,
            "form": FormState({"direction": "out", "channel": "phone"}),
        }
        return await render(request, "comms/index.html", context, block="results")

    @get("/panel")
    async def panel(
        self, request: Request, comms: Comms, client_id: FromQuery[str] = "", project_id: FromQuery[str] = ""
    ) -> Page:
        """The Communications block of a client's or project's page (loaded into it by htmx)."""
        cid, pid = filter_id(client_id), filter_id(project_id)
        if cid is None and pid is None:
            raise NotFoundException("Say which client or project.")
        items = await comms.recent_for(client_id=cid, project_id=pid)
        context = {"items": items, "client_id": cid, "project_id": pid}
        return await render(request, "comms/panel.html", context)

    @post("/log")
    async def log(self, request: Request, comms: Comms) -> Response[Any]:
        values = await form_values(request)
        try:
            comm = await comms.log_message(parse_log(values))
        except InvalidInput as bad:
            context = {
                "form": FormState(values, bad.errors),
                "client_choices": [(c.id, c.name) for c in await comms.clients()],
                "log_channels": LOG_CHANNELS,
                "directions": DIRECTION_CHOICES,
            }
            return await render(request, "comms/log.html", context, status_code=422)
        return redirect(request, f"/comms/{comm.id}", f"{comm.channel_label} logged.")

    @get("/send", guards=[requires(Permission.COMMS_SEND)])
    async def send_form(
        self,
        request: Request,
        comms: Comms,
        app_settings: AppSettings,
        client_id: FromQuery[str] = "",
        project_id: FromQuery[str] = "",
    ) -> Page:
        cid, pid = filter_id(client_id), filter_id(project_id)
        values: dict[str, Any] = {"client_id": cid or "", "project_id": pid or ""}
        problem = None
        if cid is not None or pid is not None:
            try:
                client, project = await comms._about(cid, pid)
            except InvalidInput:
                raise NotFoundException("No such client or project.") from None
            if client is not None:
                values["client_id"] = client.id
                address = mail.check_address(client.email)
                values["recipient"] = address or ""
                if address is None:
                    problem = (
                        f"{client.name} has no usable email address on record: type one below, or add it to the client."
                    )
            values["project_id"] = project.id if project else ""
        return await self._send_page(request, comms, app_settings, FormState(values), problem=problem)

    @post("/send")
    async def send(self, request: Request, comms: Comms, app_settings: AppSettings) -> Response[Any]:
        values = await form_values(request)
        try:
            comm = await comms.send(parse_send(values))
        except InvalidInput as bad:
            return await self._send_page(request, comms, app_settings, FormState(values, bad.errors), status_code=422)
        return redirect(request, f"/comms/{comm.id}", f"Email to {comm.recipient} queued.")

    @get("/{comm_id:int}")
    async def detail(self, request: Request, comm_id: FromPath[int], comms: Comms, app_settings: AppSettings) -> Page:
        comm = await comms.get(comm_id)
        kept = None
        local = mail.uses_outbox(app_settings)
        if comm.channel == Channel.EMAIL.value and comm.direction == Direction.OUT.value and comm.message_id and local:
            kept = outbox.read_kept(app_settings.data_dir, comm.message_id)
        context = {"comm": comm, "kept": kept, "local_outbox": local}
        return await render(request, "comms/detail.html", context)

    @post("/{comm_id:int}/retry")
    async def retry(self, request: Request, comm_id: FromPath[int], comms: Comms) -> Response[Any]:
        try:
            comm = await comms.retry(comm_id)
        except Conflict as refused:
            return redirect(request, f"/comms/{comm_id}", str(refused), level="error")
        return redirect(request, f"/comms/{comm.id}", "Sending again.")

    @staticmethod
    async def _send_page(
        request: Request,
        comms: Any,
        app_settings: Any,
        form: FormState,
        *,
        problem: str | None = None,
        status_code: int = 200,
    ) -> Page:
        context = {
            "form": form,
            "problem": problem,
            "client_choices": [(c.id, c.name) for c in await comms.clients()],
            "template_choices": [(t.id, t.name) for t in await comms.templates()],
            "local_outbox": mail.uses_outbox(app_settings),
        }
        return await render(request, "comms/send.html", context, status_code=status_code)


# -- message templates ------------------------------------------------------------------------------


async def _parse_template(values: dict[str, str]) -> TemplateInput:
    """The form checked off the event loop: a costly template spends its second in a worker thread."""
    return await anyio.to_thread.run_sync(TemplateInput.parse, values)


class TemplateController(Controller):
    path = "/comms/templates"
    guards = [requires(Permission.PC_VIEW), unsafe_methods_require(Permission.SETTINGS_EDIT)]

    @get("/")
    async def index(self, request: Request, templates: MessageTemplates) -> Page:
        return await render(request, "comms/templates.html", {"templates": await templates.list()})

    @get("/new", guards=[requires(Permission.SETTINGS_EDIT)])
    async def new_form(self, request: Request, templates: MessageTemplates) -> Page:
        form = FormState({"channel": Channel.EMAIL.value, "is_active": "1"})
        return await self._form(request, templates, form, None)

    @post("/new")
    async def create(self, request: Request, templates: MessageTemplates) -> Response[Any]:
        values = await form_values(request)
        try:
            template = await templates.create(await _parse_template(values))
        except InvalidInput as bad:
            return await self._form(request, templates, FormState(values, bad.errors), None, status_code=422)
        return redirect(request, f"/comms/templates/{template.id}/edit", f"Template “{template.name}” created.")

    @get("/{template_id:int}/edit", guards=[requires(Permission.SETTINGS_EDIT)])
    async def edit_form(
        self, request: Request, template_id: FromPath[int], templates: MessageTemplates, project_id: FromQuery[str] = ""
    ) -> Page:
        template = await templates.get(template_id)
        values = {name: getattr(template, name) for name in TemplateInput.__dataclass_fields__}
        values["is_active"] = "1" if template.is_active else ""
        preview = await templates.preview(template, filter_id(project_id))
        return await self._form(request, templates, FormState(values), template, preview=preview)

    @post("/{template_id:int}/edit")
    async def update(self, request: Request, template_id: FromPath[int], templates: MessageTemplates) -> Response[Any]:
        values = await form_values(request)
        try:
            template = await templates.update(template_id, await _parse_template(values))
        except InvalidInput as bad:
            template = await templates.get(template_id)
            return await self._form(request, templates, FormState(values, bad.errors), template, status_code=422)
        return redirect(request, f"/comms/templates/{template.id}/edit", f"Template “{template.name}” saved.")

    @post("/{template_id:int}/activate")
    async def activate(
        self, request: Request, template_id: FromPath[int], templates: MessageTemplates
    ) -> Response[Any]:
        active = (await form_values(request)).get("active", "1") != "0"
        template = await templates.set_active(template_id, active)
        state = "active" if template.is_active else "switched off"
        return redirect(request, "/comms/templates", f"Template “{template.name}” is {state}.")

    @staticmethod
    async def _form(
        request: Request,
        templates: TemplateService,
        form: FormState,
        template: Any,
        *,
        preview: Any = None,
        status_code: int = 200,
    ) -> Page:
        context = {
            "form": form,
            "template": template,
            "preview": preview,
            "channels": CHANNEL_CHOICES,
            "placeholders": PLACEHOLDERS,
            "project_choices": [(p.id, p.project_code + " " + p.name) for p in await templates.projects()],
        }
        return await render(request, "comms/template_form.html", context, status_code=status_code)


# -- the inbox: email from unknown senders ------------------------------------------------------------


class InboxController(Controller):
    path = "/comms/inbox"
    guards = [requires(Permission.PC_VIEW), unsafe_methods_require(Permission.COMMS_SEND)]

    @get("/")
    async def index(self, request: Request, inbound: Inbound, comms: Comms) -> Page:
        context = {
            "items": await inbound.inbox(),
            "client_choices": [(c.id, c.name) for c in await comms.clients()],
            "form": FormState(),
        }
        return await render(request, "comms/inbox.html", context)

    @post("/{comm_id:int}/link")
    async def link(self, request: Request, comm_id: FromPath[int], inbound: Inbound) -> Response[Any]:
        values = await form_values(request)
        make_project = values.get("make_project", "") == "1"
        try:
            comm = await inbound.link_to_client(
                comm_id, filter_id(values.get("client_id", "")), make_project=make_project
            )
        except InvalidInput as bad:
            return redirect(request, "/comms/inbox", " ".join(bad.errors.values()), level="error")
        except Conflict as refused:
            return redirect(request, "/comms/inbox", str(refused), level="error")
        message = "Linked to the client" + (" and a new request project made." if make_project else ".")
        return redirect(request, f"/comms/{comm.id}", message)

    @post("/{comm_id:int}/discard")
    async def discard(self, request: Request, comm_id: FromPath[int], inbound: Inbound) -> Response[Any]:
        try:
            await inbound.discard(comm_id)
        except Conflict as refused:
            return redirect(request, "/comms/inbox", str(refused), level="error")
        return redirect(request, "/comms/inbox", "Discarded.")
