"""The registry: every shop setting, once.

Adding a setting is one entry here (see docs/architecture.md): the settings page shows it in its
group, the form checks it with its ``clean``, and services read it with
``SettingsService(session).get(ENTRY)``, typed by its ``load``.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from laseros.domain.kernel.fields import NumberRefused, parse_number
from laseros.domain.kernel.message_templates import PLACEHOLDERS, TEMPLATE_FIELDS, check_template, render_message
from laseros.domain.kernel.message_templates import unknown_names as _unknown_names
from laseros.domain.kernel.settings import Group, Setting, SettingRefused
from laseros.domain.kernel.shop import DEFAULT_MATERIALS, DEFAULT_SHEET_SIZES

# -- the page's groups, in order --------------------------------------------------------------------

COMPANY = Group("company", "Company")
ALERTS = Group("alerts", "Alerts")
DAILY_REPORT = Group("daily_report", "Daily report")
MESSAGES = Group("messages", "Client messages")
LISTS = Group("lists", "Materials and sheets")
RECORDS = Group("records", "Records")
BILLING = Group("billing", "Quotes and invoices")
PRICING = Group("pricing", "Pricing from the drawing")
GROUPS: tuple[Group, ...] = (COMPANY, ALERTS, DAILY_REPORT, MESSAGES, LISTS, RECORDS, BILLING, PRICING)

# -- how values are checked and read ----------------------------------------------------------------

MAX_LIMIT_DAYS = Decimal(365)
LIMIT_PLACES = Decimal("0.01")  # a quarter of a day is as fine as a shop needs
MAX_MESSAGE = 2000  # a drafted message is at most this long (the drafts page's own limit)
MAX_LIST_ENTRY = 100
MAX_LIST_ENTRIES = 100
MAX_NAME = 120

_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
# "3000 x 1500", "3000X1500" and "3000×1500" are all written 3000x1500.
_SIZE_SEPARATOR = re.compile(r"\s*[xX×]\s*")
_SHEET_SIZE = re.compile(r"[1-9]\d{0,5}x[1-9]\d{0,5}")


def format_days(days: Decimal) -> str:
    """4.00 → "4", 0.50 → "0.5": a limit as it is stored and shown."""
    return f"{days.normalize():f}"


def _clean_days(raw: str) -> str:
    text = raw.strip()
    if not text:
        raise SettingRefused("Enter the number of days, like 4 or 0.5.")
    try:
        days = parse_number(text, example="a number of days, like 4 or 0,5")  # the app's one number reader
    except NumberRefused as refused:
        raise SettingRefused(refused.message) from None
    if days <= 0:
        raise SettingRefused("Enter more than 0 days.")
    if days > MAX_LIMIT_DAYS:
        raise SettingRefused(f"Enter at most {MAX_LIMIT_DAYS} days.")
    if days != days.quantize(LIMIT_PLACES):
        raise SettingRefused("Use at most two decimal places (0.25 is six hours).")
    return format_days(days)


def _load_days(stored: str) -> timedelta:
    days = Decimal(stored)
    if not days.is_finite() or days <= 0:
        raise ValueError(stored)
    return timedelta(days=float(days))


def _clean_clock(raw: str) -> str:
    return _load_clock(raw).strftime("%H:%M")


def _load_clock(stored: str) -> time:
    match = _CLOCK.fullmatch(stored.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise SettingRefused("Enter a time as HH:MM between 00:00 and 23:59, like 07:30.")
    return time(int(match[1]), int(match[2]))


def _clean_country_code(raw: str) -> str:
    # "+27" is how people write it; the setting holds the digits (whatsapp_number prefixes them).
    code = raw.replace(" ", "").removeprefix("+")
    if not code.isascii() or not code.isdigit() or not 1 <= len(code) <= 3:
        raise SettingRefused("Enter the country's dialling code: 1 to 3 digits, like 27 for South Africa.")
    if code.startswith("0"):
        raise SettingRefused("A country code does not start with 0 (South Africa is 27).")
    return code


def _load_country_code(stored: str) -> str:
    digits = re.sub(r"\D", "", stored)[:4]
    if not digits:
        raise ValueError(stored)
    return digits


def _clean_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise SettingRefused("Enter the name clients know the shop by.")
    if len(name) > MAX_NAME:
        raise SettingRefused(f"Keep the name to {MAX_NAME} characters or fewer (you entered {len(name)}).")
    return name


def _load_text(stored: str) -> str:
    return stored


def _message_cleaner(default: str) -> Any:
    def clean(raw: str) -> str | None:
        source = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
        # Blank, or the default word for word: nothing is stored, so the default (and any later
        # improvement to it) applies.
        if not source or source == default:
            return None
        if len(source) > MAX_MESSAGE:
            raise SettingRefused(f"Keep the message to {MAX_MESSAGE} characters or fewer (you entered {len(source)}).")
        problem = check_template(source)
        if problem:
            unknown = _unknown_names(source)
            if unknown:  # the likeliest mistake, said plainly rather than as Jinja's "'x' is undefined"
                names = ", ".join("{{" + name + "}}" for name in unknown)
                problem = f"{names} {'is not a placeholder' if len(unknown) == 1 else 'are not placeholders'}"
            raise SettingRefused(f"{problem.rstrip('.')}. The placeholders are {PLACEHOLDERS}.")
        # A template can render to nothing ("{% if false %}…{% endif %}") or balloon through an
        # expression; drafts must be neither empty nor longer than a message may be.
        sample = render_message(source, {name: name for name in TEMPLATE_FIELDS})
        if not sample:
            raise SettingRefused("This message comes out empty: write the text the client should read.")
        if len(sample) > MAX_MESSAGE:
            raise SettingRefused(f"This message comes out longer than {MAX_MESSAGE} characters.")
        return source

    return clean


def _entries(raw: str, noun: str) -> list[str]:
    """The lines of a list, trimmed, blank lines dropped; at least one, none twice, none too long."""
    entries = [line.strip() for line in raw.splitlines() if line.strip()]
    if not entries:
        raise SettingRefused(f"List at least one {noun}.")
    if len(entries) > MAX_LIST_ENTRIES:
        raise SettingRefused(f"Keep the list to {MAX_LIST_ENTRIES} entries or fewer (there are {len(entries)}).")
    for entry in entries:
        if len(entry) > MAX_LIST_ENTRY:
            raise SettingRefused(f"“{entry[:30]}…” is longer than {MAX_LIST_ENTRY} characters.")
    seen: dict[str, str] = {}
    for entry in entries:
        # Two entries that differ only in capitals would be two choices for one thing.
        first = seen.get(entry.casefold())
        seen.setdefault(entry.casefold(), entry)
        if first is not None:
            if first == entry:
                raise SettingRefused(f"“{entry}” is listed twice.")
            raise SettingRefused(f"“{first}” and “{entry}” are the same (capitals do not make a difference).")
    return entries


def _clean_materials(raw: str) -> str:
    return "\n".join(_entries(raw, "material"))


def _clean_sheet_sizes(raw: str) -> str:
    sizes = []
    for line in raw.splitlines():
        size = _SIZE_SEPARATOR.sub("x", line.strip())
        if size and not _SHEET_SIZE.fullmatch(size):
            raise SettingRefused(f"“{line.strip()}” is not a sheet size: write width x length in mm, like 3000x1500.")
        sizes.append(size)
    return "\n".join(_entries("\n".join(sizes), "sheet size"))


def _whole_days(low: int, high: int) -> Any:
    def clean(raw: str) -> str:
        text = raw.strip()
        if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
            raise SettingRefused(f"Enter a whole number of days from {low} to {high}.")
        return str(int(text))

    return clean


def _load_whole(stored: str) -> int:
    return int(stored)


def _load_lines(stored: str) -> list[str]:
    return [line.strip() for line in stored.splitlines() if line.strip()]


def _days(key: str, label: str, default: str, help_text: str) -> Setting[timedelta]:
    return Setting(key, ALERTS, label, help_text, default, _clean_days, _load_days, widget="days")


def _message(key: str, label: str, default: str) -> Setting[str]:
    return Setting(key, MESSAGES, label, "", default, _message_cleaner(default), _load_text, widget="message")


# -- the settings -------------------------------------------------------------------------------------

COMPANY_NAME: Setting[str] = Setting(
    "company_name",
    COMPANY,
    "Company name",
    "Shown in every page's title and in the client messages ({{company_name}}). "
    "Until it is set here, LASEROS_COMPANY_NAME (if set) gives it.",
    "Laser OS Demo Shop",
    _clean_name,
    _load_text,
    env="LASEROS_COMPANY_NAME",
)

# Stage limits in days (SPEC §3): past these a project raises its notification.
LIMIT_QUOTE_DAYS = _days(
    "limit_quote_days",
    "Quote waiting on approval",
    "4",
    "A quote waiting longer than this raises “Waiting on client approval” and drafts an approval "
    "follow-up for the client.",
)
LIMIT_WAITING_MATERIAL_DAYS = _days(
    "limit_waiting_material_days",
    "Waiting on material",
    "2",
    "“Blocked by material” is raised as soon as a paid job waits on sheets; past this it turns urgent "
    "and a material-delay message is drafted.",
)
LIMIT_CUTTING_DAYS = _days(
    "limit_cutting_days",
    "Cutting with no run completed",
    "1",
    "A job cutting with no run completed for longer than this raises “Cutting stalled”.",
)
LIMIT_READY_DAYS = _days(
    "limit_ready_days",
    "Ready, waiting for pickup",
    "2",
    "A job ready for longer than this raises “Waiting for pickup”.",
)

DAILY_REPORT_TIME: Setting[time] = Setting(
    "daily_report_time",
    DAILY_REPORT,
    "Daily report time",
    "When the daily report is made each day, in shop time.",
    "07:30",
    _clean_clock,
    _load_clock,
    widget="time",
)

MESSAGE_APPROVAL_FOLLOWUP = _message(
    "draft_template_approval_followup",
    "Approval follow-up message",
    "Hi {{client_name}}, just checking in on your quote for {{project_name}} ({{project_code}}). "
    "We're ready to start as soon as you approve. Shall we go ahead? — {{company_name}}",
)
MESSAGE_READY_FOR_COLLECTION = _message(
    "draft_template_ready_for_collection",
    "Ready for collection message",
    "Hi {{client_name}}, good news: your order {{project_name}} ({{project_code}}) is cut and ready "
    "for collection. Please let us know what time suits you. — {{company_name}}",
)
MESSAGE_MATERIAL_DELAY = _message(
    "draft_template_material_delay",
    "Material delay message",
    "Hi {{client_name}}, a quick update on {{project_name}} ({{project_code}}): we are waiting on "
    "material for your job and will start cutting as soon as it arrives. Sorry for the delay; we'll "
    "keep you posted. — {{company_name}}",
)
WHATSAPP_COUNTRY_CODE: Setting[str] = Setting(
    "whatsapp_country_code",
    MESSAGES,
    "WhatsApp country code",
    "Put in front of local numbers (082 …) in WhatsApp links. Digits only, like 27 for South Africa.",
    "27",
    _clean_country_code,
    _load_country_code,
)

MATERIALS: Setting[list[str]] = Setting(
    "materials",
    LISTS,
    "Materials",
    "One per line, at most 100 characters each.",
    "\n".join(DEFAULT_MATERIALS),
    _clean_materials,
    _load_lines,
    widget="lines",
)
SHEET_SIZES: Setting[list[str]] = Setting(
    "sheet_sizes",
    LISTS,
    "Sheet sizes",
    "Width x length in mm, one per line, like 3000x1500.",
    "\n".join(DEFAULT_SHEET_SIZES),
    _clean_sheet_sizes,
    _load_lines,
    widget="lines",
)

LOGIN_LOG_DAYS: Setting[int] = Setting(
    "login_log_days",
    RECORDS,
    "Keep the sign-in log for (days)",
    "Every sign-in attempt is logged with its address; entries older than this are deleted each night.",
    "180",
    _whole_days(30, 3650),
    _load_whole,
)

# -- quotes and invoices (docs/quotes_and_invoices.md) -------------------------------------------


def _clean_percent(raw: str) -> str:
    text = raw.strip().removesuffix("%").strip().replace(",", ".")
    try:
        rate = Decimal(text)
    except InvalidOperation:
        raise SettingRefused("Enter a percentage like 15.") from None
    if not rate.is_finite() or not 0 <= rate <= 100:
        raise SettingRefused("Enter a percentage from 0 to 100.")
    if rate != rate.quantize(Decimal("0.01")):
        raise SettingRefused("Use at most two decimal places.")
    return format_days(rate)


def _load_percent(stored: str) -> Decimal:
    rate = Decimal(stored)
    if not rate.is_finite() or not 0 <= rate <= 100:
        raise ValueError(stored)
    return rate


def _optional_text(max_length: int) -> Any:
    def clean(raw: str) -> str | None:
        text = "\n".join(line.strip() for line in raw.replace("\r\n", "\n").replace("\r", "\n").strip().split("\n"))
        if len(text) > max_length:
            raise SettingRefused(f"Keep this to {max_length} characters or fewer (you entered {len(text)}).")
        if any(ord(char) < 32 and char != "\n" for char in text):
            raise SettingRefused("This contains a control character; type the text again.")
        return text or None


# -- pricing from the drawing (domain/pricing, docs/pricing.md) ------------------------------------


def _number(low: Decimal, high: Decimal, places: int, example: str) -> Any:
    """A cleaner for a decimal setting between ``low`` and ``high`` with at most ``places`` decimals."""
    step = Decimal(1).scaleb(-places)

    def clean(raw: str) -> str:
        text = raw.strip().replace(" ", "").replace(",", "").removeprefix("R")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise SettingRefused(f"Enter a number, like {example}.") from None
        if not value.is_finite() or not low <= value <= high:
            raise SettingRefused(f"Enter a number from {format_days(low)} to {format_days(high)}.")
        if value != value.quantize(step):
            raise SettingRefused(f"Use at most {places} decimal places.")
        return format_days(value)

    return clean


VAT_RATE: Setting[Decimal] = Setting(
    "vat_rate",
    BILLING,
    "VAT rate (%)",
    "Added to quotes and invoices on the subtotal, rounded half-up to the cent. A quote or invoice keeps the "
    "rate it was made with.",
    "15",
    _clean_percent,
    _load_percent,
)
QUOTE_VALID_DAYS: Setting[int] = Setting(
    "quote_valid_days",
    BILLING,
    "Quotes valid for (days)",
    "A new quote is valid until today plus this many days; sent quotes past it expire each night.",
    "14",
    _whole_days(1, 365),
    _load_whole,
)
PAYMENT_TERMS_DAYS: Setting[int] = Setting(
    "payment_terms_days",
    BILLING,
    "Payment terms (days)",
    "An invoice is due this many days after it is issued; unpaid past that it is overdue.",
    "7",
    _whole_days(0, 365),
    _load_whole,
)
COMPANY_ADDRESS: Setting[str] = Setting(
    "company_address",
    BILLING,
    "Company address",
    "Printed at the top of quotes and invoices (one line per row).",
    "",
    _optional_text(500),
    _load_text,
    widget="lines",
)
COMPANY_VAT_NUMBER: Setting[str] = Setting(
    "company_vat_number",
    BILLING,
    "Company VAT number",
    "Printed on every tax invoice (SARS requires it).",
    "",
    _optional_text(30),
    _load_text,
)
COMPANY_BANK_DETAILS: Setting[str] = Setting(
    "company_bank_details",
    BILLING,
    "Bank details",
    "Printed at the foot of invoices: bank, account name, account number, branch code.",
    "",
    _optional_text(500),
    _load_text,
    widget="lines",
)


def _load_decimal(stored: str) -> Decimal:
    value = Decimal(stored)
    if not value.is_finite() or value < 0:
        raise ValueError(stored)
    return value


def _pricing(key: str, label: str, help_text: str, default: str, high: str, places: int = 2) -> Setting[Decimal]:
    return Setting(
        key, PRICING, label, help_text, default, _number(Decimal(0), Decimal(high), places, default), _load_decimal
    )


RAPID_SPEED_MM_MIN = _pricing(
    "rapid_speed_mm_min",
    "Rapid travel speed (mm/min)",
    "How fast the head moves between contours with the beam off.",
    "20000",
    "1000000",
    0,
)
PART_GAP_MM = _pricing("part_gap_mm", "Gap between parts (mm)", "Left between nested parts on a sheet.", "5", "500")
SHEET_MARGIN_MM = _pricing(
    "sheet_margin_mm", "Sheet margin (mm)", "The border of the sheet no part is nested into.", "10", "500"
)
MACHINE_RATE_PER_HOUR = _pricing(
    "machine_rate_per_hour", "Machine rate per hour (R)", "Charged per hour of cutting time.", "1500", "1000000"
)
SETUP_FEE = _pricing("setup_fee", "Setup fee (R)", "Added once per job.", "250", "1000000")
MINIMUM_CHARGE = _pricing(
    "minimum_charge", "Minimum charge (R)", "A job's price before VAT is at least this.", "500", "1000000"
)
MARKUP_PERCENT = _pricing("markup_percent", "Markup (%)", "Added on material, machine time and setup.", "0", "1000")
# (VAT: the one ``VAT_RATE`` above, shared by pricing, quotes and invoices.)


# Every setting, in the settings page's order.
SETTINGS: tuple[Setting[Any], ...] = (
    COMPANY_NAME,
    LIMIT_QUOTE_DAYS,
    LIMIT_WAITING_MATERIAL_DAYS,
    LIMIT_CUTTING_DAYS,
    LIMIT_READY_DAYS,
    DAILY_REPORT_TIME,
    # The three MESSAGE_* texts are message templates now (/comms/templates, migration 0008):
    # their Settings stay only as the default texts and the check a template's text gets.
    WHATSAPP_COUNTRY_CODE,
    MATERIALS,
    SHEET_SIZES,
    LOGIN_LOG_DAYS,
    VAT_RATE,
    QUOTE_VALID_DAYS,
    PAYMENT_TERMS_DAYS,
    COMPANY_ADDRESS,
    COMPANY_VAT_NUMBER,
    COMPANY_BANK_DETAILS,
    RAPID_SPEED_MM_MIN,
    PART_GAP_MM,
    SHEET_MARGIN_MM,
    MACHINE_RATE_PER_HOUR,
    SETUP_FEE,
    MINIMUM_CHARGE,
    MARKUP_PERCENT,
)
BY_KEY: dict[str, Setting[Any]] = {setting.key: setting for setting in SETTINGS}
assert len(BY_KEY) == len(SETTINGS), "two settings share a key"
