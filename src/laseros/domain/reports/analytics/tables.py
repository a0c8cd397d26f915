"""A report's tables: what the page shows and what its CSV holds are the same rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """How a column's values are shown on the page (the CSV writes the value itself)."""

    TEXT = "text"
    COUNT = "count"  # a whole number
    HOURS = "hours"  # hours, one decimal
    MINUTES = "minutes"  # minutes, one decimal
    PERCENT = "percent"  # a percentage, one decimal
    FACTOR = "factor"  # a ratio such as a calibration factor, three decimals
    MONEY = "money"  # ZAR
    DATE = "date"
    BADGE = "badge"  # an efficiency badge: green / amber / red


@dataclass(frozen=True)
class Column:
    key: str  # the CSV header
    label: str  # the page's column heading
    kind: Kind = Kind.TEXT

    @property
    def numeric(self) -> bool:
        return self.kind not in (Kind.TEXT, Kind.DATE, Kind.BADGE)


@dataclass(frozen=True)
class Row:
    values: tuple[Any, ...]
    # Column key → the address that column's cell links to (the job, the client, the stock item).
    links: dict[str, str] = field(default_factory=dict)
    badge: str | None = None  # a row-level mark the page may colour (e.g. "red")


@dataclass(frozen=True)
class Table:
    key: str  # ?table=<key>&format=csv exports it
    title: str
    columns: tuple[Column, ...]
    rows: list[Row]
    empty: str = "Nothing in this period."
    total: Row | None = None  # a totals line under the rows (not in the CSV)
    note: str = ""

    @property
    def header(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns)


def one_place(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def hours(minutes: Decimal | int | None) -> Decimal:
    """Minutes as hours, to one decimal (half up)."""
    return one_place(Decimal(minutes or 0) / 60)


def percent(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    """``part`` as a percentage of ``whole`` to one decimal, or None when the whole is zero."""
    if not whole:
        return None
    return one_place(Decimal(part) * 100 / Decimal(whole))
