"""Parsing the quote, invoice, line and payment forms (bad input → 422 beside the field, nothing written)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from laseros.domain.billing.models import PAYMENT_METHODS
from laseros.domain.kernel.fields import MAX_TEXT, FieldReader

MAX_DESCRIPTION = 500
MAX_QUANTITY = Decimal(1_000_000)


@dataclass(frozen=True)
class LineInput:
    description: str
    quantity: Decimal
    unit_price: Decimal

    @classmethod
    def parse(cls, raw: Mapping[str, str]) -> LineInput:
        read = FieldReader(raw)
        description = read.text("description", required=True, max_length=MAX_DESCRIPTION)
        quantity = read.decimal("quantity", required=True, maximum=MAX_QUANTITY)
        unit_price = read.money("unit_price", required=True)
        if quantity is not None and quantity <= 0 and "quantity" not in read.errors:
            read.errors["quantity"] = "Enter a quantity above 0."
        read.finish()
        assert quantity is not None and unit_price is not None  # required: finish() raised otherwise
        return cls(description, quantity, unit_price)


@dataclass(frozen=True)
class QuoteInput:
    """A new quote (its project) or a draft's header (valid until, notes)."""

    project_id: int | None
    valid_until: date | None
    notes: str

    @classmethod
    def parse(cls, raw: Mapping[str, str], *, new: bool) -> QuoteInput:
        read = FieldReader(raw)
        project_id = read.reference("project_id", required=True) if new else None
        valid_until = read.date("valid_until", required=not new)
        notes = read.text("notes", max_length=MAX_TEXT)
        read.finish()
        return cls(project_id, valid_until, notes)


@dataclass(frozen=True)
class InvoiceInput:
    project_id: int
    notes: str

    @classmethod
    def parse(cls, raw: Mapping[str, str]) -> InvoiceInput:
        read = FieldReader(raw)
        project_id = read.reference("project_id", required=True)
        notes = read.text("notes", max_length=MAX_TEXT)
        read.finish()
        assert project_id is not None
        return cls(project_id, notes)


@dataclass(frozen=True)
class PaymentInput:
    amount: Decimal
    paid_on: date
    method: str
    reference: str

    @classmethod
    def parse(cls, raw: Mapping[str, str]) -> PaymentInput:
        read = FieldReader(raw)
        amount = read.money("amount", required=True)
        paid_on = read.date("paid_on", required=True)
        method = read.choice("method", PAYMENT_METHODS, required=True)
        reference = read.text("reference", max_length=100)
        if amount is not None and amount <= 0 and "amount" not in read.errors:
            read.errors["amount"] = "Enter an amount above R 0.00."
        read.finish()
        assert amount is not None and paid_on is not None
        return cls(amount, paid_on, method, reference)
