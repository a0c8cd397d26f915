"""The bell's signal: who hears that the open notifications changed, once a commit has made it so.

The evaluator and the resolve action call ``announce_after_commit``; the process's publisher
(``laseros.bell``, installed by the web app and by a separate worker) listens with
``on_bell_change`` and tells every web process's open pages.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.db import UnitOfWork, quick_reads
from laseros.domain.notifications.models import Notification

log = logging.getLogger(__name__)


BellListener = Callable[[], Awaitable[None]]
_bell_listeners: list[BellListener] = []


def on_bell_change(listener: BellListener) -> Callable[[], None]:
    """Call ``listener()`` after any commit that changed notifications; returns the unsubscriber."""
    _bell_listeners.append(listener)
    return lambda: _bell_listeners.remove(listener) if listener in _bell_listeners else None


async def _announce() -> None:
    for listener in list(_bell_listeners):
        try:
            await listener()
        except Exception:  # a push that fails leaves pages to poll; the data is committed
            log.warning("bell listener failed", exc_info=True)


def announce_after_commit(session: UnitOfWork) -> None:
    uow = session
    if not uow.info.get("bell_announce"):
        uow.info["bell_announce"] = True
        uow.after_commit(_announce)


def is_open() -> Any:
    """The condition of an open notification (resolved by nobody yet)."""
    return Notification.resolved_at.is_(None)


def open_count_statement() -> Select[int]:
    """SELECT the number of open notifications (a COUNT on a partial index)."""
    return select(func.count()).select_from(Notification).where(is_open())


async def open_count(session: AsyncSession) -> int:
    """How many notifications are open (the bell's number), straight from the database."""
    with quick_reads():  # a COUNT on a partial index, for every page's header
        return int(await session.scalar(open_count_statement()) or 0)
