"""The ``laseros`` command: serve, db upgrade, demo, create-user."""

from __future__ import annotations

import asyncio
import os

import click

from laseros.db import Database
from laseros.settings import Settings


def _settings() -> Settings:
    return Settings.from_env()


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
    """Migrate, load demo data on first start, and serve the web app."""
    import uvicorn

    from laseros import migrate

    settings = _settings()
    migrate.upgrade(settings)
    loaded = asyncio.run(_load_demo(settings)) if demo else False
    shown_host = "localhost" if host in ("0.0.0.0", "127.0.0.1") else host
    click.echo("")
    click.echo(f"  Laser OS is running at  http://{shown_host}:{port}/")
    click.echo(f"  Data folder:            {settings.data_dir}")
    if demo:
        from laseros.demo import DEMO_LOGINS

        click.echo("  Demo logins" + (" (demo data loaded just now):" if loaded else ":"))
        for login in DEMO_LOGINS:
            click.echo(f"    {login.role:<9} {login.username} / {login.password}")
    click.echo("")
    uvicorn.run("laseros.app:create_app", factory=True, host=host, port=port, proxy_headers=True, log_level="info")


async def _load_demo(settings: Settings) -> bool:
    from laseros.demo import load_demo
    from laseros.domain.shop import ShopCalendar

    db = Database.from_settings(settings)
    try:
        return await load_demo(db, ShopCalendar(settings.shop_timezone))
    finally:
        await db.dispose()


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
    from laseros.domain.errors import DomainError

    settings = _settings()
    migrate.upgrade(settings)

    async def run() -> None:
        database = Database.from_settings(settings)
        try:
            async with database.session(write=True) as session:
                await UserService(session).create(username, password, role, display_name)
        finally:
            await database.dispose()

    try:
        asyncio.run(run())
    except DomainError as refused:
        raise click.ClickException(str(refused)) from refused
    click.echo(f"Created {role} {username!r}.")


if __name__ == "__main__":
    cli()
