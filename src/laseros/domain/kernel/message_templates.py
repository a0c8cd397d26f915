"""Shop-written message templates (``{{client_name}}`` …), rendered in a Jinja sandbox.

A template is written by an admin, so it is untrusted: the sandbox blocks attribute escapes, and
unknown names are errors (``StrictUndefined``) rather than silent blanks.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, StrictUndefined, TemplateError, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

# The placeholders every client message may use.
TEMPLATE_FIELDS: tuple[str, ...] = (
    "client_name",
    "project_code",
    "project_name",
    "pop_deadline",
    "due_date",
    "company_name",
)
PLACEHOLDERS = ", ".join("{{" + name + "}}" for name in TEMPLATE_FIELDS)

_sandbox = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=False)
# Only parses (never renders) a template, to name the unknown placeholders in a refused one.
_syntax = Environment(autoescape=False)


def check_template(source: str, fields: tuple[str, ...] = TEMPLATE_FIELDS) -> str | None:
    """Why ``source`` cannot be used as a message template, or None when it renders."""
    try:
        _sandbox.from_string(source).render({field: field for field in fields})
    except TemplateError as problem:
        return f"The template does not render: {problem.message or problem}"
    return None


def render_message(source: str, values: dict[str, Any]) -> str:
    """Render a (shop-editable, so untrusted) template in the sandbox."""
    return _sandbox.from_string(source).render(values).strip()


def unknown_names(source: str, fields: tuple[str, ...] = TEMPLATE_FIELDS) -> list[str]:
    """Names a template uses that are neither placeholders nor Jinja's own (``range``, ``loop`` …)."""
    try:
        parsed = _syntax.parse(source)
    except TemplateSyntaxError:
        return []
    return sorted(meta.find_undeclared_variables(parsed) - set(fields) - set(_syntax.globals))
