"""What code outside a request opens: the jobs, the worker and the CLI all go through :func:`open_services`.

The web app builds its Database once in ``create_app`` and disposes it at shutdown; everything else
(a ``laseros`` command, a worker process, a test running a job) opens the same things here, for as
long as it needs them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from laseros.db import Database
from laseros.domain.kernel.shop import ShopCalendar
from laseros.settings import Settings


@dataclass(frozen=True)
class Services:
    """The shop's Database, its calendar (shop time) and the settings they were made from."""

    db: Database
    calendar: ShopCalendar
    settings: Settings


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    """Open the Database for ``settings`` with the shop's calendar; the Database is disposed on exit."""
    db = Database.from_settings(settings)
    try:
        yield Services(db, ShopCalendar(settings.shop_timezone), settings)
    finally:
        await db.dispose()
