"""Facts about the shop that every area shares: thicknesses, default materials and sheet sizes, the calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

# The single thickness list (SPEC §4). Every form, filter and validator reads this.
THICKNESSES_MM: tuple[Decimal, ...] = tuple(
    Decimal(t)
    for t in (
        "0.47", "0.53", "1.00", "1.20", "2.00", "2.50", "3.00", "3.50",
        "4.00", "5.00", "6.00", "8.00", "10.00", "12.00", "16.00",
    )
)  # fmt: skip

DEFAULT_MATERIALS: tuple[str, ...] = ("Mild Steel", "Stainless Steel", "Galvanised", "Aluminium")
DEFAULT_SHEET_SIZES: tuple[str, ...] = ("3000x1500", "2500x1250")

POP_PAYMENT_DAYS = 10


def thickness_label(value: Decimal | None) -> str:
    if value is None:
        return ""
    return f"{value.normalize():f}" if value != value.to_integral() else f"{value:.1f}"


def sheet_label(material_type: str | None, thickness_mm: Decimal | None, sheet_size: str | None) -> str:
    """A sheet as the shop says it: "Mild Steel 3.0 mm 3000x1500" (parts that are not set are left out)."""
    parts = [
        material_type or "",
        f"{thickness_label(thickness_mm)} mm" if thickness_mm is not None else "",
        sheet_size or "",
    ]
    return " ".join(part for part in parts if part)


def parse_thickness(raw: str) -> Decimal | None:
    """The list entry equal to ``raw`` (e.g. "3", "3.0", "3.00"), or None when it is not in the list."""
    try:
        value = Decimal(raw.strip())
    except (ArithmeticError, ValueError):
        return None
    return next((t for t in THICKNESSES_MM if t == value), None)


class ShopCalendar:
    """Dates as the shop sees them: its own time zone and a Monday–Friday week."""

    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)

    def now(self) -> datetime:
        return datetime.now(self.zone)

    def today(self) -> date:
        return self.now().date()

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def start_of(self, day: date) -> datetime:
        """The UTC moment the shop's ``day`` begins."""
        return datetime.combine(day, time.min, tzinfo=self.zone).astimezone(UTC)

    def utc_range(self, start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
        """[from, to) in UTC covering the shop dates ``start`` to ``end`` inclusive (either may be open)."""
        return (
            self.start_of(start) if start else None,
            self.start_of(end + timedelta(days=1)) if end else None,
        )

    @staticmethod
    def next_business_day(day: date) -> date:
        nxt = day + timedelta(days=1)
        while nxt.weekday() >= 5:
            nxt += timedelta(days=1)
        return nxt
