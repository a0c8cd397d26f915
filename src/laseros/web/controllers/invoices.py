"""Invoices and payments: lists (filters, CSV), an invoice's page, issue, void, payments, print and PDF."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from laseros.domain.admin.roles import Permission
from laseros.domain.billing.invoices import InvoiceFilters, PaymentFilters, missing_recipient_details
from laseros.domain.billing.models import PAYMENT_METHODS, InvoiceStatus
from laseros.domain.billing.schemas import InvoiceInput, LineInput, PaymentInput
from laseros.domain.billing.sending import EMAILED_INVOICE_STATUSES, DocumentMailer, check_invoice
from laseros.domain.kernel.errors import InvalidInput
from laseros.domain.kernel.fields import MAX_TEXT, FieldReader
from laseros.web.deps import Calendar, Clients, CurrentActor, Db, DbSession, Invoices, PageSize
from laseros.web.documents import document_pdf, document_response
from laseros.web.export import csv_export
from laseros.web.forms import FormState, filter_date, filter_id, form_ids, form_values
from laseros.web.guards import requires, unsafe_methods_require
from laseros.web.htmx import Page, for_whole_page, redirect, render


class InvoiceController(Controller):
    path = "/invoices"
    guards = [requires(Permission.PC_VIEW), unsafe_methods_require(Permission.BILLING_EDIT)]

    @get("/")
    async def index(
        self,
        request: Request,
        page_size: PageSize,
        db: Db,
        invoices: Invoices,
        clients: Clients,
        status: FromQuery[str] = "",
        client_id: FromQuery[str] = "",
        q: FromQuery[str] = "",
        start: FromQuery[str] = "",
        end: FromQuery[str] = "",
        page: FromQuery[int] = 1,
        format: FromQuery[str] = "",
    ) -> Page | Stream:
        filters = InvoiceFilters(status=status, client_id=filter_id(client_id), q=q[:200], start=filter_date(start),
                                 end=filter_date(end))  # fmt: skip
        if format == "csv":
            return csv_export(request, db, invoices.export(filters))
        listing = await invoices.list(filters, page=page, per_page=page_size)
        context = {
            "page": listing,
            "filters": filters,
            "statuses": list(InvoiceStatus),
            "client_choices": await for_whole_page(request, clients.choices),
        }
        return await render(request, "invoices/index.html", context, block="results")

    @get("/payments")
    async def payments(
        self,
        request: Request,
        page_size: PageSize,
        db: Db,
        invoices: Invoices,
        clients: Clients,
        client_id: FromQuery[str] = "",
        method: FromQuery[str] = "",
        q: FromQuery[str] = "",
        start: FromQuery[str] = "",
        end: FromQuery[str] = "",
        page: FromQuery[int] = 1,
        format: FromQuery[str] = "",
    ) -> Page | Stream:
        filters = PaymentFilters(client_id=filter_id(client_id), method=method if method in PAYMENT_METHODS else "",
                                 q=q[:200], start=filter_date(start), end=filter_date(end))  # fmt: skip
        if format == "csv":
            return csv_export(request, db, invoices.export_payments(filters))
        listing = await invoices.payments(filters, page=page, per_page=page_size)
        context = {
            "page": listing,
            "filters": filters,
            "methods": PAYMENT_METHODS,
            "client_choices": await for_whole_page(request, clients.choices),
        }
        return await render(request, "invoices/payments.html", context, block="results")

    @post("/new")
    async def create(self, request: Request, invoices: Invoices) -> Response[Any]:
        invoice = await invoices.create_for_project(InvoiceInput.parse(await form_values(request)))
        return redirect(request, f"/invoices/{invoice.id}", "Draft invoice created.")

    @get("/{ref:str}")
    async def detail_or_pdf(
        self, request: Request, ref: FromPath[str], invoices: Invoices, db_session: DbSession, calendar: Calendar
    ) -> Page:
        """/invoices/12 is the invoice's page; /invoices/12.pdf its PDF."""
        number, dot, suffix = ref.partition(".")
        if not number.isdigit() or len(number) > 12 or (dot and suffix != "pdf"):
            raise NotFoundException()
        if dot:
            invoice = await invoices.get(int(number))
            return await document_response(request, db_session, "documents/invoice.html", {"invoice": invoice},
                                           pdf_name=f"{invoice.label.replace(' ', '-')}.pdf")  # fmt: skip
        return await self._detail(request, invoices, calendar, int(number))

    @get("/{invoice_id:int}/print")
    async def print_view(
        self, request: Request, invoice_id: FromPath[int], invoices: Invoices, db_session: DbSession
    ) -> Page:
        invoice = await invoices.get(invoice_id)
        return await document_response(request, db_session, "documents/invoice.html", {"invoice": invoice},
                                       pdf_name=None)  # fmt: skip

    @staticmethod
    async def _detail(
        request: Request, invoices: Invoices, calendar: Calendar, invoice_id: int,
        line_form: FormState | None = None, payment_form: FormState | None = None, status_code: int = 200,
    ) -> Page:  # fmt: skip
        invoice = await invoices.get(invoice_id)
        context = {
            "invoice": invoice,
            "line_form": line_form or FormState({"quantity": "1"}),
            "payment_form": payment_form
            or FormState({"paid_on": calendar.today().isoformat(), "method": "EFT", "amount": f"{invoice.balance}"}),
            "missing": missing_recipient_details(invoice),
            "methods": [(m, m) for m in PAYMENT_METHODS],
            "emailable": invoice.status_enum in EMAILED_INVOICE_STATUSES,
        }
        return await render(request, "invoices/detail.html", context, status_code=status_code)

    @post("/{invoice_id:int}/edit")
    async def update(self, request: Request, invoice_id: FromPath[int], invoices: Invoices) -> Response[Any]:
        read = FieldReader(await form_values(request))
        notes = read.text("notes", max_length=MAX_TEXT)
        read.finish()
        await invoices.update_notes(invoice_id, notes)
        return redirect(request, f"/invoices/{invoice_id}", "Invoice saved.")

    @post("/{invoice_id:int}/lines")
    async def add_line(
        self, request: Request, invoice_id: FromPath[int], invoices: Invoices, calendar: Calendar
    ) -> Response[Any]:
        values = await form_values(request)
        try:
            await invoices.add_line(invoice_id, LineInput.parse(values))
        except InvalidInput as bad:
            return await self._detail(request, invoices, calendar, invoice_id, FormState(values, bad.errors),
                                      status_code=422)  # fmt: skip
        return redirect(request, f"/invoices/{invoice_id}", "Line added.")

    @post("/{invoice_id:int}/lines/{line_id:int}/edit")
    async def edit_line(
        self, request: Request, invoice_id: FromPath[int], line_id: FromPath[int], invoices: Invoices,
        calendar: Calendar,
    ) -> Response[Any]:  # fmt: skip
        values = await form_values(request)
        try:
            await invoices.edit_line(invoice_id, line_id, LineInput.parse(values))
        except InvalidInput as bad:
            return await self._detail(request, invoices, calendar, invoice_id, FormState(values, bad.errors),
                                      status_code=422)  # fmt: skip
        return redirect(request, f"/invoices/{invoice_id}", "Line saved.")

    @post("/{invoice_id:int}/lines/{line_id:int}/delete")
    async def remove_line(
        self, request: Request, invoice_id: FromPath[int], line_id: FromPath[int], invoices: Invoices
    ) -> Response[Any]:
        await invoices.remove_line(invoice_id, line_id)
        return redirect(request, f"/invoices/{invoice_id}", "Line removed.")

    @post("/{invoice_id:int}/lines/reorder")
    async def reorder_lines(self, request: Request, invoice_id: FromPath[int], invoices: Invoices) -> Response[Any]:
        await invoices.reorder_lines(invoice_id, await form_ids(request, "line"))
        return redirect(request, f"/invoices/{invoice_id}", "Lines reordered.")

    @post("/{invoice_id:int}/status")
    async def change_status(self, request: Request, invoice_id: FromPath[int], invoices: Invoices) -> Response[Any]:
        target = (await form_values(request)).get("status", "")
        if target == InvoiceStatus.SENT.value:
            invoice = await invoices.issue(invoice_id)
            return redirect(request, f"/invoices/{invoice_id}", f"Tax invoice {invoice.invoice_number} issued.")
        if target == InvoiceStatus.VOID.value:
            invoice = await invoices.void(invoice_id)
            return redirect(request, f"/invoices/{invoice_id}", f"{invoice.label} is void.")
        raise InvalidInput({"status": "Choose sent (issue) or void."})

    @post("/{invoice_id:int}/payments")
    async def record_payment(
        self, request: Request, invoice_id: FromPath[int], invoices: Invoices, calendar: Calendar
    ) -> Response[Any]:
        values = await form_values(request)
        try:
            invoice = await invoices.record_payment(invoice_id, PaymentInput.parse(values))
        except InvalidInput as bad:
            form = FormState(values, bad.errors)
            return await self._detail(request, invoices, calendar, invoice_id, payment_form=form, status_code=422)
        return redirect(
            request,
            f"/invoices/{invoice_id}",
            f"Payment recorded: {invoice.label} is {invoice.status_enum.label.lower()}.",
        )

    @post("/{invoice_id:int}/email")
    async def email(
        self, request: Request, invoice_id: FromPath[int], invoices: Invoices, db_session: DbSession,
        actor: CurrentActor, calendar: Calendar, state: State,
    ) -> Response[Any]:  # fmt: skip
        """Send by email: an issued invoice's PDF to the client (a draft is issued first)."""
        invoice = await invoices.get(invoice_id)
        address = check_invoice(invoice)  # 409 / 422 before the PDF is made
        pdf = await document_pdf(request, db_session, "documents/invoice.html", {"invoice": invoice})
        mailer = DocumentMailer(db_session, actor, calendar, state.settings.data_dir)
        sent = await mailer.send_invoice(invoice_id, pdf)
        return redirect(request, f"/invoices/{invoice_id}", f"{sent.label} sent by email to {address}.")
