"""Shop-written message templates (``{{client_name}}`` …), rendered in a bounded Jinja sandbox.

A template is written by an admin, so it is untrusted input. The sandbox blocks attribute
escapes; unknown names are errors (``StrictUndefined``) rather than silent blanks; and every
render is bounded (docs/security.md):

- ``range`` gives at most ``MAX_RANGE`` numbers; strings and lists built by ``*``, ``+`` or ``%``
  stay under ``MAX_OUTPUT`` characters, and powers stay small;
- the rendered text is at most ``MAX_OUTPUT`` characters (it is produced piece by piece and
  stopped there);
- a render gets ``TIME_LIMIT_S`` of CPU: every loop step, call, attribute and operator checks the
  clock, so even nested loops end. Callers render off the event loop (``render_in_thread``), so a
  template that takes its whole second holds up no other request.

A template that breaks a bound is refused when it is saved, with the reason beside the field.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio.to_thread
from jinja2 import Environment, StrictUndefined, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

# The placeholders every client message may use.
PROJECT_FIELDS: tuple[str, ...] = (
    "client_name",
    "project_code",
    "project_name",
    "pop_deadline",
    "due_date",
    "company_name",
)
# A quote's and an invoice's figures: filled in the messages about one (the quote and invoice emails,
# the quote reminder draft); empty in any other message.
DOCUMENT_FIELDS: tuple[str, ...] = (
    "quote_number",
    "quote_total",
    "quote_valid_until",
    "invoice_number",
    "invoice_total",
    "invoice_balance",
    "invoice_due_date",
)
TEMPLATE_FIELDS: tuple[str, ...] = PROJECT_FIELDS + DOCUMENT_FIELDS
NO_DOCUMENT: dict[str, str] = dict.fromkeys(DOCUMENT_FIELDS, "")
PLACEHOLDERS = ", ".join("{{" + name + "}}" for name in TEMPLATE_FIELDS)

MAX_RANGE = 1_000
MAX_OUTPUT = 20_000
MAX_POWER = 64
TIME_LIMIT_S = 1.0

MAX_BITS = 4_096  # how big a number a message may compute (an int's bits)

# Filters a message may use: text shaping, none that can make text much longer than its input
# (``join`` and ``replace`` are ours, which check the size before they build the text).
_FILTERS = (
    "capitalize", "default", "d", "first", "int", "last", "length", "lower", "round", "string", "title",
    "trim", "truncate", "upper", "wordcount",
)  # fmt: skip
# Statements a message may not use: assignments, macros and the like let a template build text
# step by step outside the bounds' view (and a message needs none of them).
_REFUSED_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Assign, nodes.AssignBlock, nodes.Macro, nodes.CallBlock, nodes.FilterBlock, nodes.With,
    nodes.Import, nodes.FromImport, nodes.Include, nodes.Extends, nodes.Block, nodes.Scope,
    nodes.OverlayScope, nodes.ScopedEvalContextModifier,
)  # fmt: skip
# str methods that pad or expand to a size given by the template.
_UNSAFE_METHODS = frozenset({"center", "expandtabs", "format", "format_map", "ljust", "rjust", "zfill"})


class TemplateTooCostly(TemplateError):
    """A render broke one of the bounds (too long, too big, too many steps)."""


_deadline = threading.local()


def _tick() -> None:
    limit = getattr(_deadline, "at", None)
    if limit is not None and time.monotonic() > limit:
        raise TemplateTooCostly(f"the message takes longer than {TIME_LIMIT_S:g} s to write")


def _bounded_range(*args: int) -> Iterator[int]:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise TemplateTooCostly(f"range() gives at most {MAX_RANGE} numbers in a message")
    for number in numbers:
        _tick()
        yield number


def _sized(value: Any) -> Any:
    if isinstance(value, str | list | tuple) and len(value) > MAX_OUTPUT:
        raise TemplateTooCostly(f"the message would be longer than {MAX_OUTPUT} characters")
    return value


def _checked_filter(function: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        _tick()
        return _sized(function(*args, **kwargs))

    for attribute in ("jinja_pass_arg",):  # keep how Jinja passes the environment or context
        if hasattr(function, attribute):
            setattr(run, attribute, getattr(function, attribute))
    return run


def _join(items: Any, separator: str = "") -> str:
    values = [str(item) for item in items]
    _sized(range(sum(map(len, values)) + len(separator) * max(len(values) - 1, 0)))
    return separator.join(values)


def _replace(text: Any, old: str, new: str, count: int | None = None) -> str:
    text, old, new = str(text), str(old), str(new)
    times = text.count(old) if old else len(text) + 1
    if count is not None:
        times = min(times, max(count, 0))
    _sized(range(len(text) + times * max(len(new) - len(old), 0)))
    return text.replace(old, new, -1 if count is None else count)


def _too_big(number: Any) -> bool:
    return isinstance(number, int) and not isinstance(number, bool) and number.bit_length() > MAX_BITS


class _BoundedSandbox(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%", "//"})

    def __init__(self) -> None:
        super().__init__(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=False)
        self.globals = {"range": _bounded_range}
        self.filters = {
            **{name: _checked_filter(self.filters[name]) for name in _FILTERS},
            "join": _checked_filter(_join),
            "replace": _checked_filter(_replace),
        }
        self.tests = {name: self.tests[name] for name in ("defined", "undefined", "none", "number", "string")}

    def wrap_str_format(self, value: Any) -> None:
        # str.format and format_map pad to any width in one step: refused like the other padders.
        return None

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick()
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_POWER:
            raise TemplateTooCostly(f"powers above {MAX_POWER} are not allowed in a message")
        if operator in ("*", "**") and isinstance(left, int) and isinstance(right, int):
            bits = left.bit_length() * (abs(right) if operator == "**" else 1) + (
                right.bit_length() if operator == "*" else 0
            )
            if bits > MAX_BITS:
                raise TemplateTooCostly("the numbers in this message grow too large")
        if operator == "*":
            for times, thing in ((left, right), (right, left)):
                if isinstance(times, int) and isinstance(thing, str | list | tuple) and times * len(thing) > MAX_OUTPUT:
                    raise TemplateTooCostly(f"the message would be longer than {MAX_OUTPUT} characters")
        if operator == "%" and isinstance(left, str) and "%" in left:
            raise TemplateTooCostly("%-formatting is not allowed in a message")
        result = super().call_binop(context, operator, left, right)
        if _too_big(result):
            raise TemplateTooCostly("the numbers in this message grow too large")
        return _sized(result)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        _tick()
        if isinstance(obj, str) and attr in _UNSAFE_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _tick()
        return _sized(SandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs))


_sandbox = _BoundedSandbox()
# Only parses (never renders) a template, to name the unknown placeholders in a refused one.
_syntax = Environment(autoescape=False)


def render_message(source: str, values: dict[str, Any]) -> str:
    """Render a (shop-editable, so untrusted) template within the bounds; raises TemplateError.

    Blocks its thread for up to ``TIME_LIMIT_S``: from async code use ``render_in_thread``.
    """
    _refuse_statements(source)
    template = _sandbox.from_string(source)
    _deadline.at = time.monotonic() + TIME_LIMIT_S
    try:
        written = 0
        pieces = []
        for piece in template.generate(values):
            written += len(piece)
            if written > MAX_OUTPUT:
                raise TemplateTooCostly(f"the message would be longer than {MAX_OUTPUT} characters")
            pieces.append(piece)
            _tick()
        return "".join(pieces).strip()
    finally:
        _deadline.at = None


def _refuse_statements(source: str) -> None:
    for node in _sandbox.parse(source).find_all(_REFUSED_NODES):
        name = type(node).__name__.lower()
        raise TemplateError(f"a message cannot use “{name}” statements (set, macro, include …)")


async def render_in_thread(source: str, values: dict[str, Any]) -> str:
    """``render_message`` in a worker thread, so the event loop goes on serving meanwhile."""
    return await anyio.to_thread.run_sync(render_message, source, values)


def check_template(source: str, fields: tuple[str, ...] = TEMPLATE_FIELDS) -> str | None:
    """Why ``source`` cannot be used as a message template, or None when it renders within the bounds."""
    try:
        render_message(source, {field: field for field in fields})
    except TemplateTooCostly as costly:
        return f"The template is too costly: {costly.message or costly}"
    except TemplateError as problem:
        return f"The template does not render: {problem.message or problem}"
    except (ArithmeticError, ValueError, TypeError) as problem:
        return f"The template does not render: {problem}"
    return None


def unknown_names(source: str, fields: tuple[str, ...] = TEMPLATE_FIELDS) -> list[str]:
    """Names a template uses that are neither placeholders nor the template language's own (``range``, ``loop`` …)."""
    try:
        parsed = _syntax.parse(source)
    except TemplateSyntaxError:
        return []
    return sorted(meta.find_undeclared_variables(parsed) - set(fields) - set(_syntax.globals))
