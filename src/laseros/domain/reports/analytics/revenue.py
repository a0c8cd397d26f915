"""Revenue for the clients report and the index: invoiced, paid and quoted, per client and per month.

The one place the reports read invoices, payments and quotes (SPEC §8.3). Every figure is a
grouped SQL sum over the stored totals (``billing.lines.retotal`` keeps them beside the lines);
no invoice or quote is loaded as an object. The definitions are docs/reports.md's ("Revenue"):

- **invoiced** — Σ ``total`` (VAT included) of the invoices *issued* in the period: ``issued_on``
  in it and the status one of ``ISSUED_STATUSES`` (sent, partially paid, paid, overdue); never a
  draft (no number, no date) nor a void invoice (it was cancelled, whether or not it had a number);
- **paid** — Σ ``amount`` of the payments dated (``paid_on``) in the period, whenever their
  invoice was issued (a void invoice has no payments: voiding refuses one that has);
- **quoted** — Σ ``total`` of the quotes *sent* in the period (``sent_at``), whatever became of
  them, except a quote whose revision was itself sent: the revision carries the value, so a
  re-quote is not counted twice.

``issued_on`` and ``paid_on`` are the shop's dates already, so they are compared with the period's
dates; ``sent_at`` is a UTC moment, placed on the shop's day like the runs (``Period.utc_range``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from laseros.domain.billing.models import ISSUED_STATUSES, Invoice, InvoiceStatus, Payment, Quote
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.reports.analytics.period import Period
from laseros.domain.reports.analytics.sql import hundredths, raw, year_month

ZERO = Decimal("0.00")
_ISSUED = [status.value for status in ISSUED_STATUSES]


@dataclass(frozen=True)
class ClientRevenue:
    invoiced: Decimal = ZERO  # Σ totals of the client's invoices issued in the period (VAT included)
    paid: Decimal = ZERO  # Σ payments from the client dated in the period
    quoted: Decimal = ZERO  # Σ totals of the client's quotes sent in the period (not superseded)
    invoices: int = 0  # how many invoices ``invoiced`` adds up

    @property
    def average_invoice(self) -> Decimal | None:
        """Invoiced ÷ the invoices issued (None without one): the clients report's average job value."""
        if not self.invoices:
            return None
        return (self.invoiced / self.invoices).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class MonthRevenue:
    month: str  # 'YYYY-MM'
    invoiced: Decimal
    paid: Decimal


def _issued_in(period: Period) -> list[Any]:
    return [Invoice.issued_on >= period.start, Invoice.issued_on <= period.end, Invoice.status.in_(_ISSUED)]


def _paid_in(period: Period) -> list[Any]:
    return [Payment.paid_on >= period.start, Payment.paid_on <= period.end, Invoice.status != InvoiceStatus.VOID.value]


def _sent_in(calendar: ShopCalendar, period: Period) -> list[Any]:
    first, last = period.utc_range(calendar)
    revision = aliased(Quote)
    superseded = exists().where(revision.revision_of_id == Quote.id, revision.sent_at.is_not(None))
    return [Quote.sent_at >= first, Quote.sent_at < last, ~superseded]


async def client_revenue(
    session: AsyncSession, calendar: ShopCalendar, period: Period, client_ids: Sequence[int] | None = None
) -> dict[int, ClientRevenue]:
    """Invoiced, paid and quoted per client id in the period: every client with any of them, or only
    ``client_ids`` when given (a client with none is left out of the dict)."""
    invoiced = select(Invoice.client_id, func.sum(raw(Invoice.total)), func.count(Invoice.id)).where(
        *_issued_in(period)
    )
    paid = (
        select(Invoice.client_id, func.sum(raw(Payment.amount)))
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .where(*_paid_in(period))
    )
    quoted = select(Quote.client_id, func.sum(raw(Quote.total))).where(*_sent_in(calendar, period))
    if client_ids is not None:
        invoiced = invoiced.where(Invoice.client_id.in_(client_ids))
        paid = paid.where(Invoice.client_id.in_(client_ids))
        quoted = quoted.where(Quote.client_id.in_(client_ids))
    figures: dict[int, dict[str, Any]] = {}
    for client_id, total, count in await session.execute(invoiced.group_by(Invoice.client_id)):
        figures.setdefault(client_id, {}).update(invoiced=hundredths(total), invoices=int(count))
    for client_id, total in await session.execute(paid.group_by(Invoice.client_id)):
        figures.setdefault(client_id, {})["paid"] = hundredths(total)
    for client_id, total in await session.execute(quoted.group_by(Quote.client_id)):
        figures.setdefault(client_id, {})["quoted"] = hundredths(total)
    return {client_id: ClientRevenue(**values) for client_id, values in figures.items()}


async def revenue_by_month(session: AsyncSession, period: Period) -> list[MonthRevenue]:
    """Invoiced and paid per calendar month of the period, every month listed (the first and last
    are clipped to the period), oldest first."""
    issued_month = year_month(session, Invoice.issued_on)
    paid_month = year_month(session, Payment.paid_on)
    invoiced = dict(
        (month, hundredths(total))
        for month, total in await session.execute(
            select(issued_month, func.sum(raw(Invoice.total))).where(*_issued_in(period)).group_by(issued_month)
        )
    )
    paid = dict(
        (month, hundredths(total))
        for month, total in await session.execute(
            select(paid_month, func.sum(raw(Payment.amount)))
            .join(Invoice, Invoice.id == Payment.invoice_id)
            .where(*_paid_in(period))
            .group_by(paid_month)
        )
    )
    return [MonthRevenue(m, invoiced.get(m, ZERO), paid.get(m, ZERO)) for m in months(period)]


def months(period: Period) -> list[str]:
    """'YYYY-MM' of every calendar month the period touches, oldest first."""
    first = period.start.year * 12 + period.start.month - 1
    last = period.end.year * 12 + period.end.month - 1
    return [f"{n // 12:04d}-{n % 12 + 1:02d}" for n in range(first, last + 1)]
