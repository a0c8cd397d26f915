"""Parsing of submitted form values into typed input, collecting one message per bad field.

Every area's ``schemas.py`` builds its input with a ``FieldReader`` so the rules for text
lengths, numbers, dates and the thickness list read the same everywhere.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from laseros.domain.kernel.errors import InvalidInput
from laseros.domain.kernel.shop import THICKNESSES_MM, parse_thickness, thickness_label

MAX_TEXT = 2000  # free-text fields (notes, address, description)
MAX_LINE = 200  # one-line fields (names, emails, phones)

# Characters nobody types on purpose: control characters (a NUL, an escape…) are refused, save
# tab and newline; carriage returns are line ends and become newlines.
_ALLOWED_CONTROLS = frozenset("\t\n")


def clean_text(raw: str) -> tuple[str, str | None]:
    """Submitted text with line ends normalised and outer blank space trimmed, and why it is refused (if it is)."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    for char in text:
        if unicodedata.category(char) == "Cc" and char not in _ALLOWED_CONTROLS:
            return text, "This contains a control character (such as a NUL); type the text again."
        if char == "\ufffd":  # what undecodable bytes become: the browser did not send UTF-8 text
            return text, "Some characters could not be read; type the text again."
    return text.strip(), None


def is_blank(text: str) -> bool:
    """Empty, or made only of blank and invisible characters (spaces, zero-width spaces, joiners…)."""
    return all(char.isspace() or unicodedata.category(char) in ("Cf", "Zs", "Cc") for char in text)


# -- Numbers as people in the shop write them -----------------------------------------------------

# Spaces people (and their phones' keyboards) put between thousands: the plain one, the no-break
# space (what "R 15 000" pasted from a spreadsheet carries), the narrow no-break, thin and figure spaces.
_SPACES = str.maketrans({c: " " for c in "\u00a0\u202f\u2009\u2007\u2002\u2003\u2006\u205f\u3000"})
_MINUS = ("-", "\u2212", "\u2013")  # hyphen-minus, the minus sign, an en dash typed for one
_BAD_PAIRS = ("  ", " ,", ", ", " .", ". ", ",,", "..", ",.", ".,")
_GROUPED = re.compile(r"[0-9]{1,3}(?:X[0-9]{3})+")  # X stands for the thousands separator in use


class NumberRefused(ValueError):
    """A number ``parse_number`` cannot read, or cannot read one way only; ``message`` says what to write."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _grouped(digits: str, separator: str) -> bool:
    """``digits`` is thousands grouped by ``separator`` (1 234 567, 1,234,567), or has no separator at all."""
    if separator not in digits:
        return digits.isdigit()
    return _GROUPED.fullmatch(digits.replace(separator, "X")) is not None


def parse_number(raw: str, *, places: int = 2, currency: bool = False, example: str = "") -> Decimal:
    """One reading of a typed number, for every money and quantity field.

    Accepts what the shop writes: thousands grouped by spaces (any kind) or commas (or dots, with
    a comma decimal), a comma or a dot decimal, a minus, and — for money (``currency``) — an
    optional "R" before it: "R 15 000,50", "6 250,00", "1,500.00", "1 500", "1500,5", "0,5".
    A number that reads two ways is refused with both spelled out: "1,234" may be 1.234 or 1234.
    When the field takes whole numbers only (``places=0``) one separator before three digits can
    only be thousands, so "1,500" sheets is 1500.
    Raises ``NumberRefused`` (its message "Enter <example>." for what is no number at all); range
    and decimal-place limits are the caller's.
    """
    if not example:
        example = (
            "an amount like 1500.00 or 1 500,00"
            if currency
            else "a whole number"
            if places == 0
            else "a number like 1.5"
        )
    text = raw.translate(_SPACES).strip()
    negative = False
    if text.startswith(_MINUS):
        negative, text = True, text[1:].lstrip()
    elif text.startswith("+"):  # "+2": an adjustment that adds
        text = text[1:].lstrip()
    if currency and text[:1] in ("R", "r"):
        text = text[1:].lstrip()
        if not negative and text.startswith(_MINUS):
            negative, text = True, text[1:].lstrip()
    if not text or any(c not in "0123456789 ,." for c in text) or not any(c.isdigit() for c in text):
        raise NumberRefused(f"Enter {example}.")
    if text[-1] in " ,." or any(pair in text for pair in _BAD_PAIRS):
        raise NumberRefused(f"Enter {example}.")
    commas, dots = text.count(","), text.count(".")
    decimal_mark: str | None = None
    thousands: str | None = None
    if commas and dots:
        # Both: the last one is the decimal mark ("1,500.00", "1.500,00"), and it comes once.
        decimal_mark = "," if text.rindex(",") > text.rindex(".") else "."
        thousands = "." if decimal_mark == "," else ","
        if text.count(decimal_mark) > 1 or text.index(decimal_mark) < text.rindex(thousands):
            raise NumberRefused(f"Use one decimal mark, after the thousands (1 500,00 or 1,500.00); enter {example}.")
    elif commas > 1 or dots > 1:
        thousands = "," if commas else "."
    elif commas or dots:
        mark = "," if commas else "."
        before, after = text.split(mark)
        int_digits = before.replace(" ", "")
        if len(after) != 3 or " " in before or int_digits in ("", "0") or len(before) > 3:
            decimal_mark = mark  # "1500,5", "6 250,00", "0,500", "1234,567": a decimal
        elif places == 0:
            thousands = mark  # a whole-number field: "1,500" sheets
        elif mark == ".":
            decimal_mark = mark  # the app's own way of writing a decimal: 1.250
        else:
            raise NumberRefused(
                f"Write {int_digits}{after} or {int_digits}.{after} — is the comma a decimal or thousands?"
            )
    whole, _, fraction = text.partition(decimal_mark) if decimal_mark else (text, "", "")
    if fraction and not fraction.isdigit():
        raise NumberRefused(f"Enter {example}.")
    separators = {c for c in whole if not c.isdigit()}
    if len(separators) > 1 or (thousands and separators - {thousands}):
        raise NumberRefused(f"Group thousands one way only (1 500 000 or 1,500,000); enter {example}.")
    separator = separators.pop() if separators else ""
    if separator and not _grouped(whole, separator):
        raise NumberRefused(f"Thousands go in groups of three (15 000, 1,500,000); enter {example}.")
    digits = whole.replace(separator, "") if separator else whole
    if len(digits) + len(fraction) > 30:
        raise NumberRefused("That number is too long.")
    number = Decimal(f"{digits or '0'}.{fraction}" if fraction else digits or "0")
    return -number if negative else number


class FieldReader:
    """Reads raw form values; each ``read`` records an error instead of raising."""

    def __init__(self, raw: Mapping[str, str]) -> None:
        self.raw = raw
        self.errors: dict[str, str] = {}

    def _value(self, name: str) -> str:
        value = self.raw.get(name)
        return "" if value is None else str(value).strip()

    def text(self, name: str, *, required: bool = False, max_length: int = MAX_LINE) -> str:
        """Free text: control characters refused; a field of only blank or invisible characters is empty."""
        value, problem = clean_text(str(self.raw.get(name) or ""))
        if problem:
            self.errors[name] = problem
            return value
        if is_blank(value):
            value = ""
        if max_length <= MAX_LINE and "\n" in value:
            value = " ".join(value.split())  # a one-line field keeps one line
        if required and not value:
            self.errors[name] = "This field is required."
        elif len(value) > max_length:
            self.errors[name] = f"Keep this to {max_length} characters or fewer (you entered {len(value)})."
        return value

    def email(self, name: str) -> str:
        value = self.text(name, max_length=MAX_LINE)
        if value and name not in self.errors and ("@" not in value or " " in value or value.startswith("@")):
            self.errors[name] = "Enter an email address like name@example.com."
        return value

    def _number(self, name: str, *, required: bool, places: int, currency: bool = False) -> Decimal | None:
        """The field read by ``parse_number``; None (and the reason recorded) when empty or refused."""
        value = self._value(name)
        if not value or is_blank(value):
            if required:
                self.errors[name] = "This field is required."
            return None
        try:
            return parse_number(value, places=places, currency=currency)
        except NumberRefused as refused:
            self.errors[name] = refused.message
            return None

    def integer(
        self, name: str, *, required: bool = False, minimum: int | None = 0, maximum: int = 10**9
    ) -> int | None:
        """A count (sheets, parts, minutes): "1500", "1 500" and "1,500" are all fifteen hundred."""
        number = self._number(name, required=required, places=0)
        if number is None:
            return None
        if number != number.to_integral_value():
            self.errors[name] = "Enter a whole number."
            return None
        whole = int(number)
        if minimum is not None and whole < minimum:
            self.errors[name] = f"Enter a number of at least {minimum}."
        elif whole > maximum:
            self.errors[name] = f"Enter a number of at most {maximum}."
        return whole

    def money(self, name: str, *, required: bool = False) -> Decimal | None:
        """Rands: "R 15 000,50", "15,000.50" and "15000.5" are all R 15,000.50."""
        amount = self._number(name, required=required, places=2, currency=True)
        if amount is None:
            return None
        if amount < 0:
            self.errors[name] = "Enter an amount of zero or more."
        elif amount > Decimal("999999999"):
            self.errors[name] = "That amount is too large."
        elif amount != amount.quantize(Decimal("0.01")):
            self.errors[name] = "Use at most two decimal places."
        return amount.quantize(Decimal("0.01")) if name not in self.errors else None

    def decimal(
        self,
        name: str,
        *,
        required: bool = False,
        minimum: Decimal | None = Decimal(0),
        maximum: Decimal = Decimal(100_000),
        places: int = 2,
    ) -> Decimal | None:
        """A measured number such as a pressure or a focus offset (``minimum=None`` allows negatives)."""
        number = self._number(name, required=required, places=places)
        if number is None:
            return None
        step = Decimal(1).scaleb(-places)
        if minimum is not None and number < minimum:
            self.errors[name] = f"Enter a number of at least {minimum}."
        elif number > maximum:
            self.errors[name] = f"Enter a number of at most {maximum}."
        elif number != number.quantize(step):
            self.errors[name] = f"Use at most {places} decimal places."
        return number.quantize(step) if name not in self.errors else None

    def flag(self, name: str) -> bool:
        """A checkbox: ticked when sent with any value but an explicit off."""
        return self._value(name).lower() not in ("", "0", "false", "off", "no")

    def date(self, name: str, *, required: bool = False) -> date | None:
        value = self._value(name)
        if not value:
            if required:
                self.errors[name] = "This field is required."
            return None
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            self.errors[name] = "Enter a date as YYYY-MM-DD."
            return None
        if not 2000 <= parsed.year <= 2100:
            self.errors[name] = "Enter a date between 2000 and 2100."
        return parsed

    def choice(self, name: str, choices: Sequence[str], *, required: bool = False) -> str:
        value = self._value(name)
        if not value:
            if required:
                self.errors[name] = "Choose one."
            return ""
        if value not in choices:
            self.errors[name] = f"Choose one of: {', '.join(choices)}."
        return value

    def thickness(self, name: str, *, required: bool = False) -> Decimal | None:
        value = self._value(name)
        if not value:
            if required:
                self.errors[name] = "Choose a thickness."
            return None
        thickness = parse_thickness(value)
        if thickness is None:
            listed = ", ".join(thickness_label(t) for t in THICKNESSES_MM)
            self.errors[name] = f"Choose a thickness from the list ({listed} mm)."
        return thickness

    def reference(self, name: str, *, required: bool = False) -> int | None:
        """An id of another record; existence is checked by the service."""
        value = self._value(name)
        if not value:
            if required:
                self.errors[name] = "Choose one."
            return None
        if not value.isdigit() or len(value) > 12:
            self.errors[name] = "Choose one from the list."
            return None
        return int(value)

    def finish(self) -> None:
        """Raise every collected error at once."""
        if self.errors:
            raise InvalidInput(self.errors)
