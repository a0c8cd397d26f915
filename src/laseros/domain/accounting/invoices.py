"""The seam to the invoices area: what the invoice and payment sync needs from it.

The invoice sync (``invoice_sync.py``: invoices → Sage, payments back) is written against
:class:`InvoiceSource` so that accounting never imports the invoices area: billing provides the
implementation (``domain/billing/sage_source.py``) and the job wires it in (``jobs/tasks.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    quantity: Decimal
    unit_price: Decimal  # excluding VAT
    line_total: Decimal  # quantity × unit price, rounded once (excluding VAT)


@dataclass(frozen=True)
class IssuedInvoice:
    """An issued invoice as the sync sends it: its number is the reference Sage is searched by."""

    invoice_id: int
    number: str  # INV-…
    client_label: str  # "CL-0001 Acme" (the sync's summary names it)
    sage_customer_id: str | None  # the client's Sage customer; None: the customer sync has not linked it yet
    issued_on: date
    due_on: date
    vat_rate: Decimal  # 15 for 15 %
    subtotal: Decimal
    vat_amount: Decimal  # VAT on the subtotal, rounded once
    total: Decimal
    lines: Sequence[InvoiceLine]
    sage_invoice_id: str | None  # set once Sage has it: a re-run sends it again never
    owed: bool  # sent, partially paid or overdue: payments back read what Sage says is outstanding


@dataclass(frozen=True)
class PaymentOutcome:
    """What ``record_payment`` did: the amount recorded "from Sage" (0: nothing new), or why not."""

    recorded: Decimal
    note: str = ""  # set when Sage and Laser OS disagree and nothing was recorded


class InvoiceSource(Protocol):
    """What the invoices area gives the invoice and payment sync."""

    async def issued_invoices(self) -> Sequence[IssuedInvoice]:
        """Issued invoices (never drafts, never void) that are not in Sage yet or still owed, oldest first."""
        ...

    async def link_invoice(self, invoice_id: int, sage_invoice_id: str) -> None:
        """Store the Sage id on the invoice, so a re-run finds it sent (one transaction)."""
        ...

    async def record_payment(self, invoice_id: int, outstanding: Decimal) -> PaymentOutcome:
        """Sage says ``outstanding`` is still owed: the invoice becomes partially paid or paid, with a
        payment row "from Sage" for the difference (idempotent: the same amount twice records nothing)."""
        ...
