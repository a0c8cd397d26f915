"""Shop settings: what a setting is (``Setting``) and how services read one (``SettingsService``).

Every setting an admin can change is one ``Setting`` record in ``kernel.registry``: its key,
group, label, help text, default, how a submitted text is checked before it is stored
(``clean``) and how the stored text is read (``load``). The settings page, the services and the
jobs all read those records; the table ``shop_settings`` holds only what a shop changed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.db import quick_reads
from laseros.domain.kernel.models import ShopSetting

log = logging.getLogger(__name__)

T = TypeVar("T")

# How the settings page draws a setting's field.
Widget = Literal["text", "days", "time", "lines", "message"]


class SettingRefused(ValueError):
    """A submitted value that cannot be stored; ``message`` says why, beside the field."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Group:
    """A section of the settings page."""

    key: str
    title: str


@dataclass(frozen=True, eq=False)
class Setting(Generic[T]):
    key: str
    group: Group
    label: str
    help: str
    default: str  # as stored (text)
    # The form's text → the text to store, or None for "store nothing: the default applies".
    # Raises SettingRefused with the message shown beside the field.
    clean: Callable[[str], str | None]
    # The stored text → the value services use.
    load: Callable[[str], T]
    widget: Widget = "text"
    # An environment variable whose value, when set, is the default (LASEROS_COMPANY_NAME).
    env: str | None = None

    @property
    def default_text(self) -> str:
        """What the setting is when the shop stored nothing."""
        if self.env:
            return os.environ.get(self.env, "").strip() or self.default
        return self.default

    def read(self, stored: str | None) -> T:
        """The value of a stored text (None: not stored); an unreadable stored text falls back to the default.

        The settings page refuses such texts; only a hand-edited row can hold one.
        """
        if stored is not None:
            try:
                return self.load(stored)
            except (ValueError, ArithmeticError):
                log.warning("setting %s holds %r, which is not usable; using the default", self.key, stored)
        return self.load(self.default_text)


class SettingsService:
    """Reads settings for the services, the pages and the jobs (in the caller's session)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def stored_statement(setting: Setting[Any]) -> Select[str]:
        """SELECT the stored text of ``setting`` (no row: not stored); ``Setting.read`` makes it a value."""
        return select(ShopSetting.value).where(ShopSetting.key == setting.key)

    async def get(self, setting: Setting[T]) -> T:
        with quick_reads():  # a primary-key lookup (the header's shop name on every page)
            stored = await self.session.scalar(self.stored_statement(setting))
        return setting.read(stored)

    async def stored(self, settings: Iterable[Setting[Any]]) -> dict[str, str]:
        """The stored texts of these settings (absent: not stored), in one statement."""
        keys = [s.key for s in settings]
        rows = await self.session.execute(select(ShopSetting.key, ShopSetting.value).where(ShopSetting.key.in_(keys)))
        return {key: value for key, value in rows.all()}

    async def choices(self, setting: Setting[list[str]], keep: str | None = None) -> list[str]:
        """A list setting's entries as a form offers them.

        ``keep``: a record's own value stays a choice after it left the list, so removing a material
        from the settings never makes an older record uneditable (or silently changes it).
        """
        entries = await self.get(setting)
        if keep and keep.casefold() not in {c.casefold() for c in entries}:
            return [*entries, keep]
        return entries
