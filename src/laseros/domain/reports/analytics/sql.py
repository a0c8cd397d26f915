"""SQL pieces the reports share: scaled decimals summed as integers, runs bucketed by UTC hour, dates by month."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, String, func, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.domain.kernel.shop import ShopCalendar


def raw(column: Any) -> Any:
    """A ScaledDecimal column as its stored integer (hundredths), so SQL sums and multiplies it exactly."""
    return type_coerce(column, BigInteger)


def hundredths(value: Any) -> Decimal:
    """A summed hundredths integer back as a Decimal with two places."""
    return (Decimal(int(value or 0)) / 100).quantize(Decimal("0.01"))


def utc_hour(session: AsyncSession, column: Any) -> Any:
    """'YYYY-MM-DD HH' of a UTC timestamp column, on SQLite (naive UTC text) and PostgreSQL alike.

    Reports group by this hour and fold the hours into the shop's days in Python: the shop's
    midnight is a whole UTC hour in every zone with a whole-hour offset (Africa/Johannesburg is
    UTC+2), and no SQL date function knows the shop's zone on both databases.
    """
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24")
    return func.substr(type_coerce(column, String), 1, 13)


def year_month(session: AsyncSession, column: Any) -> Any:
    """'YYYY-MM' of a Date column (a shop date such as an invoice's ``issued_on``), on SQLite and PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.substr(type_coerce(column, String), 1, 7)


def shop_day(bucket: str, calendar: ShopCalendar) -> date:
    """The shop's date of a UTC hour bucket from ``utc_hour`` ('YYYY-MM-DD HH'; no strptime: it is slow)."""
    moment = datetime(int(bucket[0:4]), int(bucket[5:7]), int(bucket[8:10]), int(bucket[11:13]), tzinfo=UTC)
    return calendar.local(moment).date()
