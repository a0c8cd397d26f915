"""THE REVENUE SEAM: invoiced and paid revenue per client, for the clients report and the index.

``client_revenue`` is the one function the reports ask for revenue. Invoices (SPEC §8.3) are being
built beside the reports; until this function reads them it returns ``None`` — "no source" — and
the reports leave their revenue columns out rather than show zeros that are not true. Wiring it
is one change here: sum the client's issued invoices' totals dated in the period (``invoiced``)
and the payments received in the period (``paid``), grouped by client in SQL, and return them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.reports.analytics.period import Period


@dataclass(frozen=True)
class ClientRevenue:
    invoiced: Decimal  # Σ totals of the client's issued invoices dated in the period (VAT included)
    paid: Decimal  # Σ payments from the client received in the period


async def client_revenue(
    session: AsyncSession, calendar: ShopCalendar, period: Period, client_ids: Sequence[int] | None = None
) -> dict[int, ClientRevenue] | None:
    """Revenue per client id in the period (only ``client_ids`` when given; all clients with revenue
    otherwise), or None while the reports have no invoice source (see the module's docstring)."""
    del session, calendar, period, client_ids  # no invoice source yet
    return None
