"""What code outside a request opens: the jobs, the worker and the CLI all go through :func:`open_services`.

The web app builds its Database once in ``create_app`` and disposes it at shutdown; everything else
(a ``laseros`` command, a worker process, a test running a job) opens the same things here, for as
long as it needs them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from laseros.db import Database
from laseros.domain.comms.inbound import AttachmentFiler
from laseros.domain.files.services import FileStore
from laseros.domain.kernel.actor import Actor
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


def attachment_filer(session: AsyncSession, actor: Actor, settings: Settings) -> AttachmentFiler:
    """Email attachments into a project's files: the files area's ``FileStore``, handed to comms
    (which cannot import it: the files area builds on the production context comms is part of)."""

    async def file(project_id: int, filename: str, source: Path) -> int:
        store = FileStore(session, actor, settings.uploads_dir, settings.max_upload_mb)
        return (await store.add_to_project(project_id, filename, source)).id

    return file
