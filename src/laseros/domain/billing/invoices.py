"""Invoices and payments: drafts without a number, INV-YYYY-0001 on issue, payments and the balance.

The number is taken in the issuing transaction (``sequences.next_yearly_code``): a refused or
rolled-back issue gives it back, so issued numbers run without gaps and are never reused (SARS).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, joinedload, selectinload

from laseros.db import UnitOfWork, action, utcnow
from laseros.domain.billing import lines as doc_lines
from laseros.domain.billing.alerts import refresh_billing_alerts
from laseros.domain.billing.models import (
    ISSUED_STATUSES,
    UNPAID_STATUSES,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    Quote,
    QuoteStatus,
)
from laseros.domain.billing.schemas import InvoiceInput, LineInput, PaymentInput
from laseros.domain.clients.models import Client
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.errors import Conflict, InvalidInput, NotFound
from laseros.domain.kernel.money import ZERO, format_rand, line_total
from laseros.domain.kernel.paging import Export, Page, paginate
from laseros.domain.kernel.registry import PAYMENT_TERMS_DAYS, VAT_RATE
from laseros.domain.kernel.search import contains
from laseros.domain.kernel.sequences import next_yearly_code
from laseros.domain.kernel.settings import SettingsService
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.projects.models import Project

INVOICE_EXPORT_COLUMNS = ("id", "invoice_number", "status", "project_code", "client_name", "issued_on", "due_date",
                          "subtotal", "vat_amount", "total", "amount_paid", "created_at", "updated_at")  # fmt: skip
PAYMENT_EXPORT_COLUMNS = ("id", "invoice_number", "client_name", "amount", "paid_on", "method", "reference",
                          "created_at")  # fmt: skip
# A number column searched like text (drafts have none).
_number = cast("InstrumentedAttribute[str]", Invoice.invoice_number)
# SARS: a tax invoice above this (incl. VAT) names the recipient with address and VAT number.
FULL_TAX_INVOICE_ABOVE = Decimal("5000.00")


def settled_status(invoice: Invoice, today: date) -> InvoiceStatus:
    """The status an issued invoice's payments and due date give it (the one rule)."""
    if invoice.status in (InvoiceStatus.DRAFT.value, InvoiceStatus.VOID.value):
        return invoice.status_enum
    if invoice.amount_paid >= invoice.total:
        return InvoiceStatus.PAID
    if invoice.due_date is not None and invoice.due_date < today:
        return InvoiceStatus.OVERDUE
    return InvoiceStatus.PARTIALLY_PAID if invoice.amount_paid > 0 else InvoiceStatus.SENT


def missing_recipient_details(invoice: Invoice) -> builtins.list[str]:
    """What a full tax invoice (above R 5 000 incl. VAT) still lacks of the client: name, address, VAT number."""
    if invoice.total <= FULL_TAX_INVOICE_ABOVE:
        return []
    client = invoice.client
    wanted = {"name": client.name, "address": client.address, "VAT number": client.vat_number}
    return [label for label, value in wanted.items() if not value.strip()]


@dataclass(frozen=True)
class InvoiceFilters:
    status: str = ""
    client_id: int | None = None
    project_id: int | None = None
    q: str = ""
    start: date | None = None  # issued on or after (drafts: created)
    end: date | None = None


@dataclass(frozen=True)
class PaymentFilters:
    client_id: int | None = None
    method: str = ""
    q: str = ""
    start: date | None = None
    end: date | None = None


class InvoiceService:
    def __init__(self, session: UnitOfWork, actor: Actor, calendar: ShopCalendar) -> None:
        self.session = session
        self.actor = actor
        self.calendar = calendar

    # -- reading ----------------------------------------------------------------------------------------

    def search_query(self, filters: InvoiceFilters) -> Select[Invoice]:
        stmt = (
            select(Invoice)
            .join(Project, Project.id == Invoice.project_id)
            .join(Client, Client.id == Invoice.client_id)
            .options(joinedload(Invoice.project), joinedload(Invoice.client))
            .order_by(Invoice.id.desc())
        )
        if filters.status in {s.value for s in InvoiceStatus}:
            stmt = stmt.where(Invoice.status == filters.status)
        if filters.client_id is not None:
            stmt = stmt.where(Invoice.client_id == filters.client_id)
        if filters.project_id is not None:
            stmt = stmt.where(Invoice.project_id == filters.project_id)
        day = func.coalesce(Invoice.issued_on, func.date(Invoice.created_at))
        if filters.start is not None:
            stmt = stmt.where(day >= filters.start)
        if filters.end is not None:
            stmt = stmt.where(day <= filters.end)
        if term := filters.q.strip():
            columns = (_number, Project.project_code, Project.name, Client.name)
            stmt = stmt.where(or_(*(contains(self.session, column, term) for column in columns)))
        return stmt

    def export(self, filters: InvoiceFilters) -> Export:
        columns: list[Any] = [
            Invoice.id, Invoice.invoice_number, Invoice.status, Project.project_code, Client.name, Invoice.issued_on,
            Invoice.due_date, Invoice.subtotal, Invoice.vat_amount, Invoice.total, Invoice.amount_paid,
            Invoice.created_at, Invoice.updated_at,
        ]  # fmt: skip
        stmt = self.search_query(filters).with_only_columns(*columns)
        return Export("invoices.csv", INVOICE_EXPORT_COLUMNS, stmt)

    def issued_query(self, start: date | None = None, end: date | None = None) -> Select[Invoice]:
        """Issued invoices (numbered, not void), oldest number first, optionally by issue date (accounting, reports)."""
        stmt = (
            select(Invoice)
            .where(Invoice.status.in_([s.value for s in ISSUED_STATUSES]))
            .options(joinedload(Invoice.client), selectinload(Invoice.lines))
            .order_by(Invoice.issued_on, Invoice.id)
        )
        if start is not None:
            stmt = stmt.where(Invoice.issued_on >= start)
        if end is not None:
            stmt = stmt.where(Invoice.issued_on <= end)
        return stmt

    async def list(self, filters: InvoiceFilters, page: int = 1, per_page: int = 25) -> Page[Invoice]:
        return await paginate(self.session, self.search_query(filters), page, per_page)

    async def get(self, invoice_id: int) -> Invoice:
        invoice = await self.session.scalar(
            select(Invoice)
            .where(Invoice.id == invoice_id)
            .options(
                selectinload(Invoice.lines),
                selectinload(Invoice.payments),
                joinedload(Invoice.project),
                joinedload(Invoice.client),
            )
            .execution_options(populate_existing=True)
        )
        if invoice is None:
            raise NotFound(f"Invoice {invoice_id} does not exist.")
        return invoice

    async def for_project(self, project_id: int) -> builtins.list[Invoice]:
        return list(
            await self.session.scalars(
                select(Invoice).where(Invoice.project_id == project_id).order_by(Invoice.id.desc())
            )
        )

    async def project_balance(self, project_id: int) -> Decimal:
        """What the client still owes on the project's issued invoices."""
        row = (
            await self.session.execute(
                select(
                    func.coalesce(func.sum(Invoice.total), 0), func.coalesce(func.sum(Invoice.amount_paid), 0)
                ).where(Invoice.project_id == project_id, Invoice.status.in_([s.value for s in UNPAID_STATUSES]))
            )
        ).one()
        return (row[0] or ZERO) - (row[1] or ZERO)

    async def overdue_totals(self) -> tuple[int, Decimal]:
        """Overdue invoices: how many, and what they still owe (the dashboard)."""
        row = (
            await self.session.execute(
                select(
                    func.count(Invoice.id),
                    func.coalesce(func.sum(Invoice.total), 0),
                    func.coalesce(func.sum(Invoice.amount_paid), 0),
                ).where(Invoice.status == InvoiceStatus.OVERDUE.value)
            )
        ).one()
        return int(row[0]), (row[1] or ZERO) - (row[2] or ZERO)

    async def overdue(self) -> builtins.list[Invoice]:
        return list(
            await self.session.scalars(
                select(Invoice)
                .where(Invoice.status == InvoiceStatus.OVERDUE.value)
                .options(joinedload(Invoice.project), joinedload(Invoice.client))
                .order_by(Invoice.due_date, Invoice.id)
            )
        )

    def payments_query(self, filters: PaymentFilters) -> Select[Payment]:
        stmt = (
            select(Payment)
            .join(Invoice, Invoice.id == Payment.invoice_id)
            .join(Client, Client.id == Invoice.client_id)
            .options(joinedload(Payment.invoice).joinedload(Invoice.client))
            .order_by(Payment.paid_on.desc(), Payment.id.desc())
        )
        if filters.client_id is not None:
            stmt = stmt.where(Invoice.client_id == filters.client_id)
        if filters.method:
            stmt = stmt.where(Payment.method == filters.method)
        if filters.start is not None:
            stmt = stmt.where(Payment.paid_on >= filters.start)
        if filters.end is not None:
            stmt = stmt.where(Payment.paid_on <= filters.end)
        if term := filters.q.strip():
            columns = (_number, Payment.reference, Client.name)
            stmt = stmt.where(or_(*(contains(self.session, column, term) for column in columns)))
        return stmt

    async def payments(self, filters: PaymentFilters, page: int = 1, per_page: int = 25) -> Page[Payment]:
        return await paginate(self.session, self.payments_query(filters), page, per_page)

    def export_payments(self, filters: PaymentFilters) -> Export:
        columns: list[Any] = [
            Payment.id, Invoice.invoice_number, Client.name, Payment.amount, Payment.paid_on, Payment.method,
            Payment.reference, Payment.created_at,
        ]  # fmt: skip
        stmt = self.payments_query(filters).with_only_columns(*columns)
        return Export("payments.csv", PAYMENT_EXPORT_COLUMNS, stmt)

    # -- writing ----------------------------------------------------------------------------------------

    def _log(self, invoice: Invoice, verb: str, details: str) -> None:
        record_activity(self.session, self.actor, verb, "invoice", invoice.id, f"{invoice.label}: {details}")

    async def _new_invoice(self, project: Project, vat_rate: Decimal, quote_id: int | None, notes: str) -> Invoice:
        invoice = Invoice(
            project_id=project.id, client_id=project.client_id, quote_id=quote_id, status=InvoiceStatus.DRAFT.value,
            notes=notes, vat_rate=vat_rate, subtotal=ZERO, vat_amount=ZERO, total=ZERO, amount_paid=ZERO,
        )  # fmt: skip
        self.session.add(invoice)
        await self.session.flush()
        return invoice

    async def _copy_lines(self, invoice: Invoice, quote: Quote) -> builtins.list[InvoiceLine]:
        copies = [
            InvoiceLine(invoice_id=invoice.id, position=line.position, description=line.description,
                        quantity=line.quantity, unit_price=line.unit_price, line_total=line.line_total)
            for line in quote.lines
        ]  # fmt: skip
        self.session.add_all(copies)
        return copies

    async def _quote(self, quote_id: int) -> Quote:
        quote = await self.session.scalar(
            select(Quote).where(Quote.id == quote_id).options(selectinload(Quote.lines), joinedload(Quote.project))
        )
        if quote is None:
            raise NotFound(f"Quote {quote_id} does not exist.")
        return quote

    @action
    async def create_from_quote(self, quote_id: int) -> Invoice:
        """A draft invoice with an accepted quote's lines and VAT rate. Commits."""
        quote = await self._quote(quote_id)
        if quote.status != QuoteStatus.ACCEPTED.value:
            raise Conflict(f"{quote.quote_number} is {quote.status}: only an accepted quote is invoiced.")
        invoice = await self._new_invoice(quote.project, quote.vat_rate, quote.id, "")
        doc_lines.retotal(invoice, await self._copy_lines(invoice, quote))
        self._log(invoice, "created", f"draft from {quote.quote_number}")
        await self.session.commit()
        return invoice

    @action
    async def create_for_project(self, data: InvoiceInput) -> Invoice:
        """A draft invoice for a project: its latest accepted quote's lines, else one line at its quoted price
        (taken as excl. VAT), else no lines. Commits."""
        project = await self.session.get(Project, data.project_id)
        if project is None:
            raise InvalidInput({"project_id": "Choose a project from the list."})
        accepted = await self.session.scalar(
            select(Quote.id)
            .where(Quote.project_id == project.id, Quote.status == QuoteStatus.ACCEPTED.value)
            .order_by(Quote.id.desc())
            .limit(1)
        )
        if accepted is not None:
            quote = await self._quote(accepted)
            invoice = await self._new_invoice(project, quote.vat_rate, quote.id, data.notes)
            made = await self._copy_lines(invoice, quote)
            source = f"from {quote.quote_number}"
        else:
            invoice = await self._new_invoice(project, await SettingsService(self.session).get(VAT_RATE), None,
                                              data.notes)  # fmt: skip
            made = []
            if project.quoted_price:
                line = InvoiceLine(
                    invoice_id=invoice.id,
                    position=1,
                    description=f"{project.project_code} {project.name}",
                    quantity=Decimal(1),
                    unit_price=project.quoted_price,
                    line_total=line_total(1, project.quoted_price),
                )
                self.session.add(line)
                made.append(line)
            source = "from the quoted price" if made else "without lines"
        doc_lines.retotal(invoice, made)
        self._log(invoice, "created", f"draft for {project.project_code} {source}")
        await self.session.commit()
        return invoice

    async def _draft(self, invoice_id: int) -> Invoice:
        invoice = await self.get(invoice_id)
        if not invoice.is_draft:
            raise Conflict(
                f"{invoice.label} is {invoice.status_enum.label.lower()}: only a draft invoice can be changed "
                "(an issued tax invoice stays as it was issued; void it and invoice again)."
            )
        return invoice

    @action
    async def update_notes(self, invoice_id: int, notes: str) -> Invoice:
        invoice = await self._draft(invoice_id)
        invoice.notes = notes
        self._log(invoice, "updated", "notes")
        await self.session.commit()
        return invoice

    @action
    async def add_line(self, invoice_id: int, data: LineInput) -> Invoice:
        invoice = await self._draft(invoice_id)
        line = InvoiceLine(invoice_id=invoice.id, position=doc_lines.next_position(invoice.lines))
        doc_lines.fill(line, data)
        invoice.lines.append(line)
        doc_lines.retotal(invoice, invoice.lines)
        self._log(invoice, "line_added", f"{data.description} ({data.quantity} × {format_rand(data.unit_price)})")
        await self.session.commit()
        return invoice

    @action
    async def edit_line(self, invoice_id: int, line_id: int, data: LineInput) -> Invoice:
        invoice = await self._draft(invoice_id)
        doc_lines.fill(doc_lines.find(invoice.lines, line_id), data)
        doc_lines.retotal(invoice, invoice.lines)
        self._log(invoice, "line_edited", data.description)
        await self.session.commit()
        return invoice

    @action
    async def remove_line(self, invoice_id: int, line_id: int) -> Invoice:
        invoice = await self._draft(invoice_id)
        line = doc_lines.find(invoice.lines, line_id)
        invoice.lines.remove(line)
        doc_lines.renumber(invoice.lines)
        doc_lines.retotal(invoice, invoice.lines)
        self._log(invoice, "line_removed", line.description)
        await self.session.commit()
        return invoice

    @action
    async def reorder_lines(self, invoice_id: int, order: Sequence[int]) -> Invoice:
        invoice = await self._draft(invoice_id)
        doc_lines.reorder(invoice.lines, order)
        self._log(invoice, "lines_reordered", f"{len(order)} line(s)")
        await self.session.commit()
        return invoice

    @action
    async def issue(self, invoice_id: int) -> Invoice:
        """Draft → sent: the next INV-YYYY-#### in this transaction, issued today, due after the terms. Commits."""
        invoice = await self._draft(invoice_id)
        if not invoice.lines or invoice.total <= 0:
            raise Conflict(f"{invoice.label} has nothing to charge: add its lines before issuing it.")
        today = self.calendar.today()
        invoice.invoice_number = await next_yearly_code(self.session, "INV", today.year)
        invoice.issued_on = today
        terms: int = await SettingsService(self.session).get(PAYMENT_TERMS_DAYS)
        invoice.due_date = today + timedelta(days=terms)
        invoice.status = InvoiceStatus.SENT.value
        invoice.status = settled_status(invoice, today).value
        self._log(invoice, "issued", f"{format_rand(invoice.total)}, due {invoice.due_date}")
        await self.session.commit()
        return invoice

    @action
    async def void(self, invoice_id: int) -> Invoice:
        """Void an invoice with no payments; an issued one keeps its number (never reused). Commits."""
        invoice = await self.get(invoice_id)
        if invoice.status == InvoiceStatus.VOID.value:
            raise Conflict(f"{invoice.label} is already void.")
        if invoice.payments:
            raise Conflict(
                f"{invoice.label} has {len(invoice.payments)} payment(s) recorded: it cannot be voided "
                "(refund the client and record a credit in your accounts)."
            )
        invoice.status = InvoiceStatus.VOID.value
        invoice.voided_at = utcnow()
        self._log(invoice, "voided", "kept its number" if invoice.invoice_number else "draft")
        await self.session.flush()
        await refresh_billing_alerts(self.session, self.calendar.today())
        await self.session.commit()
        return invoice

    @action
    async def record_payment(self, invoice_id: int, data: PaymentInput) -> Invoice:
        """A payment against an issued invoice, never above its balance; the status follows. Commits."""
        invoice = await self.get(invoice_id)
        if invoice.status not in [s.value for s in UNPAID_STATUSES]:
            reason = {
                InvoiceStatus.DRAFT.value: "issue it first",
                InvoiceStatus.PAID.value: "it is paid in full",
                InvoiceStatus.VOID.value: "it is void",
            }[invoice.status]
            raise Conflict(f"A payment cannot be recorded on {invoice.label}: {reason}.")
        if data.amount > invoice.balance:
            raise InvalidInput(
                {"amount": f"That is more than the balance of {format_rand(invoice.balance)}: record at most that."}
            )
        if invoice.issued_on is not None and data.paid_on < invoice.issued_on - timedelta(days=365):
            raise InvalidInput({"paid_on": "That date is long before the invoice was issued."})
        if data.paid_on > self.calendar.today():
            raise InvalidInput({"paid_on": "A payment cannot be dated in the future."})
        payment = Payment(invoice_id=invoice.id, amount=data.amount, paid_on=data.paid_on, method=data.method,
                          reference=data.reference, recorded_by_id=self.actor.user_id)  # fmt: skip
        invoice.payments.append(payment)
        invoice.amount_paid = invoice.amount_paid + data.amount
        invoice.status = settled_status(invoice, self.calendar.today()).value
        self._log(invoice, "payment_recorded",
                  f"{format_rand(data.amount)} {data.method} {data.reference}".strip()
                  + f"; balance {format_rand(invoice.balance)}")  # fmt: skip
        await self.session.flush()
        await refresh_billing_alerts(self.session, self.calendar.today())
        await self.session.commit()
        return invoice

    @action
    async def mark_overdue(self) -> int:
        """Unpaid invoices past their due date become overdue (``alerts.billing_day``, nightly). Commits."""
        today = self.calendar.today()
        due = list(
            await self.session.scalars(
                select(Invoice).where(
                    Invoice.status.in_([InvoiceStatus.SENT.value, InvoiceStatus.PARTIALLY_PAID.value]),
                    Invoice.due_date < today,
                )
            )
        )
        for invoice in due:
            invoice.status = settled_status(invoice, today).value
            self._log(invoice, "status_changed", f"overdue (due {invoice.due_date})")
        await self.session.commit()
        return len(due)
