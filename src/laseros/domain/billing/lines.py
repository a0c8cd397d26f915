"""Lines of a quote or an invoice: add, edit, remove, reorder, and the totals they make.

Quotes and invoices keep their lines the same way; these functions work on either. The totals are
computed by ``retotal`` alone, with the rounding of ``kernel.money`` (docs/quotes_and_invoices.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol, TypeVar

from laseros.domain.billing.schemas import LineInput
from laseros.domain.kernel.errors import InvalidInput, NotFound
from laseros.domain.kernel.money import line_total, sum_amounts, vat_on

MAX_LINES = 500


class Line(Protocol):
    id: int
    position: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    line_total: Decimal


L = TypeVar("L", bound=Line)


class HasTotals(Protocol):
    vat_rate: Decimal
    subtotal: Decimal
    vat_amount: Decimal
    total: Decimal


def retotal(document: HasTotals, lines: Sequence[Line]) -> None:
    """Subtotal = the sum of line totals; VAT on the subtotal (rounded once); total = subtotal + VAT."""
    document.subtotal = sum_amounts(line.line_total for line in lines)
    document.vat_amount = vat_on(document.subtotal, document.vat_rate)
    document.total = document.subtotal + document.vat_amount


def fill(line: Line, data: LineInput) -> None:
    line.description = data.description
    line.quantity = data.quantity
    line.unit_price = data.unit_price
    line.line_total = line_total(data.quantity, data.unit_price)


def find(lines: Sequence[L], line_id: int) -> L:
    for line in lines:
        if line.id == line_id:
            return line
    raise NotFound(f"Line {line_id} is not on this document.")


def next_position(lines: Sequence[Line]) -> int:
    if len(lines) >= MAX_LINES:
        raise InvalidInput({"description": f"A document holds at most {MAX_LINES} lines."})
    return max((line.position for line in lines), default=0) + 1


def reorder(lines: Sequence[Line], order: Sequence[int]) -> None:
    """Put the lines in the order of ``order`` (line ids, each once, every line named)."""
    if sorted(order) != sorted(line.id for line in lines):
        raise InvalidInput({"line": "Send every line of the document once, in the new order."})
    by_id = {line.id: line for line in lines}
    for position, line_id in enumerate(order, start=1):
        by_id[line_id].position = position


def renumber(lines: Sequence[Line]) -> None:
    for position, line in enumerate(sorted(lines, key=lambda x: x.position), start=1):
        line.position = position
