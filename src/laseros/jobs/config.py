"""The SAQ configuration (the worker's settings, the queue and its JSON) and the one cron table.

One queue, named ``settings.redis_namespace``: SAQ keeps its keys under ``saq:<namespace>:…`` and
``saq:job:<namespace>:…``, so two shops (or test runs) on one Redis never see each other's jobs.

Cron times are shop time (``settings.shop_timezone``). SAQ gives each cron job the key
``cron:<task>`` and Redis refuses a second job with a key that is still pending, so two workers
scheduling the same tick make one job.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from saq import CronJob
from saq.queue.redis import RedisQueue
from saq.types import PartialTimersDict

from laseros.domain.kernel.registry import DAILY_REPORT_TIME
from laseros.jobs.tasks import (
    TASKS,
    billing_day,
    check_low_stock,
    daily_report,
    evaluate_notifications,
    prune_login_log,
    refresh_statistics,
    sage_reconcile,
    sage_sync_customers,
    sage_sync_invoices,
)
from laseros.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_REPORT_TIME = DAILY_REPORT_TIME.read(None)

# Every job: generous time to run (a report waits behind the SQLite write lock at worst), a
# heartbeat so a job whose worker died is found within seconds by the sweep, and retries for that
# case and for transient errors.
JOB_TIMEOUT_S = 300
JOB_HEARTBEAT_S = 15
JOB_RETRIES = 3
JOB_OPTIONS: dict[str, Any] = {
    "timeout": JOB_TIMEOUT_S,
    "heartbeat": JOB_HEARTBEAT_S,
    "retries": JOB_RETRIES,
    "retry_delay": 5.0,
    "retry_backoff": 60.0,
}

CONCURRENCY = 4
# How long one dequeue blocks in Redis (BLMOVE); the worker's socket timeout must outlast it.
DEQUEUE_TIMEOUT_S = 2.0
# schedule: look for due cron/scheduled jobs every second; sweep: find stuck jobs (a dead worker's)
# every 5 s instead of SAQ's 60 s; worker_info: SAQ's own stats.
TIMERS: PartialTimersDict = {"schedule": 1, "worker_info": 10, "sweep": 5, "abort": 1}
# On stop, running jobs get this long to finish before they are cancelled (and retried later).
SHUTDOWN_GRACE_S = 5.0


def schedule_label(report_time: time, *, caught_up: bool = False) -> str:
    """Who the report says made it when the schedule did (or a worker caught up a missed one)."""
    late = ", made when the app started after it" if caught_up else ""
    return f"the {report_time.strftime('%H:%M')} schedule{late}"


def cron_table(report_time: time = DEFAULT_REPORT_TIME) -> list[CronJob]:
    """The cron table: the daily report at the shop's report time, evaluation hourly, low stock every 6 hours,
    the sign-in log pruned and the planner's statistics refreshed nightly, the Sage customer sync hourly with
    the invoice sync five minutes after it and the reconciliation nightly (all do nothing while Sage is not
    connected), the billing pass (quotes expire, invoices fall overdue) after midnight."""
    return [
        CronJob(
            daily_report,
            cron=f"{report_time.minute} {report_time.hour} * * *",
            kwargs={"generated_by": schedule_label(report_time)},
            timeout=JOB_TIMEOUT_S,
            heartbeat=JOB_HEARTBEAT_S,
            retries=JOB_RETRIES,
        ),
        CronJob(
            evaluate_notifications,
            cron="0 * * * *",
            timeout=JOB_TIMEOUT_S,
            heartbeat=JOB_HEARTBEAT_S,
            retries=JOB_RETRIES,
        ),
        CronJob(
            check_low_stock,
            cron="0 */6 * * *",
            timeout=JOB_TIMEOUT_S,
            heartbeat=JOB_HEARTBEAT_S,
            retries=JOB_RETRIES,
        ),
        CronJob(
            prune_login_log,
            cron="15 3 * * *",
            timeout=JOB_TIMEOUT_S,
            heartbeat=JOB_HEARTBEAT_S,
            retries=JOB_RETRIES,
        ),
        CronJob(
            refresh_statistics,
            cron="30 3 * * *",
            timeout=JOB_TIMEOUT_S,
            heartbeat=JOB_HEARTBEAT_S,
            retries=JOB_RETRIES,
        ),
        CronJob(
            billing_day,
            cron="5 0 * * *",
            timeout=JOB_TIMEOUT_S,
            heartbeat=JOB_HEARTBEAT_S,
            retries=JOB_RETRIES,
        ),
        CronJob(
            sage_sync_customers,
            cron="20 * * * *",
            timeout=JOB_TIMEOUT_S,
            heartbeat=JOB_HEARTBEAT_S,
            retries=JOB_RETRIES,
        ),
        CronJob(
            sage_sync_invoices,
            cron="25 * * * *",
            timeout=JOB_TIMEOUT_S,
            heartbeat=JOB_HEARTBEAT_S,
            retries=JOB_RETRIES,
        ),
        CronJob(
            sage_reconcile,
            cron="40 2 * * *",
            timeout=JOB_TIMEOUT_S,
            heartbeat=JOB_HEARTBEAT_S,
            retries=JOB_RETRIES,
        ),
    ]


def _json_value(value: Any) -> str:
    # What json cannot write itself: dates and times as ISO 8601, exact decimals as text.
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{value.__class__.__name__} is not JSON serializable")


def dump_job(job: Mapping[Any, Any]) -> str:
    """A job (its kwargs and result included) as JSON, for Redis."""
    return json.dumps(job, default=_json_value)


def make_queue(broker: Redis, settings: Settings, queue_class: type[RedisQueue] = RedisQueue) -> RedisQueue:
    """The shop's queue on ``broker`` (jobs are written with :func:`dump_job` and read with ``json.loads``)."""
    return queue_class(broker, name=settings.redis_namespace, dump=dump_job, load=json.loads)


def worker_settings(
    settings: Settings,
    queue: RedisQueue,
    *,
    report_time: time = DEFAULT_REPORT_TIME,
    startup: Collection[Callable[..., Any]] = (),
) -> dict[str, Any]:
    """SAQ's worker settings (``saq.Worker(**worker_settings(...))``): one queue with the task list and
    the cron table, in shop time."""
    return {
        "queue": queue,
        "functions": TASKS,
        "cron_jobs": cron_table(report_time),
        "cron_tz": ZoneInfo(settings.shop_timezone),
        "concurrency": CONCURRENCY,
        "timers": TIMERS,
        "dequeue_timeout": DEQUEUE_TIMEOUT_S,
        "startup": list(startup) or None,
    }
