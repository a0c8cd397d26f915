"""The activity log: one row per change, in the change's own transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.models import ActivityLog


def record_activity(
    session: AsyncSession, actor: Actor, action: str, entity_type: str, entity_id: int, details: str = ""
) -> None:
    """Add an activity row to the caller's transaction."""
    session.add(
        ActivityLog(
            user_id=actor.user_id,
            actor=actor.name,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            details=details,
        )
    )
