"""The activity log: one row per change, in the change's own transaction.

An action records several (a run started: the queue item's status, the job's stage, the run), so the
rows are kept on the session and written in one multi-row INSERT just before the transaction commits
(``UnitOfWork.before_commit``); a rolled-back action drops them with everything else.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.db import UnitOfWork, utcnow
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.models import ActivityLog

_PENDING = "activity"  # the rows not written yet: ``UnitOfWork.pending``, and the hook that writes them


def record_activity(
    session: AsyncSession, actor: Actor, action: str, entity_type: str, entity_id: int, details: str = ""
) -> None:
    """Add an activity row to the caller's transaction."""
    row = {
        "created_at": utcnow(),
        "user_id": actor.user_id,
        "actor": actor.name,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "details": details,
    }
    if not isinstance(session, UnitOfWork):  # a plain session (a script's): the row as an object
        session.add(ActivityLog(**row))
        return
    session.pending(_PENDING).append(row)
    # Registered again by each row: a hook that runs after this one and records more gets them written too.
    session.before_commit(_PENDING, _write_pending)


async def _write_pending(session: UnitOfWork) -> None:
    rows: list[dict[str, Any]] = session.pending(_PENDING)
    if rows:
        written = list(rows)
        rows.clear()
        await session.execute(insert(ActivityLog), written)
