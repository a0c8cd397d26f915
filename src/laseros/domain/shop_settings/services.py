"""Changing the shop settings from the settings page (reading them is ``kernel.settings``).

A saved change may set work off in other areas, in the same transaction: a changed stage limit
re-evaluates every watched project; a material or sheet size taken off its list is reported with
the records that still carry it. That is why this service lives above them, not in the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from laseros.db import UnitOfWork, action
from laseros.domain.inventory.models import InventoryItem
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.models import ShopSetting
from laseros.domain.kernel.registry import BY_KEY, MATERIALS, SETTINGS, SHEET_SIZES
from laseros.domain.notifications.rules import LIMIT_SETTINGS
from laseros.domain.notifications.watch import watch_everything
from laseros.domain.presets.models import Preset
from laseros.domain.projects.models import Project
from laseros.domain.shop_settings.schemas import ShopSettingsInput

ACTIVITY_ENTITY = "settings"  # the activity log's entity for the shop's settings (one set: id 0)
LIST_KEYS = (MATERIALS.key, SHEET_SIZES.key)
# The records that carry each list's entries, for "still in use" after an entry is removed.
_USED_BY = {
    MATERIALS.key: [
        (Project.material_type, "project"),
        (InventoryItem.material_type, "stock item"),
        (Preset.material_type, "preset"),
    ],
    SHEET_SIZES.key: [(Project.sheet_size, "project"), (InventoryItem.sheet_size, "stock item")],
}


@dataclass(frozen=True)
class CurrentSettings:
    """What the settings form shows."""

    # The stored value, else the default; a message template shows only a stored text (an empty
    # box means "the default", which the page shows beside it).
    values: dict[str, str]
    customised: frozenset[str]  # the settings with a stored value


@dataclass(frozen=True)
class SavedSettings:
    changed: tuple[str, ...]  # the keys whose value changed, in the page's order
    # Materials and sheet sizes taken off a list that records still carry, e.g.
    # "Galvanised (3 projects, 1 stock item)": they keep it, but their forms offer only listed ones.
    still_used: tuple[str, ...] = ()


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


class ShopSettingsEditor:
    def __init__(self, session: UnitOfWork, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def _stored(self) -> dict[str, ShopSetting]:
        rows = await self.session.scalars(select(ShopSetting).where(ShopSetting.key.in_(list(BY_KEY))))
        return {row.key: row for row in rows}

    async def current(self) -> CurrentSettings:
        stored = {key: row.value for key, row in (await self._stored()).items()}
        values = {s.key: stored.get(s.key, "" if s.widget == "message" else s.default_text) for s in SETTINGS}
        return CurrentSettings(values, frozenset(stored))

    @action
    async def save(self, data: ShopSettingsInput) -> SavedSettings:
        """Store the settings that changed, with one activity row; commits (nothing when none changed).

        A changed stage limit re-evaluates every watched project before the commit, so the bell,
        the dashboard and the drafts follow the new limit in the same transaction.
        """
        stored = await self._stored()
        changed: list[str] = []
        details: list[str] = []
        still_used: list[str] = []
        for setting in SETTINGS:
            key = setting.key
            if key not in data.values:
                continue
            new = data.values[key]
            row = stored.get(key)
            old = row.value if row is not None else setting.default_text
            if new is None:  # back to the default: the stored text goes
                if row is None:
                    continue
                await self.session.delete(row)
            elif new == old:
                continue
            elif row is None:
                self.session.add(ShopSetting(key=key, value=new))
            else:
                row.value = new
            changed.append(key)
            details.append(self._describe(key, old, new))
            if key in LIST_KEYS:
                removed = [entry for entry in _lines(old) if entry not in _lines(new or "")]
                still_used += await self._still_used(key, removed)
        if not changed:
            return SavedSettings(())
        if any(BY_KEY[key] in LIMIT_SETTINGS for key in changed):
            watch_everything(self.session)
        record_activity(self.session, self.actor, "settings_changed", ACTIVITY_ENTITY, 0, "; ".join(details))
        await self.session.commit()
        return SavedSettings(tuple(changed), tuple(still_used))

    @staticmethod
    def _describe(key: str, old: str, new: str | None) -> str:
        """One change as the activity log shows it."""
        if BY_KEY[key].widget == "message":
            return f"{key}: back to the default" if new is None else f"{key}: new text"
        assert new is not None
        if key in LIST_KEYS:
            before, after = _lines(old), _lines(new)
            added = [f"+{entry}" for entry in after if entry not in before]
            removed = [f"-{entry}" for entry in before if entry not in after]
            return f"{key}: {', '.join(added + removed) or 'reordered'}"
        return f"{key}: {old} → {new}"

    async def _still_used(self, key: str, removed: list[str]) -> list[str]:
        """The removed entries that records still carry, with how many of each."""
        found = []
        for entry in removed:
            counts = []
            for column, noun in _USED_BY[key]:
                count = await self.session.scalar(select(func.count()).where(column == entry))
                if count:
                    counts.append(_plural(int(count), noun))
            if counts:
                found.append(f"{entry} ({', '.join(counts)})")
        return found
