"""Reading submitted forms, and the state a form template needs to show values and errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from litestar import Request
from litestar.datastructures import FormMultiDict
from litestar.exceptions import ClientException


async def _form(request: Request) -> FormMultiDict:
    try:
        return await request.form()
    except (UnicodeDecodeError, ValueError) as unreadable:
        # A form whose text is not UTF-8 (or whose multipart body is broken) is the sender's mistake.
        raise ClientException("The form could not be read: send it again from the page.") from unreadable


async def form_values(request: Request) -> dict[str, str]:
    """The submitted fields as single strings (the last value wins), without the CSRF token."""
    form = await _form(request)
    return {key: str(value) for key, value in form.items() if key != "_csrf_token" and isinstance(value, str)}


async def form_list(request: Request, name: str) -> list[str]:
    form = await _form(request)
    return [str(v) for v in form.getall(name)] if name in form else []


async def form_ids(request: Request, name: str) -> list[int]:
    """Every ``name`` field as an id, in order; [] when any of them is not one (the service then refuses)."""
    ids = [filter_id(raw) for raw in await form_list(request, name)]
    return [] if None in ids else [i for i in ids if i is not None]


@dataclass
class FormState:
    """What a form page renders: the values to show and a message per bad field."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def value(self, name: str, default: Any = "") -> Any:
        value = self.values.get(name)
        return default if value is None else value


# List filters are lenient: a value that does not parse is ignored (the list shows unfiltered)
# rather than refused, so an edited or stale URL still shows a page.


def filter_id(raw: str) -> int | None:
    """A record id from a query string or hidden field, or None."""
    raw = raw.strip()
    return int(raw) if raw.isdigit() and len(raw) <= 12 else None


# Filter dates outside these are moved to them: no shop has records before or after, and the
# calendar arithmetic on the year 1 or 9999 would overflow.
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)


def filter_date(raw: str) -> date | None:
    """A YYYY-MM-DD filter date (clamped to 2000–2100), or None."""
    try:
        day = date.fromisoformat(raw.strip()) if raw.strip() else None
    except ValueError:
        return None
    return None if day is None else min(max(day, EARLIEST), LATEST)


def filter_page(raw: str) -> int:
    """A page number from a form or query (1 when it is not one)."""
    raw = raw.strip()
    return int(raw) if raw.isdigit() and len(raw) <= 12 else 1


def filter_flag(raw: str) -> bool:
    return raw in ("1", "on", "true")
