"""Reading submitted forms, and the state a form template needs to show values and errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from litestar import Request


async def form_values(request: Request) -> dict[str, str]:
    """The submitted fields as single strings (the last value wins), without the CSRF token."""
    form = await request.form()
    return {key: str(value) for key, value in form.items() if key != "_csrf_token" and isinstance(value, str)}


async def form_list(request: Request, name: str) -> list[str]:
    form = await request.form()
    return [str(v) for v in form.getall(name)] if name in form else []


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


def filter_date(raw: str) -> date | None:
    """A YYYY-MM-DD filter date, or None."""
    try:
        return date.fromisoformat(raw.strip()) if raw.strip() else None
    except ValueError:
        return None


def filter_flag(raw: str) -> bool:
    return raw in ("1", "on", "true")
