"""Issued invoices → Sage, and payments back, idempotently (docs/accounting.md).

An invoice is sent once: the Sage id is stored the moment Sage answers (its own short
transaction), and an invoice holding one is never sent again. Before creating an invoice the sync
looks for it in Sage by its number: a create that timed out, or a worker killed between Sage's
answer and the link, may have made it already — the lookup finds it and links it instead of making
a second one. Only an invoice whose client is linked to a Sage customer is sent (the customer sync
makes the links); the others wait, named in the summary.

Payments back: for each invoice in Sage and still owed here, Sage's outstanding amount is read; what
Sage has been paid beyond what is recorded here becomes one payment "from Sage"
(``InvoiceSource.record_payment``), so the same amount read twice records nothing.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from laseros.db import Database
from laseros.domain.accounting.backends import InvoiceBackend, RemoteInvoice
from laseros.domain.accounting.client import SageRejected, SageSetupError, SageUnavailable
from laseros.domain.accounting.invoices import InvoiceSource, IssuedInvoice
from laseros.domain.accounting.sync import run_sync
from laseros.domain.kernel.money import ZERO, format_rand
from laseros.settings import SageEndpoints

log = logging.getLogger(__name__)

# At most this many invoices are sent per run (two calls each, ≈ 1 s apart): a run stays well inside
# the job's five minutes; a backlog (the first run after connecting) goes out over the next hours.
SEND_PER_RUN = 50
# At most this many invoices' outstanding amounts are read per run (one call each), oldest first.
READ_PER_RUN = 100
NAMED = 5  # invoices named in the summary per list; the count covers the rest


@dataclass
class InvoiceSyncResult:
    outcome: str = "ok"  # ok, skipped, failed
    sent: int = 0  # created in Sage
    found: int = 0  # already in Sage under its number: linked, not sent again
    left: int = 0  # ready to send, left for the next run (SEND_PER_RUN)
    waiting: list[str] = field(default_factory=list)  # invoices whose client is not linked to Sage yet
    refused: list[str] = field(default_factory=list)  # invoices Sage refused, with its reason
    payments: int = 0  # payments "from Sage" recorded
    paid_in: Decimal = ZERO  # their sum
    disagree: list[str] = field(default_factory=list)  # Sage says more is owed than here: nothing recorded
    message: str = ""

    def summary(self) -> str:
        if self.outcome != "ok":
            return self.message
        text = f"{self.sent} invoices sent to Sage, {self.found} found there already"
        if self.left:
            text += f", {self.left} left for the next run"
        text += f"; {self.payments} payments from Sage ({format_rand(self.paid_in)})"
        for label, names in (
            ("waiting for the customer sync", self.waiting),
            ("refused by Sage", self.refused),
            ("to check", self.disagree),
        ):
            if names:
                more = f" and {len(names) - NAMED} more" if len(names) > NAMED else ""
                text += f"; {label}: {', '.join(names[:NAMED])}{more}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "paid_in": str(self.paid_in), "summary": self.summary()}


class InvoiceSync:
    """One run of the invoice sync (to Sage, then payments back) against one back end."""

    def __init__(self, backend: InvoiceBackend, source: InvoiceSource) -> None:
        self.backend = backend
        self.source = source

    async def _send(self, invoice: IssuedInvoice, customer_id: str) -> tuple[RemoteInvoice, bool]:
        """The invoice in Sage, and whether it was already there (found by its number)."""
        found = await self.backend.find_invoice(invoice.number)
        if found is not None and found.id:
            return found, True
        try:
            return await self.backend.create_invoice(invoice, customer_id), False
        except SageUnavailable:
            # A timeout or a lost connection: Sage may have made it. Look before anything is sent again;
            # if the lookup fails too, the run fails and the next one looks first.
            log.warning("creating %s in Sage did not finish; looking it up by its number", invoice.number)
            again = await self.backend.find_invoice(invoice.number)
            if again is None or not again.id:
                raise
            return again, True

    async def run(self) -> InvoiceSyncResult:
        result = InvoiceSyncResult()
        invoices = list(await self.source.issued_invoices())
        for invoice in (i for i in invoices if not i.sage_invoice_id):
            if not invoice.sage_customer_id:
                result.waiting.append(f"{invoice.number} ({invoice.client_label})")
                continue
            if result.sent + result.found + len(result.refused) >= SEND_PER_RUN:
                result.left += 1
                continue
            try:
                remote, existed = await self._send(invoice, invoice.sage_customer_id)
            except SageSetupError:
                raise
            except SageRejected as refused:
                result.refused.append(f"{invoice.number}: {refused}")
                continue
            await self.source.link_invoice(invoice.invoice_id, remote.id)
            if existed:
                result.found += 1
            else:
                result.sent += 1
        owed = sorted((i for i in invoices if i.sage_invoice_id and i.owed), key=lambda i: (i.due_on, i.invoice_id))
        for invoice in owed[:READ_PER_RUN]:
            assert invoice.sage_invoice_id is not None
            remote = await self.backend.get_invoice(invoice.sage_invoice_id)
            outcome = await self.source.record_payment(invoice.invoice_id, remote.outstanding)
            if outcome.recorded > 0:
                result.payments += 1
                result.paid_in += outcome.recorded
            if outcome.note:
                result.disagree.append(outcome.note)
        return result


async def sync_invoices(
    db: Database, endpoints: SageEndpoints, secret_key: str, source: InvoiceSource
) -> InvoiceSyncResult:
    """The invoice sync, if Sage is connected (``sync.run_sync``). A missing sales account or tax rate in
    Sage (``SageSetupError``) fails the run with what to fix; trying again will not help until it is."""

    async def work(backend: InvoiceBackend) -> InvoiceSyncResult:
        return await InvoiceSync(backend, source).run()

    return await run_sync(
        db, endpoints, secret_key, "invoices", "An invoice sync", InvoiceSyncResult, work, final=(SageSetupError,)
    )
