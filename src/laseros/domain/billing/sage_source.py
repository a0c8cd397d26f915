"""The invoices area's side of the Sage invoice sync (``accounting.invoices.InvoiceSource``).

Given the :class:`~laseros.db.Database`, not a session: the sync calls Sage between these calls
and holds no transaction (on SQLite: the write lock) while a call is in flight. Each write here is
its own short transaction, and a payment goes through ``InvoiceService.record_payment``, so Sage's
payments follow the same rules as one typed in (never above the balance; the status from
``settled_status``).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import or_

from laseros.db import Database
from laseros.domain.accounting.invoices import InvoiceLine, IssuedInvoice, PaymentOutcome
from laseros.domain.billing.invoices import InvoiceService
from laseros.domain.billing.models import UNPAID_STATUSES, Invoice
from laseros.domain.billing.schemas import PaymentInput
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import SYSTEM, Actor
from laseros.domain.kernel.money import ZERO, format_rand
from laseros.domain.kernel.shop import ShopCalendar

# How a payment learnt from Sage is recorded: Sage says that money came in, not how.
SAGE_PAYMENT_METHOD = "Other"
SAGE_PAYMENT_REFERENCE = "from Sage"

_OWED = [status.value for status in UNPAID_STATUSES]


def _issued(invoice: Invoice) -> IssuedInvoice:
    assert invoice.invoice_number and invoice.issued_on and invoice.due_date  # issued: numbered and dated
    client = invoice.client
    return IssuedInvoice(
        invoice_id=invoice.id,
        number=invoice.invoice_number,
        client_label=f"{client.client_code} {client.name}",
        sage_customer_id=client.sage_customer_id,
        issued_on=invoice.issued_on,
        due_on=invoice.due_date,
        vat_rate=invoice.vat_rate,
        subtotal=invoice.subtotal,
        vat_amount=invoice.vat_amount,
        total=invoice.total,
        lines=[InvoiceLine(li.description, li.quantity, li.unit_price, li.line_total) for li in invoice.lines],
        sage_invoice_id=invoice.sage_invoice_id,
        owed=invoice.status in _OWED,
    )


class BillingInvoiceSource:
    """Issued invoices for the sync, their Sage ids, and the payments Sage reports."""

    def __init__(self, db: Database, calendar: ShopCalendar, actor: Actor = SYSTEM) -> None:
        self.db = db
        self.calendar = calendar
        self.actor = actor

    async def issued_invoices(self) -> Sequence[IssuedInvoice]:
        """Issued invoices not in Sage yet, and those in Sage still owed; paid ones already sent are done."""
        async with self.db.session(write=False) as session:
            service = InvoiceService(session, self.actor, self.calendar)
            stmt = service.issued_query().where(or_(Invoice.sage_invoice_id.is_(None), Invoice.status.in_(_OWED)))
            return [_issued(invoice) for invoice in (await session.scalars(stmt)).unique()]

    async def link_invoice(self, invoice_id: int, sage_invoice_id: str) -> None:
        async with self.db.session(write=True) as session:
            invoice = await session.get(Invoice, invoice_id)
            if invoice is None or invoice.sage_invoice_id:
                return
            invoice.sage_invoice_id = sage_invoice_id
            details = f"{invoice.invoice_number}: in Sage as {sage_invoice_id}"
            record_activity(session, self.actor, "linked", "invoice", invoice_id, details)
            await session.commit()

    async def record_payment(self, invoice_id: int, outstanding: Decimal) -> PaymentOutcome:
        """What Sage has been paid beyond what is recorded here becomes one payment "from Sage"."""
        # One write transaction from reading the balance to recording: a payment typed in meanwhile
        # cannot make this one exceed the balance.
        async with self.db.session(write=True) as session:
            service = InvoiceService(session, self.actor, self.calendar)
            invoice = await service.get(invoice_id)
            if invoice.status not in _OWED:
                return PaymentOutcome(ZERO)
            balance = invoice.balance
            if outstanding == balance:
                return PaymentOutcome(ZERO)
            if outstanding < 0 or outstanding > balance:
                # Sage says more is owed than here (a payment recorded here that Sage does not have), or
                # that the client paid too much: a person decides; nothing is recorded.
                note = (
                    f"{invoice.invoice_number}: Sage says {format_rand(outstanding)} is outstanding, "
                    f"Laser OS {format_rand(balance)}; nothing recorded"
                )
                return PaymentOutcome(ZERO, note)
            paid = balance - outstanding
            payment = PaymentInput(paid, self.calendar.today(), SAGE_PAYMENT_METHOD, SAGE_PAYMENT_REFERENCE)
            await service.record_payment(invoice_id, payment)
            return PaymentOutcome(paid)
