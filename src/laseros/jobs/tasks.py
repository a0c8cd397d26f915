"""The one task list: thin tasks that use the shop's services and call the domain.

Every task is idempotent, so running one twice (two workers, a retry after a crash, ``laseros
run-job`` beside the schedule) changes nothing the first run did not: the evaluator reconciles
what is live with the rules, and the daily report is one row per date (regenerating replaces it).

A task gets ``ctx["services"]`` (:class:`laseros.services.Services`: the Database, calendar and
settings) from the worker, or from :func:`run_now` when the CLI runs it in-process; both open them
with :func:`laseros.services.open_services`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

from laseros.domain.admin.services import LoginLog
from laseros.domain.kernel.registry import LOGIN_LOG_DAYS
from laseros.domain.kernel.settings import SettingsService
from laseros.domain.notifications.evaluate import evaluate
from laseros.models import import_all_models
from laseros.services import Services

log = logging.getLogger(__name__)

# A worker process never imports the web app, which is what usually pulls every model in; without
# them SQLAlchemy cannot resolve relationships between areas (a project's preset, ...).
import_all_models()

Context = dict[str, Any]
Task = Callable[..., Awaitable[dict[str, Any]]]

# How often a running job tells Redis it is alive (SAQ's job heartbeat; see config.JOB_HEARTBEAT_S).
TOUCH_EVERY_S = 3.0


def _services(ctx: Context) -> Services:
    return ctx["services"]


@contextlib.asynccontextmanager
async def _alive(ctx: Context) -> AsyncIterator[None]:
    """Keep the running job's heartbeat fresh while the work runs.

    A job whose worker dies stops beating; SAQ's sweep then finds it stuck and retries it on a
    live worker. Without the beat a killed worker's job would sit "active" until its timeout.
    """
    job = ctx.get("job")
    if job is None:  # run in-process by the CLI
        yield
        return

    async def touch() -> None:
        while True:
            await asyncio.sleep(TOUCH_EVERY_S)
            try:
                await job.update()
            except Exception:  # Redis away: the supervisor deals with that; the work goes on
                log.debug("could not touch job %s", job.key, exc_info=True)

    toucher = asyncio.create_task(touch())
    try:
        yield
    finally:
        toucher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await toucher


async def daily_report(
    ctx: Context, *, report_date: str | None = None, generated_by: str = "System (laseros run-job)"
) -> dict[str, Any]:
    """Generate and store the daily report for ``report_date`` (default: the shop's today)."""
    from laseros.domain.reports.daily import generate_daily_report

    services = _services(ctx)
    day = date.fromisoformat(report_date) if report_date else services.calendar.today()
    async with _alive(ctx):
        # Given the Database, the report reads in a read session and takes the write lock only to store.
        report = await generate_daily_report(services.db, services.calendar, day, generated_by=generated_by)
    log.info("daily-report: stored the report for %s (id %s) by %s", day.isoformat(), report.id, generated_by)
    return {"report_date": day.isoformat(), "report_id": report.id, "generated_by": generated_by}


async def evaluate_notifications(ctx: Context, *, project_ids: list[int] | None = None) -> dict[str, Any]:
    """The set-based pass over every project and stock item: raises, updates and clears notifications.

    With ``project_ids``, just those projects: the wake-up scheduled for when a stage limit passes.
    """
    services = _services(ctx)
    async with _alive(ctx), services.db.session(write=True) as session:
        if project_ids is None:
            result = await evaluate(session)
        else:
            result = await evaluate(session, projects=project_ids, items=())
        await session.commit()
    log.info("evaluate-notifications%s: %s", f" {project_ids}" if project_ids else "", _counts(result))
    return {**asdict(result), "wake_ups": len(result.wake_ups)}


async def check_low_stock(ctx: Context) -> dict[str, Any]:
    """Low-stock notifications for every stock item (projects are left to the hourly pass)."""
    services = _services(ctx)
    async with _alive(ctx), services.db.session(write=True) as session:
        result = await evaluate(session, projects=(), items=None)
        await session.commit()
    log.info("check-low-stock: %s", _counts(result))
    return asdict(result)


async def prune_login_log(ctx: Context) -> dict[str, Any]:
    """Delete sign-in attempts older than the shop's ``login_log_days`` (180 by default)."""
    services = _services(ctx)
    async with _alive(ctx), services.db.session(write=True) as session:
        days = await SettingsService(session).get(LOGIN_LOG_DAYS)
        removed = await LoginLog(session).prune(timedelta(days=days))
    log.info("prune-login-log: removed %s attempts older than %s days", removed, days)
    return {"removed": removed, "kept_days": days}


async def refresh_statistics(ctx: Context) -> dict[str, Any]:
    """Nightly: the query planner's statistics brought up to date with the day's rows (SQLite; see
    ``Database.refresh_statistics``). The web app also does it at start-up, but a server may run for months."""
    services = _services(ctx)
    async with _alive(ctx):
        refreshed = await services.db.refresh_statistics()
    log.info("refresh-statistics: %s", "done" if refreshed else "left to PostgreSQL's autovacuum")
    return {"refreshed": refreshed}


async def billing_day(ctx: Context) -> dict[str, Any]:
    """Expire sent quotes past valid-until, mark unpaid invoices past due overdue, refresh their notifications."""
    from laseros.domain.billing.alerts import billing_day as run_billing_day

    services = _services(ctx)
    async with _alive(ctx), services.db.session(write=True) as session:
        result = await run_billing_day(session, services.calendar)
    log.info("billing-day: %s", ", ".join(f"{name} {value}" for name, value in result.items()))
    return result


async def sage_sync_customers(ctx: Context) -> dict[str, Any]:
    """Customers ↔ clients with Sage, when it is connected (hourly, and on demand from /sage).

    Sage down, slow or rate-limiting: the error propagates, so SAQ tries the job again later with
    back-off; the sync history and the audit log on /sage say what happened.
    """
    from laseros.domain.accounting.sync import sync_customers

    services = _services(ctx)
    async with _alive(ctx):
        result = await sync_customers(services.db, services.settings.sage, services.settings.secret_key)
    log.info("sage-sync-customers: %s", result.summary())
    return result.as_dict()


async def sage_sync_invoices(ctx: Context) -> dict[str, Any]:
    """Issued invoices → Sage and payments back, when it is connected (hourly, and on demand from /sage).

    The invoices area gives the sync its invoices (``BillingInvoiceSource``); Sage failing raises, so
    SAQ tries the job again later, as for the customer sync.
    """
    from laseros.domain.accounting.invoice_sync import sync_invoices
    from laseros.domain.billing.sage_source import BillingInvoiceSource

    services = _services(ctx)
    source = BillingInvoiceSource(services.db, services.calendar)
    async with _alive(ctx):
        result = await sync_invoices(services.db, services.settings.sage, services.settings.secret_key, source)
    log.info("sage-sync-invoices: %s", result.summary())
    return result.as_dict()


async def sage_reconcile(ctx: Context) -> dict[str, Any]:
    """Nightly: list what differs between the clients and Sage's customers (shown on /sage)."""
    from laseros.domain.accounting.reconcile import reconcile_customers

    services = _services(ctx)
    async with _alive(ctx):
        result = await reconcile_customers(services.db, services.settings.sage, services.settings.secret_key)
    log.info("sage-reconcile: %s", result.summary())
    return result.as_dict()


async def send_email(ctx: Context, *, communication_id: int | None = None) -> dict[str, Any]:
    """Send one queued email (a Communication left Pending by the action that asked for it).

    Three tries with back-off inside the job; the row ends Sent, or Failed with the server's answer.
    Without an id (``laseros run-job send-email``), every email still Pending is sent.
    """
    from laseros.domain.comms.services import deliver, pending_emails

    services = _services(ctx)
    async with _alive(ctx):
        if communication_id is not None:
            status = await deliver(services.db, services.settings, communication_id)
            log.info("send-email: communication %s %s", communication_id, status)
            return {"communication_id": communication_id, "status": status}
        statuses = [await deliver(services.db, services.settings, cid) for cid in await pending_emails(services.db)]
    log.info("send-email: %s pending sent, %s failed", statuses.count("sent"), statuses.count("failed"))
    return {"sent": statuses.count("sent"), "failed": statuses.count("failed")}


def _counts(result: Any) -> str:
    return ", ".join(f"{name} {value}" for name, value in asdict(result).items())


# The one task list. Names are what people type (`laseros run-job NAME`); SAQ knows each task by
# its function name.
JOBS: dict[str, Task] = {
    "daily-report": daily_report,
    "evaluate-notifications": evaluate_notifications,
    "check-low-stock": check_low_stock,
    "prune-login-log": prune_login_log,
    "refresh-statistics": refresh_statistics,
    "billing-day": billing_day,
    "sage-sync-customers": sage_sync_customers,
    "sage-sync-invoices": sage_sync_invoices,
    "sage-reconcile": sage_reconcile,
    "send-email": send_email,
}
TASKS: list[Task] = list(JOBS.values())


def function_name(job: str) -> str:
    """SAQ's name for a job (the task function's name)."""
    return JOBS[job].__qualname__


async def run_now(job: str, services: Services, **kwargs: Any) -> dict[str, Any]:
    """Run one job once, in this process, without Redis."""
    return await JOBS[job]({"services": services}, **kwargs)
