"""The shop settings form (``/admin/settings``): every submitted setting checked by its registry entry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from laseros.domain.kernel.errors import InvalidInput
from laseros.domain.kernel.fields import clean_text
from laseros.domain.kernel.registry import SETTINGS
from laseros.domain.kernel.settings import SettingRefused


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
        for setting in SETTINGS:
            if setting.key not in raw:
                continue
            text, problem = clean_text(str(raw[setting.key]))
            if problem:
                errors[setting.key] = problem
                continue
            try:
                values[setting.key] = setting.clean(text)
            except SettingRefused as refused:
                errors[setting.key] = refused.message
        if errors:
            raise InvalidInput(errors)
        return cls(values)
