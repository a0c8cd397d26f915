"""Quotes with their lines; invoices with their lines and payments.

Amounts are Decimal cents (``ScaledDecimal``); totals are stored beside the lines and recomputed
by ``billing.lines.retotal`` whenever a line changes, so lists and reports read them directly.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from laseros.db import ScaledDecimal, TimestampedBase, UTCDateTime
from laseros.domain.kernel.money import ZERO

if TYPE_CHECKING:
    from laseros.domain.clients.models import Client
    from laseros.domain.projects.models import Project


class QuoteStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERDUE = "overdue"
    VOID = "void"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


# An issued invoice that still wants money.
UNPAID_STATUSES: tuple[InvoiceStatus, ...] = (InvoiceStatus.SENT, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.OVERDUE)
ISSUED_STATUSES: tuple[InvoiceStatus, ...] = (*UNPAID_STATUSES, InvoiceStatus.PAID)
PAYMENT_METHODS: tuple[str, ...] = ("EFT", "Cash", "Card", "Other")


class Totals:
    """Subtotal, VAT and total kept beside the lines (see ``lines.retotal``)."""

    vat_rate: Mapped[Decimal] = mapped_column(ScaledDecimal(2))
    subtotal: Mapped[Decimal] = mapped_column(ScaledDecimal(2), default=ZERO)
    vat_amount: Mapped[Decimal] = mapped_column(ScaledDecimal(2), default=ZERO)
    total: Mapped[Decimal] = mapped_column(ScaledDecimal(2), default=ZERO)


class Quote(Totals, TimestampedBase):
    __tablename__ = "quotes"
    __table_args__ = (
        Index("ix_quotes_status_valid_until", "status", "valid_until"),
        # The reports' quoted value: quotes sent in a period, and whether a sent revision replaced one (0016).
        Index("ix_quotes_report_sent", "sent_at", "client_id", "total"),
        Index("ix_quotes_revision_of_sent", "revision_of_id", "sent_at"),
    )

    quote_number: Mapped[str] = mapped_column(String(20), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=QuoteStatus.DRAFT.value)
    valid_until: Mapped[date] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    # "Revise" makes a new draft naming the quote it replaces.
    revision_of_id: Mapped[int | None] = mapped_column(ForeignKey("quotes.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    lines: Mapped[list[QuoteLine]] = relationship(
        cascade="all, delete-orphan", order_by="QuoteLine.position", lazy="raise", passive_deletes=True
    )
    project: Mapped[Project] = relationship(lazy="raise")
    client: Mapped[Client] = relationship(lazy="raise")
    revision_of: Mapped[Quote | None] = relationship(remote_side="Quote.id", lazy="raise")

    @property
    def status_enum(self) -> QuoteStatus:
        return QuoteStatus(self.status)

    @property
    def is_draft(self) -> bool:
        return self.status == QuoteStatus.DRAFT.value


class QuoteLine(TimestampedBase):
    __tablename__ = "quote_lines"

    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[Decimal] = mapped_column(ScaledDecimal(2))
    unit_price: Mapped[Decimal] = mapped_column(ScaledDecimal(2))
    line_total: Mapped[Decimal] = mapped_column(ScaledDecimal(2))


class Invoice(Totals, TimestampedBase):
    __tablename__ = "invoices"
    __table_args__ = (
        Index("ix_invoices_status_due_date", "status", "due_date"),
        # The reports' invoiced revenue: invoices issued in a period, per client (0016).
        Index("ix_invoices_report_issued", "issued_on", "status", "client_id", "total"),
    )

    # Empty while a draft; issuing gives the next INV-YYYY-0001 in the same transaction.
    invoice_number: Mapped[str | None] = mapped_column(String(20), unique=True, default=None)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    quote_id: Mapped[int | None] = mapped_column(ForeignKey("quotes.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=InvoiceStatus.DRAFT.value)
    notes: Mapped[str] = mapped_column(Text, default="")
    issued_on: Mapped[date | None] = mapped_column(Date, default=None)
    due_date: Mapped[date | None] = mapped_column(Date, default=None)
    amount_paid: Mapped[Decimal] = mapped_column(ScaledDecimal(2), default=ZERO)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # The invoice's id in Sage once the invoice sync sent it (docs/accounting.md); never sent twice.
    sage_invoice_id: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True, default=None)
    # When it was last sent to the client by email ("Send by email"; migration 0015).
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    lines: Mapped[list[InvoiceLine]] = relationship(
        cascade="all, delete-orphan", order_by="InvoiceLine.position", lazy="raise", passive_deletes=True
    )
    payments: Mapped[list[Payment]] = relationship(
        back_populates="invoice",
        cascade="all, delete-orphan",
        order_by="Payment.paid_on",
        lazy="raise",
        passive_deletes=True,
    )
    project: Mapped[Project] = relationship(lazy="raise")
    client: Mapped[Client] = relationship(lazy="raise")

    @property
    def status_enum(self) -> InvoiceStatus:
        return InvoiceStatus(self.status)

    @property
    def is_draft(self) -> bool:
        return self.status == InvoiceStatus.DRAFT.value

    @property
    def balance(self) -> Decimal:
        """What is still owed (nothing on a draft or a void invoice)."""
        if self.status in (InvoiceStatus.DRAFT.value, InvoiceStatus.VOID.value):
            return ZERO
        return self.total - self.amount_paid

    @property
    def label(self) -> str:
        return self.invoice_number or f"Draft invoice #{self.id}"


class InvoiceLine(TimestampedBase):
    __tablename__ = "invoice_lines"

    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[Decimal] = mapped_column(ScaledDecimal(2))
    unit_price: Mapped[Decimal] = mapped_column(ScaledDecimal(2))
    line_total: Mapped[Decimal] = mapped_column(ScaledDecimal(2))


class Payment(TimestampedBase):
    __tablename__ = "payments"

    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    amount: Mapped[Decimal] = mapped_column(ScaledDecimal(2))
    paid_on: Mapped[date] = mapped_column(Date, index=True)
    method: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(100), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    invoice: Mapped[Invoice] = relationship(back_populates="payments", lazy="raise")
