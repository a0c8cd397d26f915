"""Parsing of submitted form values into typed input, collecting one message per bad field.

Every area's ``schemas.py`` builds its input with a ``FieldReader`` so the rules for text
lengths, numbers, dates and the thickness list read the same everywhere.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation

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

    def integer(
        self, name: str, *, required: bool = False, minimum: int | None = 0, maximum: int = 10**9
    ) -> int | None:
        value = self._value(name)
        if not value:
            if required:
                self.errors[name] = "This field is required."
            return None
        try:
            number = int(value)
        except ValueError:
            self.errors[name] = "Enter a whole number."
            return None
        if minimum is not None and number < minimum:
            self.errors[name] = f"Enter a number of at least {minimum}."
        elif number > maximum:
            self.errors[name] = f"Enter a number of at most {maximum}."
        return number

    def money(self, name: str, *, required: bool = False) -> Decimal | None:
        value = self._value(name).replace(",", "").replace("R", "").strip()
        if not value:
            if required:
                self.errors[name] = "This field is required."
            return None
        try:
            amount = Decimal(value)
        except InvalidOperation:
            self.errors[name] = "Enter an amount like 1500.00."
            return None
        if not amount.is_finite() or amount < 0:
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
        value = self._value(name).replace(",", ".")
        if not value:
            if required:
                self.errors[name] = "This field is required."
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            self.errors[name] = "Enter a number like 1.5."
            return None
        step = Decimal(1).scaleb(-places)
        if not number.is_finite():
            self.errors[name] = "Enter a number like 1.5."
        elif minimum is not None and number < minimum:
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
