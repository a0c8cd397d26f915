"""The job worker: SAQ's worker kept alive across Redis outages, and what it does when it starts.

The worker (``saq.Worker``, built from ``config.worker_settings``) runs under :class:`WorkerSupervisor`, which
keeps it alive across Redis outages: if Redis is away at start, or goes away later, the worker is
stopped and started again with back-off until Redis answers, and nothing crashes. Before it takes
jobs it retires cron ticks the table no longer has and catches up a missed daily report. While it
runs it writes a heartbeat (``<namespace>:worker:heartbeat`` = the time, every 10 s, TTL 60 s),
which ``/healthz`` reads (``runtime.read_heartbeat``).

``laseros worker`` runs one supervisor in its own process (:func:`run_worker`); ``laseros serve``
runs one inline when ``LASEROS_WORKER=inline`` (``runtime.JobRuntime``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable
from datetime import UTC, date, datetime, time
from typing import Any, cast
from zoneinfo import ZoneInfo

from croniter import croniter
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from saq import Worker
from saq.job import Status
from saq.queue.redis import RedisQueue
from sqlalchemy import select

from laseros.bell import install_publisher
from laseros.db import Database
from laseros.domain.kernel.registry import DAILY_REPORT_TIME
from laseros.domain.kernel.settings import SettingsService
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.reports.models import DailyReport
from laseros.jobs import broker, config
from laseros.jobs.tasks import function_name
from laseros.services import Services, open_services
from laseros.settings import Settings

log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 10.0
# A worker that ran this long before losing Redis starts again from the shortest back-off.
STEADY_AFTER_S = 60.0

LOST = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError, OSError)


class SupervisedQueue(RedisQueue):
    """SAQ's Redis queue, telling the supervisor when Redis is gone.

    SAQ's worker loops straight back into ``dequeue`` after an error; with Redis down that would
    spin. The first failed dequeue sets ``lost`` (the supervisor then stops this worker and
    reconnects with back-off) and pauses, so the loop cannot spin meanwhile.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lost = asyncio.Event()

    async def retry(self, job: Any, error: str | None) -> None:
        # SAQ's sweep takes a job it finds in the active list with a not-yet-"active" status (the
        # instant between a worker's dequeue and its status update) for an orphan, waits for it,
        # and then retries it even if it has just completed. A completed job is not run again.
        if job.status == Status.COMPLETE:
            return
        await super().retry(job, error)

    async def dequeue(self, timeout: float = 0.0, poll_interval: float = 0.0) -> Any:  # noqa: ASYNC109 (SAQ signature)
        try:
            return await super().dequeue(timeout, poll_interval)
        except LOST:
            self.lost.set()
            await asyncio.sleep(1)
            raise


async def report_time_setting(db: Database) -> time:
    """The shop's ``daily_report_time`` (07:30 when unset, unreadable, or the database is not ready)."""
    try:
        async with db.session(write=False) as session:
            return await SettingsService(session).get(DAILY_REPORT_TIME)
    except Exception:
        log.warning("could not read daily_report_time; using %s", config.DEFAULT_REPORT_TIME, exc_info=True)
        return config.DEFAULT_REPORT_TIME


def catch_up_key(day: date) -> str:
    return f"daily-report:{day.isoformat()}"


async def catch_up(queue: RedisQueue, db: Database, calendar: ShopCalendar, report_time: time) -> str | None:
    """Enqueue today's report if its time has passed and it is missing (a worker that was down at 07:30).

    The job's key carries the date, so workers starting together enqueue it once. Returns the key
    when a job was enqueued.
    """
    now = calendar.now()
    if now.time() < report_time:
        return None
    today = now.date()
    async with db.session(write=False) as session:
        if await session.scalar(select(DailyReport.id).where(DailyReport.report_date == today)):
            return None
    key = catch_up_key(today)
    job = await queue.enqueue(
        function_name("daily-report"),
        key=key,
        report_date=today.isoformat(),
        generated_by=config.schedule_label(report_time, caught_up=True),
        **config.JOB_OPTIONS,
    )
    if job is not None:
        log.info("daily report for %s was missing after %s: enqueued it", today, report_time.strftime("%H:%M"))
    return key if job is not None else None


async def drop_stale_cron_jobs(queue: RedisQueue, cron_jobs: list[Any], zone: ZoneInfo) -> None:
    """Drop pending cron jobs scheduled for a tick the table no longer has (the report time changed).

    SAQ never replaces a pending job that has the same key, so without this a new report time would
    only take effect after the old one fired once more.
    """
    now = datetime.now(zone).timestamp()
    for cron_job in cron_jobs:
        pending = await queue.job(f"cron:{cron_job.function.__qualname__}")
        # A tick already due (missed while no worker ran) is left to run.
        if pending is None or pending.status != Status.QUEUED or not now < pending.scheduled:
            continue
        wanted = int(croniter(cron_job.cron, datetime.fromtimestamp(pending.queued / 1000, zone)).get_next())
        if pending.scheduled != wanted:
            log.info("rescheduling %s (was due %s)", pending.key, datetime.fromtimestamp(pending.scheduled, zone))
            await queue.finish(pending, Status.ABORTED, error="cron table changed")


class WorkerSupervisor:
    """Runs a SAQ worker for as long as asked, restarting it with back-off whenever Redis is lost."""

    def __init__(self, services: Services) -> None:
        if not services.settings.redis_url:
            raise ValueError("the worker needs a Redis URL")
        self.settings = services.settings
        self.services = services
        self._stopping = asyncio.Event()
        # Set once the worker's start-up (catch-up included) is done: only then does it beat.
        self._started = asyncio.Event()
        self._report_time = config.DEFAULT_REPORT_TIME
        # Set when the shop saved a new report time: the worker is rebuilt at once with the new cron table.
        self._reload = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        delay = BACKOFF_FIRST_S
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            started = loop.time()
            try:
                await self._run_once()
                if self._reload.is_set():  # a new report time, not a lost Redis: rebuild at once
                    self._reload.clear()
                    continue
            except Exception as lost:
                log.warning(
                    "job worker: Redis at %s unavailable (%s); retrying in %.0f s",
                    broker.describe(self.settings.redis_url),
                    lost.__class__.__name__,
                    delay,
                )
            if self._stopping.is_set():
                break
            if loop.time() - started > STEADY_AFTER_S:
                delay = BACKOFF_FIRST_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            delay = min(delay * 2, BACKOFF_MAX_S)

    async def _run_once(self) -> None:
        redis = broker.worker_redis(cast(str, self.settings.redis_url))
        queue = cast(SupervisedQueue, config.make_queue(redis, self.settings, SupervisedQueue))
        worker = None
        tasks: list[asyncio.Task[Any]] = []
        self._started.clear()
        try:
            await cast(Awaitable[bool], redis.ping())  # redis-py types ping() for both clients
            await queue.connect()
            # Read at each start, and watched while running (``_watch_report_time``).
            self._report_time = await report_time_setting(self.services.db)
            worker = _build_worker(
                config.worker_settings(self.settings, queue, report_time=self._report_time, startup=[self._on_start])
            )
            worker.context["services"] = self.services
            tasks = [
                asyncio.create_task(worker.start(), name="saq-worker"),
                asyncio.create_task(self._beat(redis), name="worker-heartbeat"),
                asyncio.create_task(queue.lost.wait(), name="redis-lost"),
                asyncio.create_task(self._stopping.wait(), name="stopping"),
                asyncio.create_task(self._watch_report_time(), name="report-time"),
            ]
            done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if self._stopping.is_set() or self._reload.is_set():
                return
            for task in done:
                if task.exception() is not None:
                    raise cast(BaseException, task.exception())
            raise ConnectionError("the worker stopped: Redis was lost")
        finally:
            if worker is not None:
                with contextlib.suppress(Exception):
                    await _stop_worker(worker)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await queue.disconnect()

    async def _on_start(self, ctx: dict[str, Any]) -> None:
        """Before the worker takes jobs: retire stale cron ticks, then catch up a missed report."""
        worker = ctx["worker"]
        await drop_stale_cron_jobs(worker.queue, list(worker.cron_jobs), ZoneInfo(self.settings.shop_timezone))
        try:
            await catch_up(worker.queue, self.services.db, self.services.calendar, self._report_time)
        except LOST:
            raise
        except Exception:  # a database problem must not keep the worker from running the other jobs
            log.exception("daily report catch-up failed")
        self._started.set()
        log.info(
            "job worker running on %s (queue %r, daily report at %s %s)",
            broker.describe(self.settings.redis_url),
            self.settings.redis_namespace,
            self._report_time.strftime("%H:%M"),
            self.settings.shop_timezone,
        )

    async def _watch_report_time(self) -> None:
        """Return (asking for a rebuild) once the stored report time differs from the one scheduled.

        The settings page saves the time in the database; every worker, in the web process or
        on its own, notices within ``Settings.report_time_poll_s`` and reschedules — no restart needed.
        """
        await self._started.wait()
        while True:
            await asyncio.sleep(self.settings.report_time_poll_s)
            wanted = await report_time_setting(self.services.db)
            if wanted != self._report_time:
                log.info(
                    "daily report time changed from %s to %s: rescheduling",
                    self._report_time.strftime("%H:%M"),
                    wanted.strftime("%H:%M"),
                )
                self._reload.set()
                return

    async def _beat(self, redis: Redis) -> None:
        key = broker.heartbeat_key(self.settings.redis_namespace)
        await self._started.wait()
        while True:
            await redis.set(key, datetime.now(UTC).isoformat(), ex=broker.HEARTBEAT_TTL_S)
            await asyncio.sleep(broker.HEARTBEAT_EVERY_S)


async def _stop_worker(worker: Any) -> None:
    """Let running jobs finish (up to the grace period), then stop.

    SAQ's own grace period waits for every task, idle dequeues and upkeep sleeps included, so it
    would always run to its end; waiting for just the jobs lets an idle worker stop at once.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + config.SHUTDOWN_GRACE_S
    while worker.job_task_contexts and loop.time() < deadline:  # noqa: ASYNC110 (SAQ's dict; no event to wait on)
        await asyncio.sleep(0.1)
    await worker.stop()


def _build_worker(settings: dict[str, Any]) -> Worker[Any]:
    """SAQ's worker from its settings, run by the supervisor (jobs keep their own heartbeat: tasks._alive)."""
    worker: Worker[Any] = Worker(**settings)
    # The process owner (uvicorn, or run_worker) handles SIGINT/SIGTERM, not SAQ.
    worker.SIGNALS = []
    return worker


async def run_worker(settings: Settings) -> None:
    """``laseros worker``: run a supervised worker until SIGINT/SIGTERM."""
    async with open_services(settings) as services:
        supervisor = WorkerSupervisor(services)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, supervisor.stop)
        # Notifications changed by jobs reach every open page's bell (web/live.py fans them out).
        uninstall = install_publisher(cast(str, settings.redis_url), settings.redis_namespace)
        try:
            await supervisor.run()
        finally:
            await uninstall()
