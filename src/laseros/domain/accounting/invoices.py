"""The seam to the invoices area: what the invoice and payment sync will need from it.

The invoices area (issued invoices, payments) is built beside this one. The invoice sync
(invoices → Sage, payments back) is written against :class:`InvoiceSource` so that accounting
never imports invoices' internals: the invoices area provides an implementation, and the job
wires it in. Until then there is no invoice sync (docs/accounting.md).

The back ends already speak the calls it needs: ``ZaBackend.save_invoice`` / ``find_invoice`` /
``get_invoice`` (``TaxInvoice/Save``, ``TaxInvoice/Get``; ``AmountDue`` is what is outstanding).
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
    vat_rate: Decimal  # 15 for 15 %


@dataclass(frozen=True)
class IssuedInvoice:
    """An issued invoice as the sync sends it: its number is the reference Sage is searched by."""

    invoice_id: int
    number: str  # INV-…
    client_id: int
    issued_on: date
    due_on: date
    total: Decimal
    lines: Sequence[InvoiceLine]
    sage_invoice_id: str | None  # set once Sage has it: a re-run sends it again never


class InvoiceSource(Protocol):
    """What the invoices area gives the invoice and payment sync."""

    async def issued_invoices(self) -> Sequence[IssuedInvoice]:
        """Issued invoices (never drafts), with the Sage id of those already sent."""
        ...

    async def link_invoice(self, invoice_id: int, sage_invoice_id: str) -> None:
        """Store the Sage id on the invoice, so a re-run finds it sent (one transaction)."""
        ...

    async def record_payment(self, invoice_id: int, outstanding: Decimal) -> None:
        """Sage says ``outstanding`` is still owed: the invoice becomes partially paid or paid, with a
        payment row "from Sage" for the difference (idempotent: the same amount twice records nothing)."""
        ...
