"""Sending a quote or an invoice by email, its PDF attached (docs/quotes_and_invoices.md "Sending").

One action: the email is queued through the communications outbox (Pending, sent by the
``send-email`` job once this commits) with the PDF kept as its attachment, and the document moves
as "mark sent" moves it — a draft quote becomes sent (a request project moves to quote); an issued
invoice is stamped sent. A client without a usable address is refused (422) before anything is
written. The PDF is rendered by the caller (the web layer owns the document templates).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from laseros.db import UnitOfWork, action, utcnow
from laseros.domain.billing.invoices import InvoiceService
from laseros.domain.billing.messages import (
    DEFAULT_BODIES,
    DEFAULT_SUBJECTS,
    INVOICE_EMAIL,
    QUOTE_EMAIL,
    invoice_values,
    quote_values,
)
from laseros.domain.billing.models import UNPAID_STATUSES, Invoice, InvoiceStatus, Quote, QuoteStatus
from laseros.domain.billing.quotes import QuoteService
from laseros.domain.clients.models import Client
from laseros.domain.comms import mail
from laseros.domain.comms.services import OutgoingEmail, OutgoingFile, attach_files, queue_email, render_keyed
from laseros.domain.comms.templating import values_for
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.errors import Conflict, InvalidInput
from laseros.domain.kernel.registry import COMPANY_NAME
from laseros.domain.kernel.settings import SettingsService
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.projects.models import Project

PDF = "application/pdf"
# An invoice is emailed once issued and until it is settled or void.
EMAILED_INVOICE_STATUSES: tuple[InvoiceStatus, ...] = UNPAID_STATUSES
EMAILED_QUOTE_STATUSES: tuple[QuoteStatus, ...] = (QuoteStatus.DRAFT, QuoteStatus.SENT)


def recipient(client: Client) -> str:
    """The client's address, or a 422 saying the client has none."""
    address = mail.check_address(client.email)
    if address is None:
        raise InvalidInput(
            {"email": f"{client.name} has no usable email address: add one on the client's page to send this."}
        )
    return address


def check_quote(quote: Quote) -> str:
    """Why this quote cannot be emailed (409), or the client's address (422 without one)."""
    if quote.status_enum not in EMAILED_QUOTE_STATUSES:
        status = quote.status_enum.label.lower()
        raise Conflict(f"{quote.quote_number} is {status}: only a draft or sent quote is sent to the client.")
    return recipient(quote.client)


def check_invoice(invoice: Invoice) -> str:
    if invoice.is_draft:
        raise Conflict(f"{invoice.label} is a draft: issue it first, then send it.")
    if invoice.status_enum not in EMAILED_INVOICE_STATUSES:
        raise Conflict(f"{invoice.label} is {invoice.status_enum.label.lower()}: there is nothing to send.")
    return recipient(invoice.client)


@contextlib.contextmanager
def _removed_on_failure(written: list[Path]) -> Iterator[None]:
    """The attachments written for a message are deleted again when its action does not commit."""
    try:
        yield
    except BaseException:
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink()
        raise


class DocumentMailer:
    def __init__(self, session: UnitOfWork, actor: Actor, calendar: ShopCalendar, data_dir: Path) -> None:
        self.session = session
        self.actor = actor
        self.calendar = calendar
        self.data_dir = data_dir

    async def _queue(
        self, key: str, client: Client, project_id: int, documents: dict[str, str], address: str, pdf: OutgoingFile
    ) -> tuple[int, list[Path]]:
        project = await self.session.get(Project, project_id)
        company = await SettingsService(self.session).get(COMPANY_NAME)
        values = values_for(client, project, company, documents)
        subject, body, template_id = await render_keyed(
            self.session, key, values, DEFAULT_SUBJECTS[key], DEFAULT_BODIES[key]
        )
        email = OutgoingEmail(
            recipient=address, subject=subject, body=body, client_id=client.id, project_id=project_id,
            template_id=template_id, kind=key,
        )  # fmt: skip
        comm = await queue_email(self.session, self.actor, email)
        return comm.id, attach_files(self.session, self.data_dir, comm, [pdf])

    @action
    async def send_quote(self, quote_id: int, pdf: bytes) -> Quote:
        """Email the quote's PDF to the client and mark a draft sent (a sent one is sent again). Commits."""
        quotes = QuoteService(self.session, self.actor, self.calendar)
        quote = await quotes.get(quote_id)
        address = check_quote(quote)
        attachment = OutgoingFile(f"{quote.quote_number}.pdf", PDF, pdf)
        comm_id, written = await self._queue(
            QUOTE_EMAIL, quote.client, quote.project_id, quote_values(quote), address, attachment
        )
        with _removed_on_failure(written):
            record_activity(self.session, self.actor, "emailed", "quote", quote.id,
                            f"{quote.quote_number}: to {address} with its PDF (message {comm_id})")  # fmt: skip
            if quote.is_draft:
                quote = await quotes.mark_sent(quote.id)  # the same move as "mark sent"; commits
            else:
                quote.sent_at = utcnow()
                await self.session.commit()
        return quote

    @action
    async def send_invoice(self, invoice_id: int, pdf: bytes) -> Invoice:
        """Email an issued invoice's PDF to the client and stamp it sent. Commits."""
        invoice = await InvoiceService(self.session, self.actor, self.calendar).get(invoice_id)
        address = check_invoice(invoice)
        attachment = OutgoingFile(f"{invoice.invoice_number}.pdf", PDF, pdf)
        comm_id, written = await self._queue(
            INVOICE_EMAIL, invoice.client, invoice.project_id, invoice_values(invoice), address, attachment
        )
        with _removed_on_failure(written):
            invoice.sent_at = utcnow()
            record_activity(self.session, self.actor, "emailed", "invoice", invoice.id,
                            f"{invoice.label}: to {address} with its PDF (message {comm_id})")  # fmt: skip
            await self.session.commit()
        return invoice
