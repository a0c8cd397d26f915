"""quote_expiring and invoice_overdue: billing's notifications, reconciled like the evaluator's.

The rules are ``notifications.rules.quote_alerts`` and ``invoice_alerts``; this gathers their facts,
and makes the live notifications of those two types match (raise new ones, update changed messages,
close the ones whose condition ended). They carry a ``quote:ID`` / ``invoice:ID`` subject and no
project id, so the project evaluator never touches them. Runs after each quote status change and
payment, and in the nightly billing job.

A quote that raises quote_expiring also gets a client reminder drafted (/comms/drafts), once per
quote (event key ``quote:<id>``); it is withdrawn while still pending once the quote is no longer sent.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import insert, select, update

from laseros.db import UnitOfWork, utcnow
from laseros.domain.billing.messages import DEFAULT_BODIES, QUOTE_REMINDER, quote_values
from laseros.domain.billing.models import Invoice, InvoiceStatus, Quote, QuoteStatus
from laseros.domain.clients.models import Client
from laseros.domain.comms.templating import values_for
from laseros.domain.kernel.actor import SYSTEM
from laseros.domain.kernel.registry import COMPANY_NAME
from laseros.domain.kernel.settings import SettingsService
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.notifications.bell import announce_after_commit
from laseros.domain.notifications.drafting import (
    DocumentDraftNeed,
    ensure_document_drafts,
    pending_document_drafts,
    withdraw_drafts,
)
from laseros.domain.notifications.models import DraftKind, Notification
from laseros.domain.notifications.rules import (
    BILLING_TYPES,
    QUOTE_EXPIRING_DAYS,
    InvoiceFacts,
    QuoteFacts,
    Raised,
    invoice_alerts,
    quote_alerts,
)
from laseros.domain.projects.models import Project


async def billing_alerts(session: UnitOfWork, today: date) -> list[Raised]:
    """What should be live now: expiring sent quotes and overdue unpaid invoices."""
    quotes = await session.execute(
        select(Quote.id, Quote.quote_number, Project.project_code, Client.name, Quote.valid_until, Quote.total)
        .join(Project, Project.id == Quote.project_id)
        .join(Client, Client.id == Quote.client_id)
        .where(
            Quote.status == QuoteStatus.SENT.value,
            Quote.valid_until >= today,
            Quote.valid_until <= today + timedelta(days=QUOTE_EXPIRING_DAYS),
        )
    )
    invoices = await session.execute(
        select(
            Invoice.id,
            Invoice.invoice_number,
            Project.project_code,
            Client.name,
            Invoice.due_date,
            Invoice.total,
            Invoice.amount_paid,
        )
        .join(Project, Project.id == Invoice.project_id)
        .join(Client, Client.id == Invoice.client_id)
        .where(
            Invoice.status.in_(
                [s.value for s in (InvoiceStatus.SENT, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.OVERDUE)]
            ),
            Invoice.due_date < today,
        )
    )
    raised: list[Raised] = []
    for row in quotes.all():
        raised += quote_alerts(QuoteFacts(*row), today)
    for inv_id, number, code, client, due, total, paid in invoices.all():
        raised += invoice_alerts(InvoiceFacts(inv_id, number or "", code, client, due or today, total - paid), today)
    return raised


async def refresh_billing_alerts(session: UnitOfWork, today: date) -> int:
    """Make the live quote_expiring / invoice_overdue notifications match the rules (caller's transaction).

    Returns how many changed; the bell is told after the commit when any did.
    """
    desired = {r.key: r for r in await billing_alerts(session, today)}
    live = (
        await session.execute(
            select(
                Notification.id,
                Notification.notif_type,
                Notification.subject_key,
                Notification.message,
                Notification.severity,
            ).where(Notification.closed_at.is_(None), Notification.notif_type.in_([t.value for t in BILLING_TYPES]))
        )
    ).all()
    now = utcnow()
    changed = 0
    for row in live:
        wanted = desired.pop((row.notif_type, row.subject_key), None)
        if wanted is None:
            await session.execute(
                update(Notification)
                .where(Notification.id == row.id, Notification.resolved_at.is_(None))
                .values(resolved_at=now, auto_cleared=True)
            )
            await session.execute(
                update(Notification).where(Notification.id == row.id).values(closed_at=now, updated_at=now)
            )
            changed += 1
        elif wanted.message != row.message or wanted.severity.value != row.severity:
            await session.execute(
                update(Notification)
                .where(Notification.id == row.id)
                .values(message=wanted.message, severity=wanted.severity.value, updated_at=now)
            )
            changed += 1
    if desired:
        await session.execute(
            insert(Notification),
            [
                {"notif_type": r.notif_type.value, "subject_key": r.subject_key, "project_id": None,
                 "inventory_item_id": None, "message": r.message, "severity": r.severity.value,
                 "created_at": now, "updated_at": now}
                for r in desired.values()
            ],
        )  # fmt: skip
        changed += len(desired)
    drafted = await quote_reminders(session, today)
    if changed or drafted:
        announce_after_commit(session)
    return changed


def quote_event(quote_id: int) -> str:
    return f"quote:{quote_id}"


async def quote_reminders(session: UnitOfWork, today: date) -> int:
    """Draft the reminder of each quote raising quote_expiring (once per quote); withdraw the pending
    reminders of quotes no longer sent. Caller's transaction; returns how many were drafted."""
    rows = (
        await session.execute(
            select(Quote, Project, Client)
            .join(Project, Project.id == Quote.project_id)
            .join(Client, Client.id == Quote.client_id)
            .where(
                Quote.status == QuoteStatus.SENT.value,
                Quote.valid_until >= today,
                Quote.valid_until <= today + timedelta(days=QUOTE_EXPIRING_DAYS),
            )
        )
    ).all()
    pending = await pending_document_drafts(session, DraftKind.QUOTE_REMINDER)
    if pending:
        about = {draft_id: int(key.partition(":")[2] or 0) for draft_id, key in pending}
        sent = set(
            await session.scalars(
                select(Quote.id).where(Quote.id.in_(set(about.values())), Quote.status == QuoteStatus.SENT.value)
            )
        )
        await withdraw_drafts(session, [draft_id for draft_id, quote_id in about.items() if quote_id not in sent])
    if not rows:
        return 0
    company = await SettingsService(session).get(COMPANY_NAME)
    needs = [
        DocumentDraftNeed(
            quote.project_id,
            quote.client_id,
            quote_event(quote.id),
            values_for(client, project, company, quote_values(quote)),
        )
        for quote, project, client in rows
    ]
    return await ensure_document_drafts(session, DraftKind.QUOTE_REMINDER, needs, DEFAULT_BODIES[QUOTE_REMINDER])


async def billing_day(session: UnitOfWork, calendar: ShopCalendar) -> dict[str, int]:
    """The nightly billing pass: expire sent quotes past valid-until, mark unpaid invoices past due overdue,
    and bring quote_expiring / invoice_overdue up to date (idempotent)."""
    from laseros.domain.billing.invoices import InvoiceService
    from laseros.domain.billing.quotes import QuoteService

    expired = await QuoteService(session, SYSTEM, calendar).expire_due()
    overdue = await InvoiceService(session, SYSTEM, calendar).mark_overdue()
    async with session.action():
        changed = await refresh_billing_alerts(session, calendar.today())
        await session.commit()
    return {"quotes_expired": expired, "invoices_overdue": overdue, "notifications_changed": changed}
