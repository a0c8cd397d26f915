"""The watcher: re-evaluate what an action touched, just before its transaction commits.

Actions call ``watch_project``/``watch_item`` (``set_stage`` and ``move_stock`` do it for every
caller); the evaluation runs as the session's before-commit hook, so the bell is right in the
same response and nothing depends on Redis. A project that entered a limited stage gets a
wake-up scheduled (after the commit) for the moment its limit passes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import cast

from laseros.db import UnitOfWork
from laseros.domain.notifications.evaluate import Scope, evaluate

# -- waking the evaluator when a stage limit passes ---------------------------------------------------


WakeUpScheduler = Callable[[int, datetime], Awaitable[None]]
# One per event loop: an app's Redis client belongs to its loop (tests run several apps at once).
_wake_up_schedulers: dict[asyncio.AbstractEventLoop, WakeUpScheduler] = {}


def set_wake_up_scheduler(scheduler: WakeUpScheduler) -> Callable[[], None]:
    """Who schedules "evaluate project N at time T" for this event loop (the job runtime, on Redis).

    Returns the remover. Without one (no Redis), the hourly pass raises the alert instead, up to an
    hour late.
    """
    loop = asyncio.get_running_loop()
    _wake_up_schedulers[loop] = scheduler

    def remove() -> None:
        if _wake_up_schedulers.get(loop) is scheduler:
            del _wake_up_schedulers[loop]

    return remove


def _schedule_after_commit(session: UnitOfWork, wake_ups: list[tuple[int, datetime]]) -> None:
    scheduler = _wake_up_schedulers.get(asyncio.get_running_loop())
    if not wake_ups or scheduler is None:
        return

    async def schedule() -> None:
        for project_id, due in wake_ups:
            await scheduler(project_id, due)

    session.after_commit(schedule)


# -- the watcher: evaluate what an action touched, just before it commits ------------------------------


def _scope(session: UnitOfWork) -> Scope:
    uow = session
    scope = uow.info.get("watch")
    if scope is None:
        scope = uow.info["watch"] = Scope()
        uow.before_commit("notifications", _evaluate_watched)
    return cast(Scope, scope)


def watch_project(session: UnitOfWork, project_id: int, *, stage_changed: bool = False) -> None:
    """Re-evaluate this project's notifications before the caller's transaction commits."""
    scope = _scope(session)
    scope.projects.add(project_id)
    if stage_changed:
        scope.moved.add(project_id)


def watch_item(session: UnitOfWork, item_id: int) -> None:
    """Re-evaluate this stock item's notifications before the caller's transaction commits."""
    _scope(session).items.add(item_id)


def watch_everything(session: UnitOfWork) -> None:
    """Re-evaluate every project and item before commit, and re-schedule every wake-up (the stage
    limits changed: alerts due under the new limits appear at once, later ones on time)."""
    _scope(session).everything = True


async def _evaluate_watched(session: UnitOfWork) -> None:
    scope: Scope = session.info.pop("watch")
    await session.flush()
    if scope.everything:
        result = await evaluate(session, wake_all=True)
    else:
        result = await evaluate(session, projects=scope.projects, items=scope.items, moved=scope.moved)
    # Only once the action has committed: a rolled-back change schedules nothing.
    _schedule_after_commit(session, result.wake_ups)
