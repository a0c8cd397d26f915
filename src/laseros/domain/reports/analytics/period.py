"""The period a report covers: shop dates from ``start`` to ``end`` inclusive, with the usual presets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from laseros.domain.kernel.errors import InvalidInput
from laseros.domain.kernel.shop import ShopCalendar

# Dates outside these are moved to them, like every other date filter in the app (web/forms.py):
# no shop has records before or after, and calendar arithmetic near the year 1 or 9999 would overflow.
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def utc_range(self, calendar: ShopCalendar) -> tuple[datetime, datetime]:
        """[from, to) in UTC covering the shop's dates ``start`` to ``end`` inclusive."""
        return calendar.start_of(self.start), calendar.start_of(self.end + timedelta(days=1))

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()}"


def this_month(today: date) -> Period:
    return Period(today.replace(day=1), today)


def last_month(today: date) -> Period:
    end = today.replace(day=1) - timedelta(days=1)
    return Period(end.replace(day=1), end)


def this_year(today: date) -> Period:
    return Period(today.replace(month=1, day=1), today)


def last_12_months(today: date) -> Period:
    """The twelve calendar months ending with this one (this month so far)."""
    months = today.year * 12 + today.month - 1 - 11
    return Period(date(months // 12, months % 12 + 1, 1), today)


PRESETS: tuple[tuple[str, str], ...] = (
    ("this_month", "This month"),
    ("last_month", "Last month"),
    ("this_year", "This year"),
    ("last_12_months", "Last 12 months"),
)
_PRESET_PERIODS = {
    "this_month": this_month,
    "last_month": last_month,
    "this_year": this_year,
    "last_12_months": last_12_months,
}


def preset_periods(today: date) -> list[tuple[str, str, Period]]:
    """Each preset's key, label and the period it means today."""
    return [(key, label, _PRESET_PERIODS[key](today)) for key, label in PRESETS]


def _read_date(raw: str, name: str, errors: dict[str, str]) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        errors[name] = "Enter a date as YYYY-MM-DD."
        return None
    return min(max(day, EARLIEST), LATEST)


def parse_period(query: Mapping[str, str], today: date) -> Period:
    """The period from ``?start=&end=`` (default: this month; an open end is today, an open start
    the first of the end's month). A date that does not parse, or an end before the start, is
    refused (InvalidInput → 422); a date before 2000 or after 2100 is moved to that limit."""
    errors: dict[str, str] = {}
    start = _read_date(str(query.get("start") or ""), "start", errors)
    end = _read_date(str(query.get("end") or ""), "end", errors)
    if errors:
        raise InvalidInput(errors)
    if start is None and end is None:
        return this_month(today)
    if end is None:
        end = today if start is not None and start <= today else start
    if start is None:
        start = end.replace(day=1) if end is not None else today.replace(day=1)
    assert start is not None and end is not None
    if end < start:
        raise InvalidInput({"end": "The end date is before the start date."})
    return Period(start, end)
