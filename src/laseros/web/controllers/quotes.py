"""Quotes: the list (filters, CSV), a quote's page with its lines, status moves, Revise, print and PDF."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from laseros.domain.admin.roles import Permission
from laseros.domain.billing.models import QuoteStatus
from laseros.domain.billing.quotes import QUOTE_TRANSITIONS, REVISABLE, QuoteFilters
from laseros.domain.billing.schemas import LineInput, QuoteInput
from laseros.domain.billing.sending import EMAILED_QUOTE_STATUSES, DocumentMailer, check_quote
from laseros.domain.kernel.errors import InvalidInput
from laseros.web.deps import Calendar, Clients, CurrentActor, Db, DbSession, Invoices, PageSize, Projects, Quotes
from laseros.web.documents import document_pdf, document_response
from laseros.web.export import csv_export
from laseros.web.forms import FormState, filter_date, filter_id, form_ids, form_values
from laseros.web.guards import requires, unsafe_methods_require
from laseros.web.htmx import Page, for_whole_page, redirect, render


def quote_filters(status: str, client_id: str, q: str, start: str, end: str) -> QuoteFilters:
    return QuoteFilters(
        status=status, client_id=filter_id(client_id), q=q[:200], start=filter_date(start), end=filter_date(end)
    )


class QuoteController(Controller):
    path = "/quotes"
    guards = [requires(Permission.PC_VIEW), unsafe_methods_require(Permission.BILLING_EDIT)]

    @get("/")
    async def index(
        self,
        request: Request,
        page_size: PageSize,
        db: Db,
        quotes: Quotes,
        clients: Clients,
        status: FromQuery[str] = "",
        client_id: FromQuery[str] = "",
        q: FromQuery[str] = "",
        start: FromQuery[str] = "",
        end: FromQuery[str] = "",
        page: FromQuery[int] = 1,
        format: FromQuery[str] = "",
    ) -> Page | Stream:
        filters = quote_filters(status, client_id, q, start, end)
        if format == "csv":
            return csv_export(request, db, quotes.export(filters))
        listing = await quotes.list(filters, page=page, per_page=page_size)
        context = {
            "page": listing,
            "filters": filters,
            "statuses": list(QuoteStatus),
            "client_choices": await for_whole_page(request, clients.choices),
        }
        return await render(request, "quotes/index.html", context, block="results")

    @get("/new", guards=[requires(Permission.BILLING_EDIT)])
    async def new_form(self, request: Request, projects: Projects, project_id: FromQuery[str] = "") -> Page:
        return await self._new_form(request, projects, FormState({"project_id": project_id}))

    async def _new_form(self, request: Request, projects: Projects, form: FormState, status_code: int = 200) -> Page:
        choices = [(p.id, f"{p.project_code} {p.name}") for p in await projects.recent(limit=200)]
        return await render(request, "quotes/new.html", {"form": form, "project_choices": choices},
                            status_code=status_code)  # fmt: skip

    @post("/new")
    async def create(self, request: Request, quotes: Quotes, projects: Projects) -> Response[Any]:
        values = await form_values(request)
        try:
            quote = await quotes.create(QuoteInput.parse(values, new=True))
        except InvalidInput as bad:
            return await self._new_form(request, projects, FormState(values, bad.errors), status_code=422)
        return redirect(request, f"/quotes/{quote.id}", f"Draft quote {quote.quote_number} created.")

    @get("/{ref:str}")
    async def detail_or_pdf(self, request: Request, ref: FromPath[str], quotes: Quotes, db_session: DbSession) -> Page:
        """/quotes/12 is the quote's page; /quotes/12.pdf its PDF."""
        number, dot, suffix = ref.partition(".")
        if not number.isdigit() or len(number) > 12 or (dot and suffix != "pdf"):
            raise NotFoundException()
        if dot:
            quote = await quotes.get(int(number))
            return await document_response(request, db_session, "documents/quote.html", {"quote": quote},
                                           pdf_name=f"{quote.quote_number}.pdf")  # fmt: skip
        return await self._detail(request, quotes, int(number))

    @get("/{quote_id:int}/print")
    async def print_view(
        self, request: Request, quote_id: FromPath[int], quotes: Quotes, db_session: DbSession
    ) -> Page:
        quote = await quotes.get(quote_id)
        return await document_response(request, db_session, "documents/quote.html", {"quote": quote}, pdf_name=None)

    @staticmethod
    async def _detail(
        request: Request, quotes: Quotes, quote_id: int, line_form: FormState | None = None,
        header_form: FormState | None = None, status_code: int = 200,
    ) -> Page:  # fmt: skip
        quote = await quotes.get(quote_id)
        context = {
            "quote": quote,
            "line_form": line_form or FormState({"quantity": "1"}),
            "header_form": header_form
            or FormState({"valid_until": quote.valid_until.isoformat(), "notes": quote.notes}),
            "moves": QUOTE_TRANSITIONS[quote.status_enum],
            "revisable": quote.status_enum in REVISABLE,
            "emailable": quote.status_enum in EMAILED_QUOTE_STATUSES,
        }
        return await render(request, "quotes/detail.html", context, status_code=status_code)

    @post("/{quote_id:int}/edit")
    async def update(self, request: Request, quote_id: FromPath[int], quotes: Quotes) -> Response[Any]:
        values = await form_values(request)
        try:
            await quotes.update(quote_id, QuoteInput.parse(values, new=False))
        except InvalidInput as bad:
            return await self._detail(request, quotes, quote_id, header_form=FormState(values, bad.errors),
                                      status_code=422)  # fmt: skip
        return redirect(request, f"/quotes/{quote_id}", "Quote saved.")

    @post("/{quote_id:int}/lines")
    async def add_line(self, request: Request, quote_id: FromPath[int], quotes: Quotes) -> Response[Any]:
        values = await form_values(request)
        try:
            await quotes.add_line(quote_id, LineInput.parse(values))
        except InvalidInput as bad:
            return await self._detail(request, quotes, quote_id, FormState(values, bad.errors), status_code=422)
        return redirect(request, f"/quotes/{quote_id}", "Line added.")

    @post("/{quote_id:int}/lines/{line_id:int}/edit")
    async def edit_line(
        self, request: Request, quote_id: FromPath[int], line_id: FromPath[int], quotes: Quotes
    ) -> Response[Any]:
        values = await form_values(request)
        try:
            await quotes.edit_line(quote_id, line_id, LineInput.parse(values))
        except InvalidInput as bad:
            return await self._detail(request, quotes, quote_id, FormState(values, bad.errors), status_code=422)
        return redirect(request, f"/quotes/{quote_id}", "Line saved.")

    @post("/{quote_id:int}/lines/{line_id:int}/delete")
    async def remove_line(
        self, request: Request, quote_id: FromPath[int], line_id: FromPath[int], quotes: Quotes
    ) -> Response[Any]:
        await quotes.remove_line(quote_id, line_id)
        return redirect(request, f"/quotes/{quote_id}", "Line removed.")

    @post("/{quote_id:int}/lines/reorder")
    async def reorder_lines(self, request: Request, quote_id: FromPath[int], quotes: Quotes) -> Response[Any]:
        await quotes.reorder_lines(quote_id, await form_ids(request, "line"))
        return redirect(request, f"/quotes/{quote_id}", "Lines reordered.")

    @post("/{quote_id:int}/status")
    async def change_status(self, request: Request, quote_id: FromPath[int], quotes: Quotes) -> Response[Any]:
        values = await form_values(request)
        target = values.get("status", "")
        if target not in (QuoteStatus.SENT.value, QuoteStatus.ACCEPTED.value, QuoteStatus.DECLINED.value):
            raise InvalidInput({"status": "Choose sent, accepted or declined."})
        quote = await quotes.change_status(quote_id, QuoteStatus(target))
        return redirect(
            request, f"/quotes/{quote_id}", f"{quote.quote_number} marked {quote.status_enum.label.lower()}."
        )

    @post("/{quote_id:int}/revise")
    async def revise(self, request: Request, quote_id: FromPath[int], quotes: Quotes) -> Response[Any]:
        quote = await quotes.revise(quote_id)
        return redirect(request, f"/quotes/{quote.id}", f"Draft {quote.quote_number} made to revise the quote.")

    @post("/{quote_id:int}/invoice")
    async def invoice(self, request: Request, quote_id: FromPath[int], invoices: Invoices) -> Response[Any]:
        invoice = await invoices.create_from_quote(quote_id)
        return redirect(request, f"/invoices/{invoice.id}", "Draft invoice made from the quote.")

    @post("/{quote_id:int}/email")
    async def email(
        self, request: Request, quote_id: FromPath[int], quotes: Quotes, db_session: DbSession,
        actor: CurrentActor, calendar: Calendar, state: State,
    ) -> Response[Any]:  # fmt: skip
        """Send by email: the quote's PDF to the client, then the same move as "mark sent"."""
        quote = await quotes.get(quote_id)
        address = check_quote(quote)  # 409 / 422 before the PDF is made
        pdf = await document_pdf(request, db_session, "documents/quote.html", {"quote": quote})
        mailer = DocumentMailer(db_session, actor, calendar, state.settings.data_dir)
        sent = await mailer.send_quote(quote_id, pdf)
        return redirect(request, f"/quotes/{quote_id}", f"{sent.quote_number} sent by email to {address}.")
