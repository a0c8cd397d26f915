"""The values a message template fills in, and rendering a template's subject and body for a project."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from jinja2 import TemplateError

from laseros.domain.kernel.message_templates import NO_DOCUMENT, render_in_thread

if TYPE_CHECKING:
    from laseros.domain.clients.models import Client
    from laseros.domain.projects.models import Project


class RenderFailed(ValueError):
    """A stored template that cannot be rendered now (it was checked when saved; the bounds still apply)."""


def _date(value: date | None) -> str:
    return value.strftime("%d %b %Y") if value else "(not set)"


def values_for(
    client: Client | None, project: Project | None, company_name: str, documents: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The placeholders' values (``TEMPLATE_FIELDS``) for a message about ``project`` to ``client``.

    ``documents``: the quote's or invoice's placeholders (``billing.messages.quote_values`` …); the
    ones not given are empty.
    """
    return {
        **NO_DOCUMENT,
        **(documents or {}),
        "client_name": client.name if client else "",
        "project_code": project.project_code if project else "",
        "project_name": project.name if project else "",
        "pop_deadline": _date(project.pop_deadline if project else None),
        "due_date": _date(project.due_date if project else None),
        "company_name": company_name,
    }


async def render_text(source: str, values: dict[str, Any]) -> str:
    try:
        return await render_in_thread(source, values)
    except (TemplateError, ArithmeticError, ValueError, TypeError) as failed:
        raise RenderFailed(str(failed)) from failed
