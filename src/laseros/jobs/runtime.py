"""The web app's side of the jobs: its Redis client, enqueue, wake-ups, and health.

:class:`JobRuntime` lives as long as the app: it holds one fast-failing Redis client, queues jobs
after commits (``enqueue``, the stage-limit wake-ups), answers ``/healthz`` from the database, Redis
and the worker's heartbeat, and, when ``LASEROS_WORKER=inline``, runs a supervised worker
(``worker.WorkerSupervisor``) in the web process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError
from saq.queue.redis import RedisQueue
from sqlalchemy import select

from laseros.db import Database
from laseros.domain.comms.services import set_email_dispatcher
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.notifications.watch import set_wake_up_scheduler
from laseros.jobs import broker, config
from laseros.jobs.tasks import function_name
from laseros.jobs.worker import WorkerSupervisor
from laseros.services import Services
from laseros.settings import Settings

log = logging.getLogger(__name__)

DATABASE_CHECK_S = 2.0


@dataclass
class Beat:
    ok: bool
    last: datetime | None
    age_seconds: float | None


async def read_heartbeat(redis: Redis, namespace: str) -> Beat:
    """The worker's last heartbeat; raises RedisError when Redis cannot be reached."""
    raw = await redis.get(broker.heartbeat_key(namespace))
    if raw is None:
        return Beat(False, None, None)
    last = datetime.fromisoformat(raw.decode() if isinstance(raw, bytes) else raw)
    age = max(0.0, (datetime.now(UTC) - last).total_seconds())
    return Beat(age <= broker.HEARTBEAT_STALE_S, last, round(age, 1))


class JobRuntime:
    """The web app's side of the jobs: one fast-failing Redis client, enqueue, health, the inline worker."""

    def __init__(self, settings: Settings, db: Database, calendar: ShopCalendar) -> None:
        self.settings = settings
        self.db = db
        self.calendar = calendar
        self.redis: Redis | None = None
        self._queue: RedisQueue | None = None
        self.supervisor: WorkerSupervisor | None = None
        self._supervisor_task: asyncio.Task[None] | None = None
        self._unset_scheduler: Callable[[], None] | None = None
        self._unset_dispatcher: Callable[[], None] | None = None
        self._pending: set[asyncio.Task[bool]] = set()

    @property
    def inline(self) -> bool:
        return self.settings.worker_mode == "inline"

    async def start(self) -> None:
        """Create the client (no connection is made yet) and, in inline mode, start the worker."""
        url = self.settings.redis_url
        if not url:
            log.warning("no Redis URL: background jobs are off (run `laseros serve`, or set REDIS_URL)")
            return
        self.redis = broker.app_redis(url)
        self._unset_scheduler = set_wake_up_scheduler(self.schedule_wake_up)
        self._unset_dispatcher = set_email_dispatcher(self.dispatch_email)
        if self.inline:
            self.supervisor = WorkerSupervisor(Services(self.db, self.calendar, self.settings))
            self._supervisor_task = asyncio.create_task(self.supervisor.run(), name="inline-worker")

    async def stop(self) -> None:
        if self._unset_scheduler is not None:
            self._unset_scheduler()
        if self._unset_dispatcher is not None:
            self._unset_dispatcher()
        if self._pending:
            await asyncio.wait(self._pending, timeout=3)
        if self.supervisor is not None and self._supervisor_task is not None:
            self.supervisor.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._supervisor_task, 15)
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await self.redis.aclose()

    async def enqueue(self, job: str, *, key: str | None = None, **kwargs: Any) -> bool:
        """Queue ``job`` (a name from the task list) now; False, never an exception, when Redis is away.

        Call it after the transaction that needs it has committed (``session.after_commit``).
        """
        if self.redis is None:
            return False
        if self._queue is None:
            self._queue = config.make_queue(self.redis, self.settings)
        queue = self._queue
        options = {**config.JOB_OPTIONS, **({"key": key} if key else {})}
        try:
            async with asyncio.timeout(2 * broker.APP_TIMEOUT_S + 0.5):
                return await queue.enqueue(function_name(job), **options, **kwargs) is not None
        except (RedisError, OSError, TimeoutError):
            log.warning("could not enqueue %s: Redis unavailable", job)
            return False

    async def dispatch_email(self, communication_id: int) -> bool:
        """After a commit: queue ``send-email`` for one Communication (its id is the job's key)."""
        return await self.enqueue("send-email", key=f"send-email:{communication_id}", communication_id=communication_id)

    async def schedule_wake_up(self, project_id: int, due: datetime) -> None:
        """After a commit: evaluate ``project_id`` again when its stage limit passes (a scheduled job).

        Queued in the background so the action's response never waits on Redis; the key makes a
        repeat for the same project and moment one job. If Redis is away the hourly pass covers it.
        """
        at = math.ceil(due.timestamp())
        task = asyncio.create_task(
            self.enqueue(
                "evaluate-notifications",
                key=f"evaluate:project:{project_id}:{at}",
                scheduled=at,
                project_ids=[project_id],
            )
        )
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def health(self) -> dict[str, Any]:
        """Database, Redis and worker status for /healthz; ``status`` is "ok" only when all three are."""
        database, redis = await asyncio.gather(self.database_health(), self.redis_health())
        # Without Redis there is no way to see the heartbeat: the worker counts as down.
        worker = (
            await self.worker_health()
            if redis["ok"]
            else {"mode": self.settings.worker_mode, "ok": False, "last_heartbeat": None, "age_seconds": None}
        )
        ok = database["ok"] and redis["ok"] and worker["ok"]
        return {"status": "ok" if ok else "degraded", "database": database, "redis": redis, "worker": worker}

    async def database_health(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with asyncio.timeout(DATABASE_CHECK_S), self.db.session(write=False) as session:
                await session.execute(select(1))
        except Exception as failed:
            return {"ok": False, "error": failed.__class__.__name__}
        return {"ok": True, "latency_ms": round((loop.time() - started) * 1000, 1)}

    async def redis_health(self) -> dict[str, Any]:
        # No URL in the answer: /healthz is public and should not map the infrastructure.
        if self.redis is None:
            return {"ok": False, "error": "no Redis URL configured"}
        try:
            async with asyncio.timeout(2 * broker.APP_TIMEOUT_S):
                await cast(Awaitable[bool], self.redis.ping())  # redis-py types ping() for both clients
        except (RedisError, OSError, TimeoutError) as failed:
            return {"ok": False, "error": failed.__class__.__name__}
        return {"ok": True}

    async def worker_health(self) -> dict[str, Any]:
        """The worker's heartbeat; not ok when Redis cannot be asked."""
        base: dict[str, Any] = {"mode": self.settings.worker_mode}
        if self.redis is None:
            return {**base, "ok": False, "last_heartbeat": None, "age_seconds": None}
        try:
            async with asyncio.timeout(2 * broker.APP_TIMEOUT_S):
                beat = await read_heartbeat(self.redis, self.settings.redis_namespace)
        except (RedisError, OSError, TimeoutError, ValueError):
            return {**base, "ok": False, "last_heartbeat": None, "age_seconds": None}
        return {
            **base,
            "ok": beat.ok,
            "last_heartbeat": beat.last.isoformat() if beat.last else None,
            "age_seconds": beat.age_seconds,
        }
