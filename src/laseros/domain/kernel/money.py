"""Money: exact Decimal rand amounts, rounded in one place, written one way.

Every amount Laser OS stores or shows is a ``Decimal`` of whole cents. Arithmetic on amounts
(a quantity × a unit price, VAT on a subtotal) may produce fractions of a cent; ``to_cents`` is
the one function that rounds them, half-up (0.005 → 0.01), as SARS and the shop's accountant do.
Each derived amount is rounded exactly once, where it is made:

- a line total: ``line_total(quantity, unit_price)``;
- VAT: ``vat_on(subtotal, rate_percent)`` on the subtotal (never per line);
- the subtotal and total are sums of amounts already in cents, so they need no rounding.

So 3 × R 333.33 is R 999.99, VAT at 15 % is R 150.00 (149.9985 rounded half-up) and the total is
R 1,149.99. ``format_rand`` writes an amount as the shop does: ``R 15,000.00`` (a Jinja filter).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_cents(amount: Decimal | int) -> Decimal:
    """The amount rounded half-up to the cent: the one rounding rule."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def line_total(quantity: Decimal | int, unit_price: Decimal) -> Decimal:
    """Quantity × unit price, rounded once to the cent."""
    return to_cents(Decimal(quantity) * unit_price)


def sum_amounts(amounts: Iterable[Decimal]) -> Decimal:
    """The sum of amounts already in cents (exact: no rounding)."""
    return sum(amounts, ZERO)


def vat_on(subtotal: Decimal, rate_percent: Decimal) -> Decimal:
    """VAT at ``rate_percent`` (15 for 15 %) on the subtotal, rounded once to the cent."""
    return to_cents(subtotal * rate_percent / 100)


def format_rand(amount: Decimal | int | None) -> str:
    """R 15,000.00 (and -R 12.50); empty for no amount."""
    if amount is None:
        return ""
    cents = to_cents(amount)
    sign = "-" if cents < 0 else ""
    return f"{sign}R {abs(cents):,.2f}"
