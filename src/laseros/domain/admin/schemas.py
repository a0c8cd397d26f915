"""The shop settings form (``/admin/settings``): what each setting may hold, checked all at once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from jinja2 import Environment, TemplateSyntaxError, meta

from laseros.domain.comms.drafts import DEFAULT_TEMPLATES, TEMPLATE_FIELDS, check_template, render_message, setting_key
from laseros.domain.comms.models import DraftKind
from laseros.domain.errors import InvalidInput
from laseros.domain.notifications.rules import STAGE_ALERTS

# The stage limits in days, in the order of the stage-alert table.
LIMIT_KEYS: tuple[str, ...] = tuple(alert.setting for alert in STAGE_ALERTS.values())
TEMPLATE_KEYS: dict[str, DraftKind] = {setting_key(kind): kind for kind in DraftKind}
LIST_KEYS: tuple[str, ...] = ("materials", "sheet_sizes")
# Every setting the page edits, in the page's order.
EDITABLE_KEYS: tuple[str, ...] = (
    *LIMIT_KEYS,
    "daily_report_time",
    "whatsapp_country_code",
    *TEMPLATE_KEYS,
    *LIST_KEYS,
)

# How each setting is named to people (on the page, in messages and in the activity log's details).
SETTING_LABELS: dict[str, str] = {
    "limit_quote_days": "Quote waiting on approval",
    "limit_waiting_material_days": "Waiting on material",
    "limit_cutting_days": "Cutting with no run completed",
    "limit_ready_days": "Ready, waiting for pickup",
    "daily_report_time": "Daily report time",
    "whatsapp_country_code": "WhatsApp country code",
    **{key: f"{kind.label} message" for key, kind in TEMPLATE_KEYS.items()},
    "materials": "Materials",
    "sheet_sizes": "Sheet sizes",
}

MAX_LIMIT_DAYS = Decimal(365)
LIMIT_PLACES = Decimal("0.01")  # a quarter of a day is as fine as a shop needs
MAX_TEMPLATE = 2000  # a drafted message is at most this long (the drafts page's own limit)
MAX_LIST_ENTRY = 100
MAX_LIST_ENTRIES = 100

_TIME = re.compile(r"(\d{1,2}):(\d{2})")
# "3000 x 1500", "3000X1500" and "3000×1500" are all written 3000x1500.
_SIZE_SEPARATOR = re.compile(r"\s*[xX×]\s*")
_SHEET_SIZE = re.compile(r"[1-9]\d{0,5}x[1-9]\d{0,5}")
# Only parses (never renders) a template, to name the unknown placeholders in a refused one.
_syntax = Environment(autoescape=False)
PLACEHOLDERS = ", ".join("{{" + name + "}}" for name in TEMPLATE_FIELDS)


@dataclass(frozen=True)
class ShopSettingsInput:
    """The submitted settings, as they are to be stored.

    ``values`` maps a setting key to its new text, or to None for "no stored value: the default
    applies" (a blank message template). Settings the form did not send are absent and stay as they
    are, so a form that leaves a field out never resets it.
    """

    values: dict[str, str | None]

    @classmethod
    def parse(cls, raw: Mapping[str, str]) -> ShopSettingsInput:
        """Check every submitted setting; raises InvalidInput with a message per bad field."""
        values: dict[str, str | None] = {}
        errors: dict[str, str] = {}
        readers = {
            **{key: _limit for key in LIMIT_KEYS},
            "daily_report_time": _report_time,
            "whatsapp_country_code": _country_code,
            **{key: _template for key in TEMPLATE_KEYS},
            "materials": _materials,
            "sheet_sizes": _sheet_sizes,
        }
        for key, read in readers.items():
            if key not in raw:
                continue
            try:
                values[key] = read(str(raw[key]), key)
            except _Bad as bad:
                errors[key] = bad.message
        if errors:
            raise InvalidInput(errors)
        return cls(values)


class _Bad(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def format_days(days: Decimal) -> str:
    """4.00 → "4", 0.50 → "0.5": a limit as it is stored and shown."""
    return f"{days.normalize():f}"


def _limit(raw: str, key: str) -> str:
    text = raw.strip().replace(",", ".")
    if not text:
        raise _Bad("Enter the number of days, like 4 or 0.5.")
    try:
        days = Decimal(text)
    except InvalidOperation:
        raise _Bad("Enter a number of days, like 4 or 0.5.") from None
    if not days.is_finite():
        raise _Bad("Enter a number of days, like 4 or 0.5.")
    if days <= 0:
        raise _Bad("Enter more than 0 days.")
    if days > MAX_LIMIT_DAYS:
        raise _Bad(f"Enter at most {MAX_LIMIT_DAYS} days.")
    if days != days.quantize(LIMIT_PLACES):
        raise _Bad("Use at most two decimal places (0.25 is six hours).")
    return format_days(days)


def _report_time(raw: str, key: str) -> str:
    match = _TIME.fullmatch(raw.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise _Bad("Enter a time as HH:MM between 00:00 and 23:59, like 07:30.")
    return f"{int(match[1]):02d}:{match[2]}"


def _country_code(raw: str, key: str) -> str:
    # "+27" is how people write it; the setting holds the digits (whatsapp_number prefixes them).
    code = raw.replace(" ", "").removeprefix("+")
    if not code.isascii() or not code.isdigit() or not 1 <= len(code) <= 3:
        raise _Bad("Enter the country's dialling code: 1 to 3 digits, like 27 for South Africa.")
    if code.startswith("0"):
        raise _Bad("A country code does not start with 0 (South Africa is 27).")
    return code


def _template(raw: str, key: str) -> str | None:
    kind = TEMPLATE_KEYS[key]
    source = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    # Blank, or the default word for word: nothing is stored, so the default (and any later
    # improvement to it) applies.
    if not source or source == DEFAULT_TEMPLATES[kind]:
        return None
    if len(source) > MAX_TEMPLATE:
        raise _Bad(f"Keep the message to {MAX_TEMPLATE} characters or fewer (you entered {len(source)}).")
    problem = check_template(source)
    if problem:
        unknown = _unknown_names(source)
        if unknown:  # the likeliest mistake, said plainly rather than as Jinja's "'x' is undefined"
            names = ", ".join("{{" + name + "}}" for name in unknown)
            problem = f"{names} {'is not a placeholder' if len(unknown) == 1 else 'are not placeholders'}"
        raise _Bad(f"{problem.rstrip('.')}. The placeholders are {PLACEHOLDERS}.")
    # A template can render to nothing ("{% if false %}…{% endif %}") or balloon through an
    # expression; drafts must be neither empty nor longer than a message may be.
    sample = render_message(source, {name: name for name in TEMPLATE_FIELDS})
    if not sample:
        raise _Bad("This message comes out empty: write the text the client should read.")
    if len(sample) > MAX_TEMPLATE:
        raise _Bad(f"This message comes out longer than {MAX_TEMPLATE} characters.")
    return source


def _unknown_names(source: str) -> list[str]:
    """Names a template uses that are neither placeholders nor Jinja's own (``range``, ``loop`` …)."""
    try:
        parsed = _syntax.parse(source)
    except TemplateSyntaxError:
        return []
    return sorted(meta.find_undeclared_variables(parsed) - set(TEMPLATE_FIELDS) - set(_syntax.globals))


def _entries(raw: str, noun: str) -> list[str]:
    """The lines of a list, trimmed, blank lines dropped; at least one, none twice, none too long."""
    entries = [line.strip() for line in raw.splitlines() if line.strip()]
    if not entries:
        raise _Bad(f"List at least one {noun}.")
    if len(entries) > MAX_LIST_ENTRIES:
        raise _Bad(f"Keep the list to {MAX_LIST_ENTRIES} entries or fewer (there are {len(entries)}).")
    for entry in entries:
        if len(entry) > MAX_LIST_ENTRY:
            raise _Bad(f"“{entry[:30]}…” is longer than {MAX_LIST_ENTRY} characters.")
    seen: dict[str, str] = {}
    for entry in entries:
        # Two entries that differ only in capitals would be two choices for one thing.
        first = seen.get(entry.casefold())
        seen.setdefault(entry.casefold(), entry)
        if first is not None:
            if first == entry:
                raise _Bad(f"“{entry}” is listed twice.")
            raise _Bad(f"“{first}” and “{entry}” are the same (capitals do not make a difference).")
    return entries


def _materials(raw: str, key: str) -> str:
    return "\n".join(_entries(raw, "material"))


def _sheet_sizes(raw: str, key: str) -> str:
    sizes = []
    for line in raw.splitlines():
        size = _SIZE_SEPARATOR.sub("x", line.strip())
        if size and not _SHEET_SIZE.fullmatch(size):
            raise _Bad(f"“{line.strip()}” is not a sheet size: write width x length in mm, like 3000x1500.")
        sizes.append(size)
    return "\n".join(_entries("\n".join(sizes), "sheet size"))
